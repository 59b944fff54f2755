/**
 * Prometheus metrics of an embedded embedding replica. `queue_depth` and `texts_running` are the
 * load the gateway balances on (catalog: engine `embedded`, keys `waiting` and `running`).
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { metricName } from "../../telemetry/metrics.js";

const n = (name: string) => metricName("embedding", name);

/** Metric names as exposed, shared with the catalog's engine facts. */
export const EMBEDDING_METRICS = {
  requests: n("requests_total"),
  tokens: n("prompt_tokens_total"),
  texts: n("texts_total"),
  batchSize: n("batch_size"),
  queueDepth: n("queue_depth"),
  running: n("texts_running"),
  latency: n("request_duration_seconds"),
} as const;

export class EmbeddingMetrics {
  readonly requests: Counter<"model" | "status">;
  readonly tokens: Counter<"model">;
  readonly texts: Counter<"model">;
  readonly batchSize: Histogram<"model">;
  readonly queueDepth: Gauge<"model">;
  readonly running: Gauge<"model">;
  readonly latency: Histogram<"model">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: EMBEDDING_METRICS.requests,
      help: "Embedding requests by HTTP status.",
      labelNames: ["model", "status"],
      registers,
    });
    this.tokens = new Counter({
      name: EMBEDDING_METRICS.tokens,
      help: "Input tokens embedded (special tokens included, after truncation).",
      labelNames: ["model"],
      registers,
    });
    this.texts = new Counter({
      name: EMBEDDING_METRICS.texts,
      help: "Texts embedded.",
      labelNames: ["model"],
      registers,
    });
    this.batchSize = new Histogram({
      name: EMBEDDING_METRICS.batchSize,
      help: "Texts taken from the queue per scheduling step.",
      labelNames: ["model"],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    });
    this.queueDepth = new Gauge({
      name: EMBEDDING_METRICS.queueDepth,
      help: "Texts waiting in the queue.",
      labelNames: ["model"],
      registers,
    });
    this.running = new Gauge({
      name: EMBEDDING_METRICS.running,
      help: "Texts in the current scheduling step.",
      labelNames: ["model"],
      registers,
    });
    this.latency = new Histogram({
      name: EMBEDDING_METRICS.latency,
      help: "Time from a request's arrival to its answer, seconds.",
      labelNames: ["model"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
  }
}
