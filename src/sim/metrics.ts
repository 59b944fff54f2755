/**
 * Prometheus exposition of one simulated replica, per engine flavour, with prom-client (one
 * Registry per replica, so replicas in one process never share series).
 *
 * Names and types come from the catalog (`metricNames` at the flavour's version); this module
 * only says where each semantic key's value comes from:
 *   gauges    read from the engine when scraped (running, waiting, KV usage, …);
 *   counters  read from the engine's or the server's cumulative tallies when scraped;
 *   histograms observed when a request finishes (vLLM's inter-token latency: per token, into a
 *             bucket array of our own that the registry reads when scraped — prom-client's
 *             `observe` builds a closure and hashes the labels on every call, ~0.4 µs, which at
 *             1,000 streams × 83 tokens/s was 3% of a core).
 * Counters carry their exposed names, `_total` included (`# TYPE vllm:num_preemptions_total
 * counter`), the way prometheus_client renders them in the text format; TGI and Triton counters
 * have no `_total`, as those engines expose them.
 *
 * vLLM series carry `model_name` and `engine` labels, Triton series `model` and `version`
 * (registry default labels); TGI's carry none, as TGI's own exporter.
 */
import { Counter, Gauge, Histogram, type Metric, Registry } from "prom-client";
import type { MetricKey, MetricSeries, MetricType } from "../catalog/engines.js";
import type { Flavour } from "./flavours.js";
import type { EngineCore } from "./model/engine.js";

export type FinishReason = "stop" | "length" | "abort";

/** One finished request's timeline, virtual seconds since the engine started. */
export interface FinishedRequest {
  reason: FinishReason;
  arrival: number;
  /** First scheduled; undefined when it never ran. */
  scheduled: number | undefined;
  firstToken: number | undefined;
  end: number;
  promptTokens: number;
  outputTokens: number;
}

/**
 * How an engine's exposition looks beyond its names (src/engines/<engine>/sim.ts): its default
 * labels, its histograms' buckets, and the habits that differ between engines.
 */
export interface MetricStyle {
  /** Labels on every series (vLLM `model_name`/`engine`, Triton `model`/`version`). */
  defaultLabels?(modelName: string): Record<string, string>;
  /** Inter-token latency observed per token (vLLM), rather than each request's mean gap (TGI). */
  itlPerToken: boolean;
  /** The success counter carries `finished_reason` (vLLM). */
  finishedReason: boolean;
  /** Aborted requests are observed in the latency histograms (vLLM). */
  observesAborts: boolean;
  /** KV block counts (`max`, `used`, `free`) beside the fraction, under its name (Triton). */
  kvBlockSeries: boolean;
  buckets(key: MetricKey, name: string, maxModelLen: number): number[];
}

const HELP: Partial<Record<MetricKey, string>> = {
  running: "Number of requests in model execution batches.",
  waiting: "Number of requests waiting to be processed.",
  swapped: "Number of requests swapped to CPU (always 0 in the simulator).",
  kvCacheUsage: "KV-cache usage. 1 means 100 percent usage.",
  cpuCacheUsage: "CPU KV-cache usage (always 0 in the simulator).",
  preemptions: "Cumulative number of preemptions from the engine.",
  requests: "Number of requests received.",
  requestSuccess: "Count of successfully processed requests.",
  promptTokens: "Number of prefill tokens processed.",
  generationTokens: "Number of generation tokens processed.",
  prefixCacheQueries: "Prefix cache queries, in terms of number of queried tokens.",
  prefixCacheHits: "Prefix cache hits, in terms of number of cached tokens.",
  prefixCacheHitRate: "Prefix cache hit rate.",
  ttft: "Histogram of time to first token in seconds.",
  itl: "Histogram of inter-token latency in seconds.",
  tpot: "Histogram of time per output token in seconds.",
  e2eLatency: "Histogram of end to end request latency in seconds.",
  queueTime: "Histogram of time spent in WAITING phase for request.",
  prefillTime: "Histogram of time spent in PREFILL phase for request.",
  decodeTime: "Histogram of time spent in DECODE phase for request.",
  inferenceTime: "Histogram of time spent in RUNNING phase for request.",
  cacheConfigInfo: "Information of the LLMEngine CacheConfig.",
};

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

interface NamedSeries {
  key: MetricKey;
  labels: Readonly<Record<string, string>>;
}

/**
 * A histogram fed once per generated token: the observation is a bucket search and two adds.
 * It is registered with the registry as a metric object (prom-client's `registerMetric`
 * contract: name, help, type, `get()`), and exposes what prom-client's Histogram would: the
 * cumulative `_bucket{le}` series, `+Inf`, `_sum` and `_count`.
 */
