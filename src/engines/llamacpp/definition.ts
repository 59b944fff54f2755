/** llama.cpp as the registry sees it (the runner, which spawns processes, is loaded on demand). */
import type { EngineDefinition } from "../engine.js";
import { LlamaCppAdapter } from "./adapter.js";
import { llamacppContainer } from "./run.js";
import { ggufSourceProblem } from "./source.js";

export const llamacpp: EngineDefinition = {
  id: "llamacpp",
  adapter: (o) => new LlamaCppAdapter(o),
  container: llamacppContainer,
  // The CPU image serves small GGUF models without a GPU: the compose file runs it for real.
  compose: { real: true, gpuProfile: false },
  runner: async () => (await import("./runner.js")).llamacppRunner,
  replicaMemory: async (m, cacheDir) => (await import("./runner.js")).llamacppReplicaMemory(m, cacheDir),
  ownSchemes: { schemes: ["file", "pypi"], what: "are GGUF files: they need an engine that reads one" },
  sourceProblem: ggufSourceProblem,
  servingAlerts: false,
};
