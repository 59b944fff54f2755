// Over 600 lines: data, one sourced entry per engine and version (paths, images, metric names).
/**
 * Engine facts: where each serving engine listens, which paths it serves, which image runs it,
 * and which Prometheus series carry its load — by version, because names change.
 *
 * Data, not logic (plus a small version comparator). Sources are cited per entry. Metric names
 * are the names as EXPOSED on /metrics: prometheus_client (vLLM) appends `_total` to counters;
 * histograms are listed by base name (readers add `_bucket`, `_sum`, `_count`).
 */

/** The one engine list: the spec's `engine` enum, the adapters and the docs all come from it. */
export const ENGINE_IDS = ["vllm", "tgi", "ollama", "triton", "llamacpp", "openai", "embedded"] as const;

export type EngineId = (typeof ENGINE_IDS)[number];

/** The engine a model runs on, and the simulator simulates, when none is named. */
export const DEFAULT_ENGINE: EngineId = "vllm";

export function isEngineId(id: string): id is EngineId {
  return (ENGINE_IDS as readonly string[]).includes(id);
}

// ---------------------------------------------------------------------------------------------
// Versions
// ---------------------------------------------------------------------------------------------

export interface ParsedVersion {
  /** Numeric release parts: `0.11.2` → [0, 11, 2]; Triton `25.02` → [25, 2]. */
  release: number[];
  /** Pre-release tag (`rc1`, `dev`, `a1`, `beta`); sorts before the release. */
  pre: string | null;
  /** Post-release number (`.post1` → 1); sorts after the release. */
  post: number | null;
}

/**
 * Parse versions such as `0.8.0`, `v0.11.2`, `b11549` (a llama.cpp build), `0.9.0rc1`, `0.10.0-rc.2`, `0.8.5.post1`, `25.02`,
 * `3.3.5+cu124` (build metadata ignored). `null` for anything else (`latest`, `main`).
 */
export function parseVersion(version: string): ParsedVersion | null {
  const m =
    /^[vb]?(\d+(?:\.\d+)*)(?:[-.]?(post)\.?(\d+)|[-.]?((?:rc|dev|alpha|beta|a|b|pre)[.-]?\d*))?(?:\+[0-9A-Za-z.-]+)?$/i.exec(
      version.trim(),
    );
  if (m === null || m[1] === undefined) return null;
  const release = m[1].split(".").map((p) => Number.parseInt(p, 10));
  const post = m[2] !== undefined && m[3] !== undefined ? Number.parseInt(m[3], 10) : null;
  const pre = m[4] !== undefined ? m[4].toLowerCase().replace(/[.-]/g, "") : null;
  return { release, pre, post };
}

/**
 * Compare two versions: negative when `a` < `b`, 0 when equal, positive when `a` > `b`.
 * Missing parts count as 0 (`0.9` = `0.9.0`); pre-releases sort before and `.postN` after their
 * release. An unparseable version (`latest`) sorts after every parseable one.
 */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (pa === null || pb === null) {
    if (pa === null && pb === null) return a === b ? 0 : a < b ? -1 : 1;
    return pa === null ? 1 : -1;
  }
  return compareRelease(pa.release, pb.release) || compareQualifiers(pa, pb);
}

