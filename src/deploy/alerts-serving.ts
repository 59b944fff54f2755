/**
 * The guide's alert table, rendered on real metric names: engine end-to-end latency p99,
 * running sequences near each model's `max_num_seqs`, generation throughput of a busy model,
 * and Milvus search latency. Each alert carries the series that must fire it and the series
 * that must leave it silent (promtool unit tests for both).
 *
 * The guide's `vllm:avg_generation_throughput` gauge is a v0 logger value that vLLM v1 no
 * longer exports (REFERENCE: v1 counters `vllm:generation_tokens_total`): throughput is the
 * counter's rate. A rate under the floor only means trouble while requests are running, so the
 * alert requires running requests (an idle model generates nothing and is fine).
 */
import type { ModelSpec, Platform } from "../spec/schema.js";
import type { AlertDef } from "./monitoring.js";
import { engineName } from "./names.js";
import { engineSeriesNames, selector } from "./promql.js";
import { inClusterStores } from "./stores.js";

const GROUP = "inferplane-engines";

/** A histogram whose every observation lands in the bucket above `threshold` (p99 ≈ 4 × threshold), or below it. */
function histogram(name: string, labels: string, threshold: number, above: boolean) {
  const b = (le: string) => `${name}_bucket{${labels},le="${le}"}`;
  return [
    { series: b(String(threshold)), values: above ? "0x20" : "0+10x20" },
    { series: b(String(threshold * 4)), values: "0+10x20" },
    { series: b("+Inf"), values: "0+10x20" },
  ];
}

export function servingAlertDefs(p: Platform, models: readonly ModelSpec[]): AlertDef[] {
  const ns = p.metadata.namespace;
  const a = p.observability.alerts;
  const out: AlertDef[] = [];
  const m0 = models[0];
  if (!m0) return out;
  const pod = `${engineName(m0)}-0`;
  const podLabels = `namespace="${ns}",pod="${pod}"`;

  const e2e = engineSeriesNames(models, "e2eLatency");
  const e2eName = e2e[0];
  if (e2eName) {
    const t = a.e2eP99 / 1000;
    const labels = `${podLabels},model_name="m"`;
    out.push({
      group: GROUP,
      alert: "InferplaneEngineE2ELatencyHigh",
      expr: `histogram_quantile(0.99, sum by (le, namespace, model_name) (rate(${selector(e2e, `namespace="${ns}"`, "_bucket")}[5m]))) > ${t}`,
      for: "5m",
      severity: "warning",
      summary: "Engine p99 end-to-end request latency above objective",
      description: `p99 end-to-end latency of {{ $labels.model_name }} has been above ${t}s for 5 minutes.`,
      test: {
        series: histogram(e2eName, labels, t, true),
        evalTime: "15m",
        labels: { namespace: ns, model_name: "m" },
        quiet: [{ series: histogram(e2eName, labels, t, false), evalTime: "15m" }],
      },
    });
  }

  // Per model: each has its own max_num_seqs, so one `or` branch per model (one alert name).
  const running = models
    .map((m) => ({ m, names: engineSeriesNames([m], "running") }))
    .filter((x) => x.names.length > 0);
  const r0 = running[0];
  if (r0) {
    const f = a.runningSeqs;
    const branches = running.map(
      ({ m, names }) =>
        `(sum by (namespace, pod) (${selector(names, `namespace="${ns}",pod=~"${engineName(m)}-.*"`)}) > ${+(f * m.maxNumSeqs).toFixed(3)})`,
    );
    const runPod = `${engineName(r0.m)}-0`;
    const series = (n: number) => [
      { series: `${r0.names[0]}{namespace="${ns}",pod="${runPod}"}`, values: `${n}x15` },
    ];
    out.push({
      group: GROUP,
      alert: "InferplaneEngineRunningSeqsHigh",
      expr: branches.join(" or "),
      for: "5m",
      severity: "warning",
      summary: "Engine replica running close to its max_num_seqs",
      description: `{{ $labels.pod }} has run more than ${Math.round(f * 100)}% of its max_num_seqs for 5 minutes: new requests will queue.`,
      test: {
        series: series(Math.ceil(r0.m.maxNumSeqs * Math.min(1, f + 0.1))),
        evalTime: "10m",
        labels: { namespace: ns, pod: runPod },
        quiet: [{ series: series(Math.floor(r0.m.maxNumSeqs * f * 0.5)), evalTime: "10m" }],
      },
    });
  }

  const gen = engineSeriesNames(models, "generationTokens");
  const run = engineSeriesNames(models, "running");
  const genName = gen[0];
  const runName = run[0];
  if (genName && runName) {
    const floor = a.minGenerationTokensPerSecond;
    const labels = `${podLabels},model_name="m"`;
    // Counter increments per 1m sample: tokens/s × 60.
    const cases = (tokensPerSecond: number, runningNow: number) => [
      { series: `${genName}{${labels}}`, values: `0+${tokensPerSecond * 60}x20` },
      { series: `${runName}{${labels}}`, values: `${runningNow}x20` },
    ];
    out.push({
      group: GROUP,
      alert: "InferplaneEngineGenerationThroughputLow",
      expr: `sum by (namespace, model_name) (rate(${selector(gen, `namespace="${ns}"`)}[5m])) < ${floor} and on (namespace, model_name) sum by (namespace, model_name) (${selector(run, `namespace="${ns}"`)}) > 0`,
      for: "10m",
      severity: "warning",
      summary: "Busy model generating fewer tokens per second than expected",
      description: `{{ $labels.model_name }} has generated under ${floor} tokens/s for 10 minutes while running requests.`,
      test: {
        series: cases(floor / 2, 4),
        evalTime: "18m",
        labels: { namespace: ns, model_name: "m" },
        quiet: [
          { series: cases(floor * 2, 4), evalTime: "18m" },
          { series: cases(0, 0), evalTime: "18m" },
        ],
      },
    });
  }
  return out;
}

/**
 * Milvus proxy search latency: `milvus_proxy_sq_latency` (histogram, labels node_id, query_type,
 * …), observed in MILLISECONDS (milvus-io/milvus pkg/metrics/proxy_metrics.go `ProxySQLatency`;
 * internal/proxy/impl.go observes `tr.ElapseSpan().Milliseconds()` with query_type="search").
 * The guide's `> 2` therefore alerted at 2 ms: the threshold is converted to ms.
 */
export function milvusAlertDefs(p: Platform): AlertDef[] {
  const out: AlertDef[] = [];
  const milvus = inClusterStores(p).filter((s) => s.kind === "milvus");
  for (const s of milvus.slice(0, 1)) {
    const ms = p.observability.alerts.milvusSearchP99;
    const labels = `namespace="${s.namespace}",pod="${s.app}-0",node_id="1",query_type="search"`;
    out.push({
      group: "inferplane-rag",
      alert: "InferplaneMilvusSearchLatencyHigh",
      expr: `histogram_quantile(0.99, sum by (le, namespace) (rate(milvus_proxy_sq_latency_bucket{namespace="${s.namespace}",query_type="search"}[5m]))) > ${ms}`,
      for: "5m",
      severity: "warning",
      summary: "Milvus p99 search latency above objective",
      description: `p99 Milvus search latency in {{ $labels.namespace }} has been above ${ms / 1000}s for 5 minutes.`,
      test: {
        series: histogram("milvus_proxy_sq_latency", labels, ms, true),
        evalTime: "15m",
        labels: { namespace: s.namespace },
        quiet: [{ series: histogram("milvus_proxy_sq_latency", labels, ms, false), evalTime: "15m" }],
      },
    });
  }
  return out;
}