export class TokenGapHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly labelNames: string[] = [];
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(seconds: number): void {
    const bounds = this.bounds;
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= (bounds[i] as number)) {
        this.counts[i] = (this.counts[i] as number) + 1;
        return;
      }
    }
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }

  /** What the registry formats (the shape prom-client's own metrics return). */
  get(): {
    name: string;
    help: string;
    type: "histogram";
    aggregator: "sum";
    values: { labels: Record<string, string | number>; value: number; metricName: string }[];
  } {
    const bucket = `${this.name}_bucket`;
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    let acc = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      acc += this.counts[i] as number;
      values.push({ labels: { le: this.bounds[i] as number }, value: acc, metricName: bucket });
    }
    values.push({ labels: { le: "+Inf" }, value: this.count, metricName: bucket });
    values.push({ labels: {}, value: this.sum, metricName: `${this.name}_sum` });
    values.push({ labels: {}, value: this.count, metricName: `${this.name}_count` });
    return { name: this.name, help: this.help, type: "histogram", aggregator: "sum", values };
  }
}

export class SimMetrics {
  readonly registry = new Registry();
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
  /** Whether `tokenGap` is wanted for every token (vLLM's inter-token latency histogram). */
  readonly itlPerToken: boolean;
  private readonly engine: EngineCore;
  private readonly flavour: Flavour;
  private readonly requests = { received: 0, stop: 0, length: 0, abort: 0, queueUs: 0 };
  private readonly histograms = new Map<MetricKey, Histogram[]>();
  /** vLLM's inter-token latency, observed per token (one per exposed name). */
  private readonly itl: TokenGapHistogram[] = [];

  constructor(flavour: Flavour, engine: EngineCore, modelName: string) {
    this.engine = engine;
    this.flavour = flavour;
    const labels = flavour.metricStyle.defaultLabels?.(modelName);
    if (labels !== undefined) this.registry.setDefaultLabels(labels);

    // Group the exposed series by metric name: Triton serves several keys under one name, told
    // apart by a label; during vLLM renames one key has two names; the first key to claim a name
    // keeps it (vLLM < 0.11 names its inter-token latency `time_per_output_token_seconds`).
    const byName = new Map<string, { type: MetricType; series: NamedSeries[] }>();
    for (const [key, resolved] of Object.entries(flavour.metrics) as [
      MetricKey,
      NonNullable<Flavour["metrics"][MetricKey]>,
    ][]) {
      if (!this.supports(key)) continue;
      for (const s of resolved.exposed as MetricSeries[]) {
        const labels = s.labels ?? {};
        const entry = byName.get(s.name);
        if (entry === undefined) byName.set(s.name, { type: resolved.type, series: [{ key, labels }] });
        else if (!entry.series.some((x) => sameLabels(x.labels, labels))) entry.series.push({ key, labels });
      }
    }
    if (flavour.metricStyle.kvBlockSeries) this.addKvBlockSeries(byName);
    for (const [name, { type, series }] of byName) this.register(name, type, series);
    this.itlPerToken = this.itl.length > 0;
  }

  /** Block counts beside the fraction: readers of older TensorRT-LLM backends divide `used` by `max`. */
  private addKvBlockSeries(byName: Map<string, { type: MetricType; series: NamedSeries[] }>): void {
    const kv = this.flavour.metrics.kvCacheUsage?.exposed.find((s) => s.labels?.kv_cache_block_type);
    const entry = kv ? byName.get(kv.name) : undefined;
    if (!entry) return;
    for (const t of ["max", "used", "free"] as const)
      entry.series.push({ key: "kvCacheUsage", labels: { kv_cache_block_type: t } });
  }

  private supports(key: MetricKey): boolean {
    return key !== "loraInfo";
  }

