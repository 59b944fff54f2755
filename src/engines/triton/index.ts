/**
 * Triton Inference Server with the TensorRT-LLM backend: its adapter (load and KV usage from
 * `nv_trt_llm_*`, metrics on port 8002), its container (run.ts) and its simulator flavour (sim.ts).
 */
import type { EngineDefinition } from "../engine.js";
import { TritonAdapter } from "./adapter.js";
import { tritonContainer } from "./run.js";

export { TritonAdapter, tritonAdapter } from "./adapter.js";
export { tritonContainer } from "./run.js";

export const triton: EngineDefinition = {
  id: "triton",
  adapter: (o) => new TritonAdapter(o),
  container: tritonContainer,
  renderRefusal:
    "render cannot deploy Triton: it serves a prepared model repository (config.pbtxt per model) and speaks OpenAI only through its separate frontend; serve this model with vllm, or run Triton yourself and give its OpenAI frontend as `endpoints`",
  compose: { real: false, gpuProfile: false },
  servingAlerts: false,
};
