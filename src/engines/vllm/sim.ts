/**
 * vLLM's simulator flavour: the OpenAI API with rerank on every path vLLM serves it, n > 1
 * choices sampled, and vLLM's exposition: `model_name`/`engine` labels, the inter-token latency
 * observed per token, `finished_reason` on the success counter, aborted requests observed, and
 * vLLM v1's histogram buckets (vllm/v1/metrics/loggers.py).
 */
import type { MetricKey } from "../../catalog/engines.js";
import type { SimFlavourFacts } from "../../sim/flavours.js";
import type { MetricStyle } from "../../sim/metrics.js";

const VLLM_TTFT = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
  80.0, 160.0, 640.0, 2560.0,
];
const VLLM_ITL = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
];
const VLLM_LATENCY = [
  0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
  960.0, 1920.0, 7680.0,
];

/** vLLM v1's buckets by histogram: TTFT, per-token times, else request latencies. */
export function vllmBuckets(key: MetricKey, name: string): number[] {
  if (key === "ttft") return VLLM_TTFT;
  if (key === "itl" || key === "tpot" || name.includes("per_output_token")) return VLLM_ITL;
  return VLLM_LATENCY;
}

const metricStyle: MetricStyle = {
  defaultLabels: (model) => ({ model_name: model, engine: "0" }),
  itlPerToken: true,
  finishedReason: true,
  observesAborts: true,
  kvBlockSeries: false,
  buckets: vllmBuckets,
};

export const vllmSim: SimFlavourFacts = {
  samplesN: true,
  metricStyle,
  adjust(f) {
    // vllm/entrypoints/openai/api_server.py serves rerank at /rerank, /v1/rerank and /v2/rerank.
    const rerank = f.info.api.rerank;
    if (rerank !== undefined) f.openai.rerank = [...new Set(["/rerank", rerank, "/v2/rerank"])];
  },
};
