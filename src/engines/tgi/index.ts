/**
 * Text Generation Inference: its adapter (load from `tgi_batch_current_size` and
 * `tgi_queue_size`), its container (run.ts), `--speculate` (speculative.ts) and its simulator
 * flavour (sim.ts).
 */
import type { EngineDefinition } from "../engine.js";
import { TgiAdapter } from "./adapter.js";
import { tgiContainer } from "./run.js";
import { tgiSpeculativeProblems } from "./speculative.js";

export { TgiAdapter, tgiAdapter } from "./adapter.js";
export { tgiArgs, tgiContainer } from "./run.js";

export const tgi: EngineDefinition = {
  id: "tgi",
  adapter: (o) => new TgiAdapter(o),
  container: tgiContainer,
  compose: { real: false, gpuProfile: false },
  speculative: { problems: tgiSpeculativeProblems },
  servingAlerts: true,
};