/** Release numbers part by part; a missing part counts as 0. */
function compareRelease(a: number[], b: number[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** Two versions of the same release: pre < plain < post. */
function compareQualifiers(pa: ParsedVersion, pb: ParsedVersion): number {
  const rank = (p: ParsedVersion): number => (p.pre !== null ? -1 : p.post !== null ? 1 : 0);
  const r = rank(pa) - rank(pb);
  if (r !== 0) return Math.sign(r);
  if (pa.pre !== null && pb.pre !== null) return pa.pre === pb.pre ? 0 : comparePre(pa.pre, pb.pre);
  if (pa.post !== null && pb.post !== null) return Math.sign(pa.post - pb.post);
  return 0;
}

function comparePre(a: string, b: string): number {
  const order = ["dev", "a", "alpha", "b", "beta", "pre", "rc"];
  const split = (s: string): [number, number] => {
    const m = /^([a-z]+)(\d*)$/.exec(s);
    const tag = m?.[1] ?? s;
    const num = m?.[2] ? Number.parseInt(m[2], 10) : 0;
    return [order.indexOf(tag), num];
  };
  const [ta, na] = split(a);
  const [tb, nb] = split(b);
  return Math.sign(ta - tb) || Math.sign(na - nb);
}

/** A half-open version range: `since` ≤ v < `until`; a missing bound is open. */
export interface VersionRange {
  since?: string;
  until?: string;
}

export function inVersionRange(version: string, range: VersionRange): boolean {
  if (range.since !== undefined && compareVersions(version, range.since) < 0) return false;
  if (range.until !== undefined && compareVersions(version, range.until) >= 0) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Endpoints, ports, images
// ---------------------------------------------------------------------------------------------

export type ApiKind =
  | "chatCompletions"
  | "completions"
  | "embeddings"
  | "models"
  | "rerank"
  | "score"
  | "tokenize"
  | "generate"
  | "generateStream"
  | "nativeChat"
  | "nativeEmbed"
  | "info"
  | "version";

export interface EndpointFact extends VersionRange {
  kind: ApiKind;
  path: string;
  note?: string;
}

export interface EngineFacts {
  id: EngineId;
  displayName: string;
  /** Version assumed when a spec names none. */
  defaultVersion: string;
  /** Port the server listens on inside its container (for `openai`, the HTTPS port). */
  defaultPort: number;
  /** Port serving `metricsPath` when it differs from `defaultPort`. */
  metricsPort: number | null;
  /** Liveness: answers 200 while the process is up. */
  healthPath: string | null;
  /** Readiness: answers 200 once the model is loaded (may equal healthPath). */
  readinessPath: string | null;
  /** Prometheus exposition path; `null` where the engine has none. */
  metricsPath: string | null;
  /** Speaks the OpenAI HTTP API (chat/completions) natively. */
  openaiCompatible: boolean;
  endpoints: readonly EndpointFact[];
  /** Container image; the tag is `tagTemplate` with `{version}` replaced. `null` for external providers. */
  image: { repository: string; tagTemplate: string } | null;
  /** Base URL for external providers. */
  baseUrl?: string;
  source: string;
}

const ENGINES: Readonly<Record<EngineId, EngineFacts>> = {
  vllm: {
    id: "vllm",
    displayName: "vLLM",
    // v0.12.0: the first release without the 0.9-era deprecated metric names (PR #29330).
    defaultVersion: "0.12.0",
    defaultPort: 8000, // `vllm serve --port` default
    metricsPort: null,
    healthPath: "/health",
    readinessPath: "/health", // /health answers 200 only once the engine is up
    metricsPath: "/metrics",
    openaiCompatible: true,
    endpoints: [
      { kind: "chatCompletions", path: "/v1/chat/completions" },
      { kind: "completions", path: "/v1/completions" },
      {
        kind: "embeddings",
        path: "/v1/embeddings",
        note: "pooling models (`--task embed` / `--runner pooling`)",
      },
      { kind: "models", path: "/v1/models" },
      { kind: "rerank", path: "/v1/rerank", note: "Jina/Cohere-style rerank for cross-encoder models" },
      { kind: "score", path: "/score" },
      { kind: "tokenize", path: "/tokenize" },
      { kind: "version", path: "/version" },
    ],
    image: { repository: "vllm/vllm-openai", tagTemplate: "v{version}" },
    source:
      "vLLM docs 'OpenAI-Compatible Server'; vllm/entrypoints/openai/api_server.py; Docker Hub vllm/vllm-openai",
  },
  tgi: {
    id: "tgi",
    displayName: "Text Generation Inference",
    defaultVersion: "3.3.5",
    // The launcher defaults to 3000, the official image sets PORT=80 (docs: `docker run -p 8080:80`).
    defaultPort: 80,
    metricsPort: null,
    healthPath: "/health",
    readinessPath: "/health",
    metricsPath: "/metrics",
    openaiCompatible: true,
    endpoints: [
      { kind: "chatCompletions", path: "/v1/chat/completions", since: "1.4.0", note: "Messages API" },
      { kind: "completions", path: "/v1/completions" },
      { kind: "models", path: "/v1/models" },
      { kind: "generate", path: "/generate" },
      { kind: "generateStream", path: "/generate_stream" },
      { kind: "info", path: "/info" },
    ],
    image: { repository: "ghcr.io/huggingface/text-generation-inference", tagTemplate: "{version}" },
    source:
      "TGI docs (Quick Tour, Messages API, reference/metrics); ghcr.io/huggingface/text-generation-inference",
  },
  ollama: {
    id: "ollama",
    displayName: "Ollama",
    defaultVersion: "0.13.5",
    defaultPort: 11434,
    metricsPort: null,
    healthPath: "/", // answers "Ollama is running"
    readinessPath: "/api/version",
    metricsPath: null, // no Prometheus endpoint: ollama/ollama#3144
    openaiCompatible: true,
    endpoints: [
      {
        kind: "chatCompletions",
        path: "/v1/chat/completions",
        since: "0.1.24",
        note: "OpenAI compatibility",
      },
      { kind: "completions", path: "/v1/completions" },
      { kind: "embeddings", path: "/v1/embeddings" },
      { kind: "models", path: "/v1/models" },
      { kind: "nativeChat", path: "/api/chat" },
      { kind: "generate", path: "/api/generate" },
      { kind: "nativeEmbed", path: "/api/embed" },
      { kind: "version", path: "/api/version" },
    ],
    image: { repository: "ollama/ollama", tagTemplate: "{version}" },
    source: "Ollama docs api.md and openai.md; Docker Hub ollama/ollama; ollama/ollama#3144",
  },
  triton: {
    id: "triton",
    displayName: "Triton Inference Server (TensorRT-LLM backend)",
    defaultVersion: "25.02",
    defaultPort: 8000, // HTTP; gRPC 8001
    metricsPort: 8002,
    healthPath: "/v2/health/live",
    readinessPath: "/v2/health/ready",
    metricsPath: "/metrics",
    openaiCompatible: false,
    endpoints: [
      { kind: "generate", path: "/v2/models/{model}/generate" },
      { kind: "generateStream", path: "/v2/models/{model}/generate_stream" },
      {
        kind: "chatCompletions",
        path: "/v1/chat/completions",
        note: "only through Triton's separate OpenAI-compatible frontend (python/openai, port 9000)",
      },
    ],
    image: { repository: "nvcr.io/nvidia/tritonserver", tagTemplate: "{version}-trtllm-python-py3" },
    source:
      "Triton docs (HTTP/GRPC protocol, metrics.md, generate extension); NGC nvcr.io/nvidia/tritonserver",
  },
  llamacpp: {
    id: "llamacpp",
    displayName: "llama.cpp server",
    // llama.cpp tags every master build `b<N>`; the official server images are tagged
    // `server-b<N>` (CPU) and `server-cuda-b<N>` (CUDA). b11549 is the build the pinned
    // xllamacpp 2026.10.11549 wheel (YYYY.MM.<build>) carries, the one verified here.
    defaultVersion: "b11549",
    defaultPort: 8080, // `llama-server --port` default
    metricsPort: null,
    healthPath: "/health", // 503 {"error":{"message":"Loading model"}} until the model is loaded
    readinessPath: "/health",
    metricsPath: "/metrics", // only with `--metrics`
    openaiCompatible: true,
    endpoints: [
      { kind: "chatCompletions", path: "/v1/chat/completions" },
      { kind: "completions", path: "/v1/completions" },
      {
        kind: "embeddings",
        path: "/v1/embeddings",
        note: "only with `--embeddings`; otherwise 501 not_supported_error",
      },
      { kind: "rerank", path: "/v1/rerank", note: "only with `--reranking`; otherwise 501" },
      { kind: "models", path: "/v1/models" },
      { kind: "tokenize", path: "/tokenize" },
    ],
    image: { repository: "ghcr.io/ggml-org/llama.cpp", tagTemplate: "server-{version}" },
    source:
      "llama.cpp tools/server/README.md; ghcr.io/ggml-org/llama.cpp (server-b<N>, server-cuda-b<N>); paths, health and 501s checked against xllamacpp 2026.10.11549 here",
  },
  openai: {
    id: "openai",
    displayName: "OpenAI-compatible external provider",
    defaultVersion: "v1",
    defaultPort: 443,
    metricsPort: null,
    healthPath: null, // no unauthenticated health endpoint; GET /v1/models with the key works
    readinessPath: null,
    metricsPath: null,
    openaiCompatible: true,
    endpoints: [
      { kind: "chatCompletions", path: "/v1/chat/completions" },
      { kind: "completions", path: "/v1/completions" },
      { kind: "embeddings", path: "/v1/embeddings" },
      { kind: "models", path: "/v1/models" },
    ],
    image: null,
    baseUrl: "https://api.openai.com",
    source: "OpenAI API reference",
  },
  embedded: {
    id: "embedded",
    displayName: "Inferplane embedded (ONNX Runtime, CPU)",
    defaultVersion: "0.1.0", // the Inferplane release: the engine ships in the Inferplane image
    defaultPort: 8080, // `inferplane embed-serve --port` default
    metricsPort: null,
    healthPath: "/health",
    readinessPath: "/health", // listens only once the model is loaded
    metricsPath: "/metrics",
    openaiCompatible: true,
    endpoints: [
      { kind: "embeddings", path: "/v1/embeddings", note: "OpenAI shape plus input_type query|document" },
      { kind: "models", path: "/v1/models" },
    ],
    image: { repository: "ghcr.io/inferplane/inferplane", tagTemplate: "{version}" },
    source: "src/engines/embedded (this project); docs/rag.md",
  },
};

/** Resolved facts of one engine at one version. */
export interface EngineInfo {
  id: EngineId;
  displayName: string;
  version: string;
  defaultPort: number;
  metricsPort: number;
  healthPath: string | null;
  readinessPath: string | null;
  metricsPath: string | null;
  openaiCompatible: boolean;
  /** Path per API kind available at this version. */
  api: Partial<Record<ApiKind, string>>;
  /** Full image reference, `null` for external providers. */
  image: string | null;
  baseUrl?: string;
}

/** Raw facts of an engine (all versions). */
export function engineFacts(engine: EngineId): EngineFacts {
  return ENGINES[engine];
}

export function listEngines(): readonly EngineFacts[] {
  return ENGINE_IDS.map((id) => ENGINES[id]);
}

/** Facts of `engine` at `version` (default: the engine's default version). */
export function engineInfo(engine: EngineId, version?: string): EngineInfo {
  const f = ENGINES[engine];
  const v = version === undefined || version.trim() === "" ? f.defaultVersion : version.trim();
  const api: Partial<Record<ApiKind, string>> = {};
  for (const e of f.endpoints) {
    if (api[e.kind] === undefined && inVersionRange(v, e)) api[e.kind] = e.path;
  }
  const tagVersion = engine === "vllm" ? v.replace(/^v/, "") : v;
  const info: EngineInfo = {
    id: f.id,
    displayName: f.displayName,
    version: v,
    defaultPort: f.defaultPort,
    metricsPort: f.metricsPort ?? f.defaultPort,
    healthPath: f.healthPath,
    readinessPath: f.readinessPath,
    metricsPath: f.metricsPath,
    openaiCompatible: f.openaiCompatible,
    api,
    image:
      f.image === null
        ? null
        : `${f.image.repository}:${f.image.tagTemplate.replace("{version}", tagVersion)}`,
  };
  if (f.baseUrl !== undefined) info.baseUrl = f.baseUrl;
  return info;
}

// ---------------------------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------------------------

/** Semantic load and latency signals, whatever each engine calls them. */
export type MetricKey =
  | "running"
  | "waiting"
  | "swapped"
  | "kvCacheUsage"
  | "cpuCacheUsage"
  | "preemptions"
  | "requests"
  | "requestSuccess"
  | "promptTokens"
  | "generationTokens"
  | "prefixCacheQueries"
  | "prefixCacheHits"
  | "prefixCacheHitRate"
  | "ttft"
  | "itl"
  | "tpot"
  | "e2eLatency"
  | "queueTime"
  | "prefillTime"
  | "decodeTime"
  | "inferenceTime"
  | "cacheConfigInfo"
  | "loraInfo";

export type MetricType = "gauge" | "counter" | "histogram" | "info";

/**
 * Unit of the value: `fraction` is 0–1 (vLLM's `*_usage_perc` despite the name: "1 means 100
 * percent usage"), `requests`/`tokens` are counts, times are seconds unless `microseconds`.
 */
export type MetricUnit = "requests" | "tokens" | "fraction" | "seconds" | "microseconds" | "info";

/** One exposed series: a metric name plus the label values that select it. */
export interface MetricSeries {
  name: string;
  labels?: Readonly<Record<string, string>>;
}

export interface MetricFact extends MetricSeries, VersionRange {
  key: MetricKey;
  type: MetricType;
  unit: MetricUnit;
  /** Version whose release notes / help string mark it deprecated. */
  deprecated?: string;
  /** First version that hides it unless `--show-hidden-metrics-for-version` is given. */
  hidden?: string;
  /** First version without it (same as `until`, kept for readability). */
  removed?: string;
  note?: string;
}

const VLLM_V1_NOTE = "vLLM deprecation policy: deprecated X.Y, hidden X.Y+1, removed X.Y+2.";

/**
 * vLLM: `vllm/v1/metrics/loggers.py` and docs/design/metrics.md. Renames: PR #18354 (shipped in
 * 0.9.2; `gpu_` prefixes → `kv_cache_usage_perc`, `prefix_cache_*`), hidden in 0.11 (PR #24245),
 * removed in 0.12 (PR #29330). `time_per_output_token_seconds` deprecated in 0.11 in favour of
 * `inter_token_latency_seconds` (present since 0.10.2), hidden 0.12, removed 0.13 (PR #32661).
 * v0-only gauges deprecated in 0.8 and hidden in 0.9 (PR #15458). Within a key, the current name
 * comes first.
 */
const VLLM_METRICS: readonly MetricFact[] = [
  { key: "running", name: "vllm:num_requests_running", type: "gauge", unit: "requests" },
  { key: "waiting", name: "vllm:num_requests_waiting", type: "gauge", unit: "requests" },
  {
    key: "swapped",
    name: "vllm:num_requests_swapped",
    type: "gauge",
    unit: "requests",
    deprecated: "0.8.0",
    hidden: "0.9.0",
    removed: "0.10.0",
    until: "0.10.0",
    note: "v0 engine only; V1 never swaps to CPU",
  },
  { key: "kvCacheUsage", name: "vllm:kv_cache_usage_perc", type: "gauge", unit: "fraction", since: "0.9.2" },
  {
    key: "kvCacheUsage",
    name: "vllm:gpu_cache_usage_perc",
    type: "gauge",
    unit: "fraction",
    deprecated: "0.9.2",
    hidden: "0.11.0",
    removed: "0.12.0",
    until: "0.12.0",
    note: VLLM_V1_NOTE,
  },
  {
    key: "cpuCacheUsage",
    name: "vllm:cpu_cache_usage_perc",
    type: "gauge",
    unit: "fraction",
    deprecated: "0.8.0",
    hidden: "0.9.0",
    removed: "0.10.0",
    until: "0.10.0",
    note: "v0 engine only",
  },
  { key: "preemptions", name: "vllm:num_preemptions_total", type: "counter", unit: "requests" },
  { key: "promptTokens", name: "vllm:prompt_tokens_total", type: "counter", unit: "tokens" },
  { key: "generationTokens", name: "vllm:generation_tokens_total", type: "counter", unit: "tokens" },
  {
    key: "requestSuccess",
    name: "vllm:request_success_total",
    type: "counter",
    unit: "requests",
    note: "label finished_reason (stop, length, abort)",
  },
  {
    key: "prefixCacheQueries",
    name: "vllm:prefix_cache_queries_total",
    type: "counter",
    unit: "tokens",
    since: "0.9.2",
  },
  {
    key: "prefixCacheQueries",
    name: "vllm:gpu_prefix_cache_queries_total",
    type: "counter",
    unit: "tokens",
    since: "0.8.0",
    deprecated: "0.9.2",
    hidden: "0.11.0",
    removed: "0.12.0",
    until: "0.12.0",
    note: "V1 engine (default from 0.8.0)",
  },
  {
    key: "prefixCacheHits",
    name: "vllm:prefix_cache_hits_total",
    type: "counter",
    unit: "tokens",
    since: "0.9.2",
  },
  {
    key: "prefixCacheHits",
    name: "vllm:gpu_prefix_cache_hits_total",
    type: "counter",
    unit: "tokens",
    since: "0.8.0",
    deprecated: "0.9.2",
    hidden: "0.11.0",
    removed: "0.12.0",
    until: "0.12.0",
    note: "V1 engine (default from 0.8.0)",
  },
  {
    key: "prefixCacheHitRate",
    name: "vllm:gpu_prefix_cache_hit_rate",
    type: "gauge",
    unit: "fraction",
    deprecated: "0.8.0",
    hidden: "0.9.0",
    removed: "0.10.0",
    until: "0.10.0",
    note: "v0 engine only; use rate(prefix_cache_hits) / rate(prefix_cache_queries)",
  },
  { key: "ttft", name: "vllm:time_to_first_token_seconds", type: "histogram", unit: "seconds" },
  {
    key: "itl",
    name: "vllm:inter_token_latency_seconds",
    type: "histogram",
    unit: "seconds",
    since: "0.10.2",
  },
  {
    key: "itl",
    name: "vllm:time_per_output_token_seconds",
    type: "histogram",
    unit: "seconds",
    deprecated: "0.11.0",
    hidden: "0.12.0",
    removed: "0.13.0",
    until: "0.13.0",
    note: "measured inter-token latency under its old name",
  },
  {
    key: "tpot",
    name: "vllm:request_time_per_output_token_seconds",
    type: "histogram",
    unit: "seconds",
    since: "0.11.0",
    note: "per request: (e2e − TTFT) / (output tokens − 1)",
  },
  {
    key: "tpot",
    name: "vllm:time_per_output_token_seconds",
    type: "histogram",
    unit: "seconds",
    deprecated: "0.11.0",
    hidden: "0.12.0",
    removed: "0.13.0",
    until: "0.13.0",
    note: "before 0.11 the only per-token latency histogram (inter-token, not per request)",
  },
  { key: "e2eLatency", name: "vllm:e2e_request_latency_seconds", type: "histogram", unit: "seconds" },
  { key: "queueTime", name: "vllm:request_queue_time_seconds", type: "histogram", unit: "seconds" },
  { key: "prefillTime", name: "vllm:request_prefill_time_seconds", type: "histogram", unit: "seconds" },
  { key: "decodeTime", name: "vllm:request_decode_time_seconds", type: "histogram", unit: "seconds" },
  { key: "inferenceTime", name: "vllm:request_inference_time_seconds", type: "histogram", unit: "seconds" },
  {
    key: "cacheConfigInfo",
    name: "vllm:cache_config_info",
    type: "info",
    unit: "info",
    note: "labels include block_size, num_gpu_blocks, gpu_memory_utilization",
  },
  {
    key: "loraInfo",
    name: "vllm:lora_requests_info",
    type: "info",
    unit: "info",
    note: "labels running_lora_adapters, waiting_lora_adapters, max_lora; only with LoRA enabled",
  },
];

/**
 * TGI: docs/source/reference/metrics.md. Exposed by the Rust `metrics` Prometheus exporter under
 * these exact names (no `_total` suffix is added). TGI has no KV-cache usage gauge.
 */
const TGI_METRICS: readonly MetricFact[] = [
  {
    key: "running",
    name: "tgi_batch_current_size",
    type: "gauge",
    unit: "requests",
    note: "requests in the running batch",
  },
  { key: "waiting", name: "tgi_queue_size", type: "gauge", unit: "requests" },
  { key: "requests", name: "tgi_request_count", type: "counter", unit: "requests" },
  { key: "requestSuccess", name: "tgi_request_success", type: "counter", unit: "requests" },
  {
    key: "promptTokens",
    name: "tgi_request_input_length",
    type: "histogram",
    unit: "tokens",
    note: "per-request histogram; its _sum is the running total",
  },
  {
    key: "generationTokens",
    name: "tgi_request_generated_tokens",
    type: "histogram",
    unit: "tokens",
    note: "per-request histogram; its _sum is the running total",
  },
  {
    key: "itl",
    name: "tgi_request_mean_time_per_token_duration",
    type: "histogram",
    unit: "seconds",
    note: "mean inter-token latency per request",
  },
  { key: "e2eLatency", name: "tgi_request_duration", type: "histogram", unit: "seconds" },
  { key: "queueTime", name: "tgi_request_queue_duration", type: "histogram", unit: "seconds" },
  { key: "inferenceTime", name: "tgi_request_inference_duration", type: "histogram", unit: "seconds" },
];

/**
 * Triton with the TensorRT-LLM backend: tensorrtllm_backend metrics (label-selected gauges, as
 * used by gateway-api-inference-extension's model-server protocol doc), plus Triton core
 * counters (docs/user_guide/metrics.md; prometheus-cpp, no `_total` suffix added).
 */
const TRITON_METRICS: readonly MetricFact[] = [
  {
    key: "running",
    name: "nv_trt_llm_request_metrics",
    labels: { request_type: "scheduled" },
    type: "gauge",
    unit: "requests",
  },
  {
    key: "running",
    name: "nv_trt_llm_request_metrics",
    labels: { request_type: "active" },
    type: "gauge",
    unit: "requests",
  },
  {
    key: "waiting",
    name: "nv_trt_llm_request_metrics",
    labels: { request_type: "waiting" },
    type: "gauge",
    unit: "requests",
  },
  {
    key: "waiting",
    name: "nv_inference_pending_request_count",
    type: "gauge",
    unit: "requests",
    note: "Triton core queue; the fallback for non-TRT-LLM backends",
  },
  {
    key: "kvCacheUsage",
    name: "nv_trt_llm_kv_cache_block_metrics",
    labels: { kv_cache_block_type: "fraction" },
    type: "gauge",
    unit: "fraction",
    note: "older backends lack `fraction`: divide kv_cache_block_type=used by kv_cache_block_type=max",
  },
  { key: "requestSuccess", name: "nv_inference_request_success", type: "counter", unit: "requests" },
  {
    key: "queueTime",
    name: "nv_inference_queue_duration_us",
    type: "counter",
    unit: "microseconds",
    note: "cumulative; divide its rate by rate(nv_inference_request_success)",
  },
];

/**
 * llama.cpp server with `--metrics` (tools/server/server.cpp `handle_metrics`; names read from
 * xllamacpp 2026.10.11549's /metrics here). Prefix `llamacpp:`; counters carry `_total`. No
 * KV-cache usage gauge: the load-aware balancer weighs running and waiting only.
 */
const LLAMACPP_METRICS: readonly MetricFact[] = [
  {
    key: "running",
    name: "llamacpp:requests_processing",
    type: "gauge",
    unit: "requests",
    note: "requests in a slot",
  },
  {
    key: "waiting",
    name: "llamacpp:requests_deferred",
    type: "gauge",
    unit: "requests",
    note: "requests waiting for a free slot",
  },
  { key: "promptTokens", name: "llamacpp:prompt_tokens_total", type: "counter", unit: "tokens" },
  { key: "generationTokens", name: "llamacpp:tokens_predicted_total", type: "counter", unit: "tokens" },
];

const METRICS: Readonly<Record<EngineId, readonly MetricFact[]>> = {
  vllm: VLLM_METRICS,
  tgi: TGI_METRICS,
  ollama: [], // no /metrics (ollama/ollama#3144)
  triton: TRITON_METRICS,
  llamacpp: LLAMACPP_METRICS,
  openai: [], // external provider: no scrape target
  // src/engines/embedded/metrics.ts (EMBEDDING_METRICS): texts, not requests, are the unit of work.
  embedded: [
    { key: "running", name: "inferplane_embedding_texts_running", type: "gauge", unit: "requests" },
    { key: "waiting", name: "inferplane_embedding_queue_depth", type: "gauge", unit: "requests" },
    { key: "requests", name: "inferplane_embedding_requests_total", type: "counter", unit: "requests" },
    {
      key: "promptTokens",
      name: "inferplane_embedding_prompt_tokens_total",
      type: "counter",
      unit: "tokens",
    },
    {
      key: "e2eLatency",
      name: "inferplane_embedding_request_duration_seconds",
      type: "histogram",
      unit: "seconds",
    },
  ],
};

/** All metric facts of an engine, every version. */
export function metricFacts(engine: EngineId): readonly MetricFact[] {
  return METRICS[engine];
}

/** Whether a series is served by default, only behind a flag, or not at all at a version. */
export type MetricStatus = "exposed" | "hidden" | "absent";

export interface MetricCandidate extends MetricSeries {
  status: MetricStatus;
}

export interface ResolvedMetric {
  key: MetricKey;
  type: MetricType;
  unit: MetricUnit;
  /** Series this version serves by default (usually one; two during a rename window). */
  exposed: MetricSeries[];
  /**
   * Series for a tolerant reader to try in order: exposed first, then hidden ones (served with
   * `--show-hidden-metrics-for-version`), then names of other versions.
   */
  candidates: MetricCandidate[];
  note?: string;
}

function statusAt(fact: MetricFact, version: string): MetricStatus {
  if (fact.since !== undefined && compareVersions(version, fact.since) < 0) return "absent";
  if (fact.removed !== undefined && compareVersions(version, fact.removed) >= 0) return "absent";
  if (fact.until !== undefined && compareVersions(version, fact.until) >= 0) return "absent";
  if (fact.hidden !== undefined && compareVersions(version, fact.hidden) >= 0) return "hidden";
  return "exposed";
}

function series(fact: MetricFact): MetricSeries {
  return fact.labels === undefined ? { name: fact.name } : { name: fact.name, labels: fact.labels };
}

/**
 * The series behind each semantic key for `engine` at `version` (default: the engine's default
 * version; an unparseable version such as `latest` also means the default). A key is present when
 * the version serves it, by default or behind the hidden-metrics flag. Engines without metrics
 * (Ollama, external providers) give an empty object.
 */
export function metricNames(engine: EngineId, version?: string): Partial<Record<MetricKey, ResolvedMetric>> {
  const facts = METRICS[engine];
  const v =
    version === undefined || parseVersion(version) === null ? ENGINES[engine].defaultVersion : version.trim();
  const byKey = new Map<MetricKey, MetricFact[]>();
  for (const f of facts) {
    const list = byKey.get(f.key);
    if (list === undefined) byKey.set(f.key, [f]);
    else list.push(f);
  }
  const out: Partial<Record<MetricKey, ResolvedMetric>> = {};
  for (const [key, list] of byKey) {
    const tagged = list.map((f) => ({ f, status: statusAt(f, v) }));
    if (!tagged.some((t) => t.status !== "absent")) continue;
    const rank: Record<MetricStatus, number> = { exposed: 0, hidden: 1, absent: 2 };
    const ordered = [...tagged].sort((a, b) => rank[a.status] - rank[b.status]);
    const first = ordered[0];
    if (first === undefined) continue;
    const resolved: ResolvedMetric = {
      key,
      type: first.f.type,
      unit: first.f.unit,
      exposed: ordered.filter((t) => t.status === "exposed").map((t) => series(t.f)),
      candidates: ordered.map((t) => ({ ...series(t.f), status: t.status })),
    };
    if (first.f.note !== undefined) resolved.note = first.f.note;
    out[key] = resolved;
  }
  return out;
}

/** PromQL selector for a series: `name{label="value",…}` (labels sorted). */
export function metricSelector(s: MetricSeries): string {
  const labels = Object.entries(s.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (labels.length === 0) return s.name;
  return `${s.name}{${labels.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}`;
}

/** Every metric name any version of `engine` has exposed, for linters that flag unknown names. */
export function knownMetricNames(engine: EngineId): string[] {
  return [...new Set(METRICS[engine].map((f) => f.name))].sort();
}
