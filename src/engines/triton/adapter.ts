/**
 * Triton Inference Server with the TensorRT-LLM backend. Metrics are served on their own port
 * (8002; `metricsUrl` moves there from the default API port 8000). Load from
 * `nv_trt_llm_request_metrics{request_type=…}` and KV usage from
 * `nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="fraction"}`; older backends lack the
 * `fraction` series, so — as the catalog notes — usage is `used` ÷ `max` there. Without the
 * TRT-LLM backend, waiting falls back to Triton core's `nv_inference_pending_request_count`.
 *
 * The OpenAI routes exist only behind Triton's separate OpenAI-compatible frontend; point the
 * pool's endpoints at that frontend to serve chat through the gateway.
 */

import {
  type AdapterOptions,
  CatalogAdapter,
  type EngineAdapter,
  matchingValues,
  sum,
  toFraction,
} from "../adapter.js";
import type { Sample } from "../prometheus-text.js";

const KV_BLOCKS = "nv_trt_llm_kv_cache_block_metrics";

export class TritonAdapter extends CatalogAdapter {
  constructor(opts: AdapterOptions = {}) {
    super("triton", opts);
  }

  protected override kvUsage(samples: readonly Sample[]): number | undefined {
    const direct = super.kvUsage(samples);
    if (direct !== undefined) return direct;
    const used = matchingValues(samples, {
      name: KV_BLOCKS,
      labels: { kv_cache_block_type: "used" },
      status: "exposed",
    });
    const max = matchingValues(samples, {
      name: KV_BLOCKS,
      labels: { kv_cache_block_type: "max" },
      status: "exposed",
    });
    const total = sum(max);
    if (used.length === 0 || total <= 0) return undefined;
    return toFraction(sum(used) / total, "fraction");
  }
}

export function tritonAdapter(opts: AdapterOptions = {}): EngineAdapter {
  return new TritonAdapter(opts);
}
