/**
 * vLLM: the OpenAI-compatible server. Its adapter (metric names by version from the catalog),
 * its container (run.ts), speculative decoding (speculative.ts), the metric-name checks of the
 * deploy linter (metric-names.ts) and its simulator flavour (sim.ts).
 */
import type { EngineDefinition } from "../engine.js";
import { VllmAdapter } from "./adapter.js";
import { checkVllmName, isVllmName, vllmTokens } from "./metric-names.js";
import { vllmContainer } from "./run.js";
import { vllmSpeculativeProblems } from "./speculative.js";

export { VllmAdapter, vllmAdapter } from "./adapter.js";
export { vllmArgs, vllmContainer } from "./run.js";
export { draftRepo, vllmSpeculativeArgs } from "./speculative.js";

export const vllm: EngineDefinition = {
  id: "vllm",
  adapter: (o) => new VllmAdapter(o),
  container: vllmContainer,
  compose: { real: false, gpuProfile: true },
  speculative: { problems: vllmSpeculativeProblems },
  servingAlerts: true,
  metricNames: { tokens: vllmTokens, owns: isVllmName, check: checkVllmName },
};
