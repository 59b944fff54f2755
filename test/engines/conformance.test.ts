// Every adapter, at its default version and at the versions the catalog distinguishes, runs the
// shared conformance suite.
import { ENGINE_IDS, type EngineId } from "../../src/catalog/engines.js";
import { getEngineAdapter } from "../../src/engines/index.js";
import { EMBEDDED_LOADED } from "../rag/embedded-fixtures.js";
import { runAdapterConformance } from "./conformance.js";
import {
  LLAMACPP_BUSY,
  TGI_3,
  TRITON_TRTLLM,
  TRITON_TRTLLM_OLD,
  VLLM_0_8,
  VLLM_0_10,
  VLLM_0_12_DP2,
} from "./fixtures.js";

const CASES: Record<EngineId, { versions: (string | undefined)[]; metrics: boolean; text?: string }> = {
  vllm: { versions: [undefined, "0.8.5", "0.10.1", "0.12.0", "latest"], metrics: true, text: VLLM_0_12_DP2 },
  tgi: { versions: [undefined, "1.3.0", "3.3.5"], metrics: true, text: TGI_3 },
  ollama: { versions: [undefined], metrics: false },
  triton: { versions: [undefined, "24.08"], metrics: true, text: TRITON_TRTLLM },
  llamacpp: { versions: [undefined, "b11549"], metrics: true, text: LLAMACPP_BUSY },
  openai: { versions: [undefined], metrics: false },
  embedded: { versions: [undefined], metrics: true, text: EMBEDDED_LOADED },
};

for (const engine of ENGINE_IDS) {
  const c = CASES[engine];
  for (const version of c.versions) {
    runAdapterConformance({
      name: `${engine}@${version ?? "default"}`,
      make: (opts) => getEngineAdapter(engine, version, opts ?? {}),
      hasMetrics: c.metrics,
      ...(c.text !== undefined ? { loadedText: c.text } : {}),
    });
  }
}

// Extra texts the tolerant readers must also take (any version of the engine).
runAdapterConformance({
  name: "vllm@0.12.0 reading a 0.8 server",
  make: (opts) => getEngineAdapter("vllm", "0.12.0", opts ?? {}),
  hasMetrics: true,
  loadedText: VLLM_0_8,
});
runAdapterConformance({
  name: "vllm@0.8.0 reading a 0.10 server",
  make: (opts) => getEngineAdapter("vllm", "0.8.0", opts ?? {}),
  hasMetrics: true,
  loadedText: VLLM_0_10,
});
runAdapterConformance({
  name: "triton reading an older TRT-LLM backend",
  make: (opts) => getEngineAdapter("triton", undefined, opts ?? {}),
  hasMetrics: true,
  loadedText: TRITON_TRTLLM_OLD,
});
