/**
 * The engine registry: one `EngineDefinition` per engine folder (src/engines/<engine>/), listed
 * by the catalog's `ENGINE_IDS`. The gateway gets adapters here (`getEngineAdapter`; it never
 * imports an engine module directly); deploy asks how an engine runs (`containerRunFor`), spec
 * what it accepts (`sourceProblem`, `speculativeProblems`), `up` whether it runs here
 * (`runsLocally`). The simulator's flavours are listed apart, in simulated.ts.
 */
import { ENGINE_IDS, type EngineId } from "../catalog/engines.js";
import type { ModelSpec } from "../spec/schema.js";
import type { AdapterOptions, EngineAdapter } from "./adapter.js";
import type { UpstreamRefusal } from "./dialect.js";
import { embedded } from "./embedded/definition.js";
import type { EngineDefinition, ModelProblem, NameProblem } from "./engine.js";
import { llamacpp } from "./llamacpp/definition.js";
import type { LocalRunner } from "./local.js";
import { ollama } from "./ollama/index.js";
import { openai } from "./openai/index.js";
import type { ContainerRunFn } from "./run.js";
import { tgi } from "./tgi/index.js";
import { triton } from "./triton/index.js";
import { vllm } from "./vllm/index.js";

export {
  type AdapterOptions,
  API_OPS,
  type ApiOp,
  CatalogAdapter,
  type EngineAdapter,
  type Env,
} from "./adapter.js";
export type { UpstreamRefusal } from "./dialect.js";
export {
  catalogIdOf,
  defaultCacheDir,
  type EmbeddingModel,
  embeddedModel,
  ensureModelFiles,
  serveEmbeddings,
} from "./embedded/index.js";
export type {
  EngineDefinition,
  MetricNameRule,
  ModelProblem,
  NameProblem,
  OwnReplicaMemory,
} from "./engine.js";
export type { EndpointLoad } from "./load.js";
export type { PoolInfo } from "./pool-info.js";

import type { PoolInfo } from "./pool-info.js";

export type { LocalReplicas, LocalRunner, LocalRunOptions } from "./local.js";
export { forEachSample, type ParseOptions, parsePrometheusText, type Sample } from "./prometheus-text.js";
export { type ContainerRun, type ContainerRunFn, catalogImage, type RunContext } from "./run.js";
export { parseSource } from "./weights.js";

/** Every engine's definition, by id: the one place that lists the engine folders. */
const ENGINES: Readonly<Record<EngineId, EngineDefinition>> = {
  vllm,
  tgi,
  ollama,
  triton,
  llamacpp,
  openai,
  embedded,
};

/** What `engine` knows about itself (see `EngineDefinition`). */
export function engineDefinition(engine: EngineId): EngineDefinition {
  return ENGINES[engine];
}

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
  if (opts.apiKeyEnv !== undefined) return ENGINES[engine].adapter(o);
  const key = `${engine}@${version ?? ""}`;
  let adapter = shared.get(key);
  if (adapter === undefined) {
    adapter = ENGINES[engine].adapter(o);
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

/** Whether `engine` is an external provider (nothing of ours runs it). */
export function isExternalEngine(engine: EngineId): boolean {
  return ENGINES[engine].external === true;
}

/** Whether `up` runs `engine` for real (its replicas serve real weights) rather than simulating it. */
export function runsLocally(engine: EngineId): boolean {
  return ENGINES[engine].runner !== undefined;
}

/** The local runner of `engine`, `undefined` for engines `up` simulates. */
export async function localRunnerFor(engine: EngineId): Promise<LocalRunner | undefined> {
  return ENGINES[engine].runner?.();
}

/** How `engine` runs in a container, `undefined` for engines render never deploys. */
export function containerRunFor(engine: EngineId): ContainerRunFn | undefined {
  return ENGINES[engine].container;
}

/** What is wrong with `source` for `engine` (spec checks report it at `source`), else `undefined`. */
export function sourceProblem(engine: EngineId, source: string): string | undefined {
  const check = ENGINES[engine].sourceProblem;
  if (check !== undefined) return check(source);
  const scheme = source.slice(0, Math.max(0, source.indexOf(":")));
  const owners = ENGINE_IDS.filter((id) => ENGINES[id].ownSchemes?.schemes.includes(scheme));
  const first = owners[0];
  if (first === undefined || owners.includes(engine)) return undefined;
  return `${scheme}:// sources ${ENGINES[first].ownSchemes?.what} (${owners.join(", ")}), not ${engine}`;
}

/** Problems of the model's `speculative` for its engine (paths under the model). */
export function speculativeProblems(m: ModelSpec): ModelProblem[] {
  if (m.speculative === undefined) return [];
  const own = ENGINES[m.engine].speculative;
  if (own !== undefined) return own.problems(m);
  const able = ENGINE_IDS.filter((id) => ENGINES[id].speculative !== undefined).join(" and ");
  return [
    {
      path: ["speculative"],
      message: `engine ${m.engine} cannot do speculative decoding (${able} can); remove \`speculative\``,
    },
  ];
}

/** Metric names of any engine written in a PromQL expression (strings and label values aside). */
export function engineMetricTokens(expr: string): string[] {
  return ENGINE_IDS.flatMap((id) => ENGINES[id].metricNames?.tokens(expr) ?? []);
}

/** Problems of a metric name as written, from the engine that owns the name; `[]` for others. */
export function metricNameProblems(token: string, opts: { allowUnderscore?: boolean } = {}): NameProblem[] {
  for (const id of ENGINE_IDS) {
    const names = ENGINES[id].metricNames;
    if (names?.owns(token)) return names.check(token, opts);
  }
  return [];
}
