/**
 * Engines that run for real on this machine (llama.cpp with real weights, the embedded ONNX
 * embedding engine) start their own local replicas for `inferplane up`; every other engine is
 * simulated. `up` asks the engine for a runner and never branches on engine names.
 *
 * Seam agreed between the llama.cpp engine work and the embedding engine work: keep it stable.
 */
import { join } from "node:path";
import type { ModelSpec } from "../spec/schema.js";

export interface LocalReplicas {
  /** Base URLs of the started replicas (http://127.0.0.1:PORT). */
  urls: string[];
  /** Always true for a runner: the replicas serve real weights. */
  real: true;
  /** One line for `up`'s table, e.g. "llama.cpp 2026.10.11549 (real, CPU, 1 thread)". */
  describe: string;
  close(): Promise<void>;
}

export interface LocalRunOptions {
  replicas: number;
  /** Where installs (a Python venv, model files) are cached between runs. */
  cacheDir: string;
  /** Progress lines for long first-use installs. */
  progress(message: string): void;
}

export interface LocalRunner {
  /** Starts the model's replicas; installs what they need into `cacheDir` on first use. */
  start(model: ModelSpec, options: LocalRunOptions): Promise<LocalReplicas>;
}

/** Where engines that run for real keep their installs: `$INFERPLANE_CACHE_DIR`, else `$XDG_CACHE_HOME/inferplane`, else `~/.cache/inferplane`. */
export function localCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.INFERPLANE_CACHE_DIR) return env.INFERPLANE_CACHE_DIR;
  const home = env.HOME ?? env.USERPROFILE ?? ".";
  return join(env.XDG_CACHE_HOME ?? join(home, ".cache"), "inferplane");
}
