// Hand-written /metrics texts in each engine's real exposition shape (names and labels as the
// engines export them; values made up). The vLLM live capture comes from llm-d-inference-sim in
// vllm.test.ts.

const M = 'model_name="Qwen/Qwen2.5-7B-Instruct"';

function histogram(
  name: string,
  labels: string,
  buckets: readonly number[],
  count: number,
  sum: number,
): string {
  const lines = [`# HELP ${name} Histogram.`, `# TYPE ${name} histogram`];
  let cum = 0;
  for (const le of buckets) {
    cum = Math.min(count, cum + Math.ceil(count / buckets.length));
    lines.push(`${name}_bucket{${labels},le="${le}"} ${cum}.0`);
  }
  lines.push(`${name}_bucket{${labels},le="+Inf"} ${count}.0`);
  lines.push(`${name}_count{${labels}} ${count}.0`);
  lines.push(`${name}_sum{${labels}} ${sum}`);
  return lines.join("\n");
}

const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** vLLM 0.8 (V1 engine): the old KV name `vllm:gpu_cache_usage_perc`, prefix-cache counters with `gpu_`. */
export const VLLM_0_8 = [
  "# HELP vllm:num_requests_running Number of requests in model execution batches.",
  "# TYPE vllm:num_requests_running gauge",
  `vllm:num_requests_running{engine="0",${M}} 7.0`,
  "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.",
  "# TYPE vllm:num_requests_waiting gauge",
  `vllm:num_requests_waiting{engine="0",${M}} 2.0`,
  "# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.",
  "# TYPE vllm:gpu_cache_usage_perc gauge",
  `vllm:gpu_cache_usage_perc{engine="0",${M}} 0.4213`,
  "# HELP vllm:gpu_prefix_cache_queries_total GPU prefix cache queries, in terms of number of queried tokens.",
  "# TYPE vllm:gpu_prefix_cache_queries_total counter",
  `vllm:gpu_prefix_cache_queries_total{engine="0",${M}} 91234.0`,
  "# HELP vllm:num_preemptions_total Cumulative number of preemption from the engine.",
  "# TYPE vllm:num_preemptions_total counter",
  `vllm:num_preemptions_total{engine="0",${M}} 0.0`,
  histogram("vllm:time_to_first_token_seconds", `engine="0",${M}`, TTFT_BUCKETS, 120, 8.25),
  "",
].join("\n");

/** vLLM 0.10 (rename window): both KV names, same value — a reader must not add them up. */
export const VLLM_0_10 = [
  "# TYPE vllm:num_requests_running gauge",
  `vllm:num_requests_running{engine="0",${M}} 4.0`,
  "# TYPE vllm:num_requests_waiting gauge",
  `vllm:num_requests_waiting{engine="0",${M}} 0.0`,
  "# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.(Deprecated. Use vllm:kv_cache_usage_perc.)",
  "# TYPE vllm:gpu_cache_usage_perc gauge",
  `vllm:gpu_cache_usage_perc{engine="0",${M}} 0.6`,
  "# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.",
  "# TYPE vllm:kv_cache_usage_perc gauge",
  `vllm:kv_cache_usage_perc{engine="0",${M}} 0.6`,
  "",
].join("\n");

/** vLLM 0.12: only `vllm:kv_cache_usage_perc`; two data-parallel engines (label `engine`). */
export const VLLM_0_12_DP2 = [
  "# HELP vllm:num_requests_running Number of requests in model execution batches.",
  "# TYPE vllm:num_requests_running gauge",
  `vllm:num_requests_running{engine="0",${M}} 5.0`,
  `vllm:num_requests_running{engine="1",${M}} 3.0`,
  "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.",
  "# TYPE vllm:num_requests_waiting gauge",
  `vllm:num_requests_waiting{engine="0",${M}} 1.0`,
  `vllm:num_requests_waiting{engine="1",${M}} 0.0`,
  "# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.",
  "# TYPE vllm:kv_cache_usage_perc gauge",
  `vllm:kv_cache_usage_perc{engine="0",${M}} 0.5`,
  `vllm:kv_cache_usage_perc{engine="1",${M}} 0.25`,
  histogram("vllm:time_to_first_token_seconds", `engine="0",${M}`, TTFT_BUCKETS, 40, 2.5),
  histogram("vllm:time_to_first_token_seconds", `engine="1",${M}`, TTFT_BUCKETS, 38, 2.1),
  "# HELP vllm:prefix_cache_queries_total Prefix cache queries, in terms of number of queried tokens.",
  "# TYPE vllm:prefix_cache_queries_total counter",
  `vllm:prefix_cache_queries_total{engine="0",${M}} 1234.0`,
  "",
].join("\n");