  private register(name: string, type: MetricType, series: NamedSeries[]): void {
    const first = series[0] as NamedSeries;
    const help = HELP[first.key] ?? name;
    const registers = [this.registry];
    const labelNames = [...new Set(series.flatMap((s) => Object.keys(s.labels)))];
    if (type === "gauge") {
      const read = series.map((s) => ({ labels: s.labels, value: this.gaugeSource(s) }));
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          for (const r of read) {
            if (labelNames.length === 0) this.set(r.value());
            else this.set(r.labels, r.value());
          }
        },
      });
    } else if (type === "counter") {
      const success = first.key === "requestSuccess" && this.flavour.metricStyle.finishedReason;
      const names = success ? [...labelNames, "finished_reason"] : labelNames;
      const read = success
        ? (["stop", "length", "abort"] as const).map((reason) => ({
            labels: { finished_reason: reason },
            value: () => this.requests[reason],
          }))
        : series.map((s) => ({ labels: s.labels, value: this.counterSource(s.key) }));
      new Counter({
        name,
        help,
        labelNames: names,
        registers,
        collect() {
          this.reset();
          for (const r of read) {
            if (names.length === 0) this.inc(r.value());
            else this.inc(r.labels, r.value());
          }
        },
      });
    } else if (type === "histogram" && first.key === "itl" && this.flavour.metricStyle.itlPerToken) {
      const h = new TokenGapHistogram(name, help, this.buckets(first.key, name));
      this.registry.registerMetric(h as unknown as Metric);
      this.itl.push(h);
    } else if (type === "histogram") {
      const h = new Histogram({ name, help, buckets: this.buckets(first.key, name), registers });
      const list = this.histograms.get(first.key);
      if (list) list.push(h);
      else this.histograms.set(first.key, [h]);
    } else if (type === "info" && first.key === "cacheConfigInfo") {
      const c = this.engine.config;
      const info = {
        block_size: String(c.blockSize),
        cache_dtype: c.kvDtypeBytes === 1 ? "fp8" : "auto",
        enable_prefix_caching: c.enablePrefixCaching ? "True" : "False",
        gpu_memory_utilization: String(c.gpuMemoryUtilization),
        num_gpu_blocks: String(c.numGpuBlocks),
      };
      // vLLM exposes config info as a gauge fixed at 1 whose labels carry the values.
      const g = new Gauge({ name, help, labelNames: Object.keys(info), registers });
      g.set(info, 1);
    }
  }

  private gaugeSource(s: NamedSeries): () => number {
    const e = this.engine;
    switch (s.key) {
      case "running":
        return () => e.numRunning;
      case "waiting":
        return () => e.numWaiting;
      case "kvCacheUsage":
        switch (s.labels.kv_cache_block_type) {
          case "max":
            return () => e.config.numGpuBlocks;
          case "used":
            return () => e.config.numGpuBlocks - e.kv.freeBlocks;
          case "free":
            return () => e.kv.freeBlocks;
          default:
            return () => e.kvUsage;
        }
      case "prefixCacheHitRate":
        return () => (e.counters.prefixQueries > 0 ? e.counters.prefixHits / e.counters.prefixQueries : 0);
      default:
        return () => 0; // swapped, CPU cache: nothing in the simulator
    }
  }

  private counterSource(key: MetricKey): () => number {
    const c = this.engine.counters;
    const r = this.requests;
    switch (key) {
      case "preemptions":
        return () => c.preemptions;
      case "promptTokens":
        return () => c.promptTokens;
      case "generationTokens":
        return () => c.generationTokens;
      case "prefixCacheQueries":
        return () => c.prefixQueries;
      case "prefixCacheHits":
        return () => c.prefixHits;
      case "requests":
        return () => r.received;
      case "requestSuccess":
        return () => r.stop + r.length;
      case "queueTime":
        return () => Math.round(r.queueUs);
      default:
        return () => 0;
    }
  }

  private buckets(key: MetricKey, name: string): number[] {
    return this.flavour.metricStyle.buckets(key, name, this.engine.config.maxModelLen);
  }

  /** A request arrived (TGI's `tgi_request_count`). */
  received(): void {
    this.requests.received++;
  }

  /** One inter-token gap, seconds (only called when `itlPerToken`). */
  tokenGap(seconds: number): void {
    const list = this.itl;
    for (let i = 0; i < list.length; i++) (list[i] as TokenGapHistogram).observe(seconds);
  }

  finished(r: FinishedRequest): void {
    this.requests[r.reason]++;
    const observe = (key: MetricKey, v: number | undefined) => {
      if (v === undefined || !Number.isFinite(v)) return;
      const list = this.histograms.get(key);
      if (list) for (const h of list) h.observe(Math.max(0, v));
    };
    const queue = r.scheduled !== undefined ? r.scheduled - r.arrival : undefined;
    if (queue !== undefined) this.requests.queueUs += queue * 1e6;
    if (r.reason === "abort" && !this.flavour.metricStyle.observesAborts) return;
    const ttft = r.firstToken !== undefined ? r.firstToken - r.arrival : undefined;
    observe("e2eLatency", r.end - r.arrival);
    observe("queueTime", queue);
    observe("ttft", ttft);
    if (r.scheduled !== undefined) {
      observe("inferenceTime", r.end - r.scheduled);
      if (r.firstToken !== undefined) observe("prefillTime", r.firstToken - r.scheduled);
    }
    if (r.firstToken !== undefined) observe("decodeTime", r.end - r.firstToken);
    const tpot =
      r.firstToken !== undefined && r.outputTokens > 1
        ? (r.end - r.firstToken) / (r.outputTokens - 1)
        : undefined;
    observe("tpot", tpot);
    if (!this.itlPerToken) observe("itl", tpot); // TGI: mean time per token of the request
    observe("promptTokens", r.promptTokens);
    observe("generationTokens", r.outputTokens);
  }

  /** The exposition text. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
