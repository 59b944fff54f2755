/**
 * An external OpenAI-compatible provider: only an adapter (health through `/v1/models` with the
 * pool's key, no metrics). Render deploys nothing for it.
 */
import type { EngineDefinition } from "../engine.js";
import { OpenAiAdapter } from "./adapter.js";

export { OpenAiAdapter, openaiAdapter } from "./adapter.js";

export const openai: EngineDefinition = {
  id: "openai",
  adapter: (o) => new OpenAiAdapter(o),
  external: true,
  compose: { real: false, gpuProfile: false },
  servingAlerts: false,
};
