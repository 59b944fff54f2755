/**
 * llama.cpp: llama.cpp's own HTTP server (`llama-server`), on CPU or CUDA. Everything specific to
 * it lives in this folder: its metrics adapter and error dialect (adapter.ts, dialect.ts), where
 * its weights come from (source.ts), how it runs locally for real (launch.ts, install.ts,
 * runner.ts) and in a container (run.ts), what it needs in memory (memory.ts), its simulator
 * flavour (sim.ts), and its entry in the engine registry (definition.ts, kept apart so that the
 * registry does not load the runner).
 */
export { LlamaCppAdapter, llamacppAdapter } from "./adapter.js";
export { LLAMACPP_CONTEXT_ERROR_TYPE, LLAMACPP_NOT_SUPPORTED_TYPE, llamacppRefusal } from "./dialect.js";
export { ensureVenv, stampOf, VENV_DIR, XLLAMACPP_REQUIREMENT } from "./install.js";
export { DEFAULT_SLOTS, LAUNCHER, type LaunchConfig, launchConfig, threadsOf } from "./launch.js";
export {
  type GgufShape,
  ggufFileMemory,
  type ReplicaMemory,
  readGgufShape,
  replicaMemory,
  type SizedReplica,
} from "./memory.js";
export { llamacppContainer, llamacppImage } from "./run.js";
export {
  llamacppReplicaMemory,
  llamacppRunner,
  localGgufPath,
  type ServerProcess,
  startServer,
} from "./runner.js";
export { type GgufSource, ggufSource, sourceRequirement } from "./source.js";