/** TGI 3.x (Rust `metrics` Prometheus exporter: no `_total`, no labels on these gauges). */
export const TGI_3 = [
  "# TYPE tgi_request_count counter",
  "tgi_request_count 1523",
  "# TYPE tgi_queue_size gauge",
  "tgi_queue_size 3",
  "# TYPE tgi_batch_current_size gauge",
  "tgi_batch_current_size 12",
  "# TYPE tgi_batch_current_max_tokens gauge",
  "tgi_batch_current_max_tokens 20480",
  "# TYPE tgi_request_duration histogram",
  'tgi_request_duration_bucket{le="0.5"} 100',
  'tgi_request_duration_bucket{le="1"} 900',
  'tgi_request_duration_bucket{le="+Inf"} 1523',
  "tgi_request_duration_sum 1703.2",
  "tgi_request_duration_count 1523",
  "",
].join("\n");

const TRT = 'model="tensorrt_llm",version="1"';

/** Triton 25.x with the TensorRT-LLM backend: label-selected gauges, KV `fraction` present. */
export const TRITON_TRTLLM = [
  "# HELP nv_trt_llm_request_metrics TRT LLM request metrics",
  "# TYPE nv_trt_llm_request_metrics gauge",
  `nv_trt_llm_request_metrics{${TRT},request_type="context"} 1`,
  `nv_trt_llm_request_metrics{${TRT},request_type="scheduled"} 6`,
  `nv_trt_llm_request_metrics{${TRT},request_type="max"} 64`,
  `nv_trt_llm_request_metrics{${TRT},request_type="active"} 6`,
  `nv_trt_llm_request_metrics{${TRT},request_type="waiting"} 2`,
  "# HELP nv_trt_llm_kv_cache_block_metrics TRT LLM KV cache block metrics",
  "# TYPE nv_trt_llm_kv_cache_block_metrics gauge",
  `nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="fraction",${TRT}} 0.375`,
  `nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="tokens_per",${TRT}} 64`,
  `nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="used",${TRT}} 1500`,
  `nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="free",${TRT}} 2500`,
  `nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="max",${TRT}} 4000`,
  "# HELP nv_inference_pending_request_count Instantaneous number of pending requests awaiting execution per-model.",
  "# TYPE nv_inference_pending_request_count gauge",
  'nv_inference_pending_request_count{model="ensemble",version="1"} 0',
  `nv_inference_pending_request_count{${TRT}} 0`,
  "",
].join("\n");

/** An older TRT-LLM backend: no `fraction` KV series (usage = used ÷ max), no `waiting` request type. */
export const TRITON_TRTLLM_OLD = [
  "# TYPE nv_trt_llm_request_metrics gauge",
  `nv_trt_llm_request_metrics{${TRT},request_type="context"} 0`,
  `nv_trt_llm_request_metrics{${TRT},request_type="scheduled"} 3`,
  `nv_trt_llm_request_metrics{${TRT},request_type="max"} 64`,
  `nv_trt_llm_request_metrics{${TRT},request_type="active"} 3`,
  "# TYPE nv_trt_llm_kv_cache_block_metrics gauge",
  `nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="tokens_per",${TRT}} 64`,
  `nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="used",${TRT}} 1000`,
  `nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="free",${TRT}} 3000`,
  `nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="max",${TRT}} 4000`,
  "# TYPE nv_inference_pending_request_count gauge",
  'nv_inference_pending_request_count{model="ensemble",version="1"} 4',
  "",
].join("\n");

/**
 * llama.cpp server (xllamacpp 2026.10.11549, `--metrics`, 1 slot) with one request decoding and
 * one deferred, as its /metrics answered here (counters trimmed to the ones the catalog names).
 */
export const LLAMACPP_BUSY = `# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed, excluding cached tokens
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total 0
# HELP llamacpp:tokens_predicted_total Number of generation tokens processed
# TYPE llamacpp:tokens_predicted_total counter
llamacpp:tokens_predicted_total 0
# HELP llamacpp:prompt_tokens_seconds Average prompt throughput in tokens/s
# TYPE llamacpp:prompt_tokens_seconds gauge
llamacpp:prompt_tokens_seconds 0
# HELP llamacpp:requests_processing Number of requests processing
# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing 1
# HELP llamacpp:requests_deferred Number of requests deferred
# TYPE llamacpp:requests_deferred gauge
llamacpp:requests_deferred 1
# HELP llamacpp:n_busy_slots_per_decode Average number of busy slots per llama_decode() call
# TYPE llamacpp:n_busy_slots_per_decode gauge
llamacpp:n_busy_slots_per_decode 0
`;
