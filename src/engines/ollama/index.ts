/**
 * Ollama (which runs llama.cpp inside): its adapter (no Prometheus endpoint), its container
 * (run.ts), the `ollama://` sources only it reads, and its simulator flavour (sim.ts). What it
 * shares with llama.cpp (GGUF memory, the context-overflow wording) comes from ../llamacpp.
 */
import type { EngineDefinition } from "../engine.js";
import { OllamaAdapter } from "./adapter.js";
import { ollamaContainer } from "./run.js";

export { OllamaAdapter, ollamaAdapter } from "./adapter.js";
export { ollamaContainer } from "./run.js";

export const ollama: EngineDefinition = {
  id: "ollama",
  adapter: (o) => new OllamaAdapter(o),
  container: ollamaContainer,
  compose: { real: false, gpuProfile: false },
  ownSchemes: {
    schemes: ["ollama"],
    what: "are models in Ollama's registry: they need the engine that pulls them",
  },
  servingAlerts: false,
};
