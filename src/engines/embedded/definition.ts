/** The embedded engine as the registry sees it (kept apart from index.ts, which loads ONNX Runtime). */
import type { EngineDefinition } from "../engine.js";
import { EmbeddedAdapter } from "./adapter.js";
import { embeddedContainer } from "./run.js";

export const embedded: EngineDefinition = {
  id: "embedded",
  adapter: (o) => new EmbeddedAdapter(o),
  container: embeddedContainer,
  // ONNX Runtime on CPU: the compose file runs the real thing.
  compose: { real: true, gpuProfile: false },
  runner: async () => (await import("./index.js")).localRunner,
  servingAlerts: false,
};
