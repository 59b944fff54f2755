/**
 * What one engine knows about itself, beyond the catalog's facts (src/catalog/engines.ts): its
 * gateway adapter, how it runs in a container and for real here, which sources it reads, what
 * its spec may say, and which of its metric names the deploy linter checks. Each engine folder
 * exports one `EngineDefinition`; src/engines/index.ts lists them by `ENGINE_IDS`, and deploy,
 * spec, sim, gateway and planner ask through it instead of switching on engine names.
 */
import type { EngineId } from "../catalog/engines.js";
import type { ModelSpec } from "../spec/schema.js";
import type { AdapterOptions, EngineAdapter } from "./adapter.js";
import type { LocalRunner } from "./local.js";
import type { ContainerRunFn } from "./run.js";

/** A problem in one model's spec, at a path under `models[i]`. */
export interface ModelProblem {
  path: (string | number)[];
  message: string;
}

/** The deploy linter's rules on metric names written in PromQL and autoscalers (src/deploy/lint). */
export type MetricNameRule =
  | "vllm-metric-underscore"
  | "vllm-counter-without-total"
  | "vllm-metric-renamed"
  | "vllm-metric-unknown";

export interface NameProblem {
  rule: MetricNameRule;
  message: string;
  /** The offending token as written. */
  token: string;
}

/** Memory of one replica as an engine that reckons its own says (GGUF engines). */
export interface OwnReplicaMemory {
  weightsBytes: number;
  kvBytes: number;
  totalBytes: number;
  slots: number;
  /** Context of one slot, tokens. */
  ctxPerSlot: number;
}

export interface EngineDefinition {
  id: EngineId;
  adapter(opts: AdapterOptions): EngineAdapter;
  /**
   * An external provider (engine `openai`): nothing to deploy, simulate or put on a GPU of ours;
   * its endpoints are the provider's, reached with the pool's key.
   */
  external?: true;
  /** How render runs it; absent for engines render never deploys (an external provider). */
  container?: ContainerRunFn;
  /** Why render cannot deploy it although it has an image (validation reports it at `engine`). */
  renderRefusal?: string;
  /**
   * How the docker-compose file runs it: `real` on CPU as rendered (the engine needs no GPU),
   * else an `inferplane sim` replica (profile `cpu`), plus the real engine in profile `gpu` where
   * `gpuProfile` is set.
   */
  compose: { real: boolean; gpuProfile: boolean };
  /** Runs for real in `inferplane up` (loaded lazily: runners spawn processes). */
  runner?: () => Promise<LocalRunner>;
  /**
   * Memory of one replica, for engines whose memory is not vLLM's model (GGUF: the file + KV for
   * context × slots); `undefined` while the weights are not on this machine.
   */
  replicaMemory?(m: ModelSpec, cacheDir: string): Promise<OwnReplicaMemory | undefined>;
  /** Source schemes only this engine reads, and what they are (for the message to other engines). */
  ownSchemes?: { schemes: readonly string[]; what: string };
  /** What is wrong with a `source` for this engine, where it checks its own. */
  sourceProblem?(source: string): string | undefined;
  /** Speculative decoding: the spec's checks and the engine's arguments; absent where it cannot. */
  speculative?: { problems(m: ModelSpec): ModelProblem[] };
  /** Its metrics carry the serving alerts and dashboards (latency histograms, queue, KV usage). */
  servingAlerts: boolean;
  /** The metric names it owns in PromQL and autoscalers, checked against the catalog. */
  metricNames?: {
    tokens(expr: string): string[];
    owns(name: string): boolean;
    check(token: string, opts?: { allowUnderscore?: boolean }): NameProblem[];
  };
}
