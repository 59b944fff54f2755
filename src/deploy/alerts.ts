/**
 * The platform's alerts (PrometheusRule): engine alerts on the engines' real metric names,
 * thresholds on 0–1 fractions as fractions, gateway SLO alerts and RAG alerts; each alert carries
 * the synthetic series of a promtool unit test that must fire it (and, where it has them, the
 * series that must leave it silent).
 */
import { engineDefinition } from "../engines/index.js";
import type { ModelSpec, Platform } from "../spec/schema.js";
import { milvusAlertDefs, servingAlertDefs } from "./alerts-serving.js";
import { isDeployed } from "./engines.js";
import { engineName, GATEWAY_NAME } from "./names.js";
import { engineSeriesNames, selector } from "./promql.js";
import { inClusterStores } from "./stores.js";
import type { K8sObject } from "./types.js";
import { toYaml } from "./yaml.js";

export interface AlertTest {
  /** promtool `input_series` (interval 1m). */
  series: { series: string; values: string }[];
  evalTime: string;
  /** Labels of the one alert the series must fire (alertname and severity excluded). */
  labels: Record<string, string>;
  /** Series on which the alert must stay silent (same interval). */
  quiet?: { series: { series: string; values: string }[]; evalTime: string }[];
}

export interface AlertDef {
  group: string;
  alert: string;
  expr: string;
  for: string;
  severity: "warning" | "critical";
  summary: string;
  /** May use `{{ $labels.<name> }}` only (so tests can expand it exactly). */
  description: string;
  test: AlertTest;
}

/** Deployed models whose engines' metrics carry the serving alerts and dashboards (vLLM, TGI). */
export function metricModels(p: Platform): ModelSpec[] {
  return p.models.filter((m) => isDeployed(m) && engineDefinition(m.engine).servingAlerts);
}

function seconds(ms: number): string {
  return String(ms / 1000);
}

/** Every alert of the platform, with its unit-test fixture: engines, gateway, then RAG. */
export function alertDefs(p: Platform): AlertDef[] {
  const models = metricModels(p);
  return [
    ...(models.length > 0 ? engineAlertDefs(p, models) : []),
    ...gatewayAlertDefs(p),
    ...(p.rag?.enabled ? ragAlertDefs(p) : []),
  ];
}

/**
 * The engines' alerts (queue, KV cache, preemptions, TTFT, pods down, serving), on their real
 * metric names. Over 120 lines: one literal per alert, each with its promtool fixture.
 */
function engineAlertDefs(p: Platform, models: ModelSpec[]): AlertDef[] {
  const ns = p.metadata.namespace;
  const a = p.observability.alerts;
  const out: AlertDef[] = [];
  const pod = models[0] ? `${engineName(models[0])}-0` : "engine-0";
  const podRe = models.map(engineName).join("|");
  const waiting = engineSeriesNames(models, "waiting");
  const kv = engineSeriesNames(models, "kvCacheUsage");
  const preempt = engineSeriesNames(models, "preemptions");
  const ttft = engineSeriesNames(models, "ttft");
  const m0 = (names: string[]) => names[0] ?? "";
  const podLabels = `namespace="${ns}",pod="${pod}"`;
  if (waiting.length > 0) {
    out.push({
      group: "inferplane-engines",
      alert: "InferplaneEngineQueueDepth",
      expr: `sum by (namespace, pod) (${selector(waiting, `namespace="${ns}"`)}) > ${a.queueDepth}`,
      for: "5m",
      severity: "warning",
      summary: "Requests are queueing in an engine replica",
      description: `{{ $labels.pod }} has had more than ${a.queueDepth} waiting requests for 5 minutes.`,
      test: {
        series: [{ series: `${m0(waiting)}{${podLabels}}`, values: `${a.queueDepth * 2}x15` }],
        evalTime: "10m",
        labels: { namespace: ns, pod },
      },
    });
    out.push({
      group: "inferplane-engines",
      alert: "InferplaneEngineMetricsMissing",
      expr: `absent(${selector(waiting, `namespace="${ns}"`)})`,
      for: "10m",
      severity: "warning",
      summary: "No engine queue metric: autoscaling and load-aware routing are blind",
      description: `No ${waiting.join(" or ")} series in namespace {{ $labels.namespace }} for 10 minutes (renamed metric, or scraping broken).`,
      test: {
        series: [{ series: `up{${podLabels}}`, values: "1x15" }],
        evalTime: "15m",
        labels: { namespace: ns },
      },
    });
  }
  if (kv.length > 0) {
    out.push({
      group: "inferplane-engines",
      alert: "InferplaneEngineKVCacheFull",
      // A 0–1 fraction: the threshold is a fraction too.
      expr: `max by (namespace, pod) (${selector(kv, `namespace="${ns}"`)}) > ${a.kvCacheUsage}`,
      for: "5m",
      severity: "warning",
      summary: "Engine KV cache nearly full",
      description: `{{ $labels.pod }} has used more than ${Math.round(a.kvCacheUsage * 100)}% of its KV cache for 5 minutes; requests will queue or be preempted.`,
      test: {
        series: [
          {
            series: `${m0(kv)}{${podLabels}}`,
            values: `${Math.min(1, a.kvCacheUsage + 0.05).toFixed(2)}x15`,
          },
        ],
        evalTime: "10m",
        labels: { namespace: ns, pod },
      },
    });
  }
  if (preempt.length > 0) {
    out.push({
      group: "inferplane-engines",
      alert: "InferplaneEnginePreemptions",
      expr: `sum by (namespace, pod) (increase(${selector(preempt, `namespace="${ns}"`)}[5m])) > 0`,
      for: "5m",
      severity: "warning",
      summary: "Engine preempting requests",
      description:
        "{{ $labels.pod }} has preempted requests for 5 minutes: its KV cache is too small for the load.",
      test: {
        series: [{ series: `${m0(preempt)}{${podLabels}}`, values: "0+3x20" }],
        evalTime: "15m",
        labels: { namespace: ns, pod },
      },
    });
  }
  if (ttft.length > 0) {
    const t = Number(seconds(a.ttftP99));
    const bucket = (le: string) => `${m0(ttft)}_bucket{${podLabels},model_name="m",le="${le}"}`;
    out.push({
      group: "inferplane-engines",
      alert: "InferplaneEngineTTFTHigh",
      expr: `histogram_quantile(0.99, sum by (le, namespace, model_name) (rate(${selector(ttft, `namespace="${ns}"`, "_bucket")}[5m]))) > ${t}`,
      for: "5m",
      severity: "critical",
      summary: "Engine p99 time to first token above objective",
      description: `p99 time to first token of {{ $labels.model_name }} has been above ${t}s for 5 minutes.`,
      test: {
        // Every request lands above the threshold: the p99 interpolates inside the last bucket.
        series: [
          { series: bucket(String(t)), values: "0x20" },
          { series: bucket(String(t * 4)), values: "0+10x20" },
          { series: bucket("+Inf"), values: "0+10x20" },
        ],
        evalTime: "15m",
        labels: { namespace: ns, model_name: "m" },
      },
    });
  }
  out.push(...servingAlertDefs(p, models));
  out.push({
    group: "inferplane-engines",
    alert: "InferplaneEngineDown",
    expr: `up{namespace="${ns}",pod=~"(${podRe})-.*"} == 0`,
    for: "5m",
    severity: "critical",
    summary: "Engine replica not answering its metrics scrape",
    description: "{{ $labels.pod }} has been down for 5 minutes.",
    test: {
      series: [{ series: `up{${podLabels},job="j",instance="i"}`, values: "0x15" }],
      evalTime: "10m",
      labels: { namespace: ns, pod, job: "j", instance: "i" },
    },
  });
  return out;
}

/** The gateway's SLO alerts: 5xx rate, TTFT objective, pools without endpoints, full queues. */
function gatewayAlertDefs(p: Platform): AlertDef[] {
  const ns = p.metadata.namespace;
  const a = p.observability.alerts;
  const out: AlertDef[] = [];
  const gw = `namespace="${ns}"`;
  const gwPod = `${GATEWAY_NAME}-0`;
  out.push({
    group: "inferplane-gateway",
    alert: "InferplaneGatewayErrorRate",
    expr: `sum by (namespace) (rate(inferplane_gateway_requests_total{${gw},code=~"5.."}[5m])) / sum by (namespace) (rate(inferplane_gateway_requests_total{${gw}}[5m])) > 0.05`,
    for: "5m",
    severity: "critical",
    summary: "Gateway answering more than 5% of requests with 5xx",
    description: "More than 5% of requests in {{ $labels.namespace }} failed with 5xx for 5 minutes.",
    test: {
      series: [
        {
          series: `inferplane_gateway_requests_total{${gw},pod="${gwPod}",route="chat",pool="p",code="200"}`,
          values: "0+90x20",
        },
        {
          series: `inferplane_gateway_requests_total{${gw},pod="${gwPod}",route="chat",pool="p",code="503"}`,
          values: "0+10x20",
        },
      ],
      evalTime: "15m",
      labels: { namespace: ns },
    },
  });
  const ttftS = Number(seconds(a.ttftP99));
  const gwBucket = (le: string) =>
    `gen_ai_server_time_to_first_token_seconds_bucket{${gw},pod="${gwPod}",gen_ai_request_model="chat",le="${le}"}`;
  out.push({
    group: "inferplane-gateway",
    alert: "InferplaneGatewayTTFTHigh",
    expr: `histogram_quantile(0.99, sum by (le, namespace, gen_ai_request_model) (rate(gen_ai_server_time_to_first_token_seconds_bucket{${gw}}[5m]))) > ${ttftS}`,
    for: "5m",
    severity: "warning",
    summary: "p99 time to first token through the gateway above objective",
    description: `p99 time to first token of {{ $labels.gen_ai_request_model }} has been above ${ttftS}s for 5 minutes.`,
    test: {
      series: [
        { series: gwBucket(String(ttftS)), values: "0x20" },
        { series: gwBucket(String(ttftS * 4)), values: "0+10x20" },
        { series: gwBucket("+Inf"), values: "0+10x20" },
      ],
      evalTime: "15m",
      labels: { namespace: ns, gen_ai_request_model: "chat" },
    },
  });
  out.push({
    group: "inferplane-gateway",
    alert: "InferplaneGatewayPoolWithoutEndpoints",
    expr: `max by (namespace, pool) (inferplane_gateway_endpoint_up{${gw}}) == 0`,
    for: "2m",
    severity: "critical",
    summary: "A pool has no healthy endpoint",
    description:
      "Pool {{ $labels.pool }} has had no healthy endpoint for 2 minutes; its routes fail or fall back.",
    test: {
      series: [
        {
          series: `inferplane_gateway_endpoint_up{${gw},pod="${gwPod}",pool="p",endpoint="e"}`,
          values: "0x10",
        },
      ],
      evalTime: "5m",
      labels: { namespace: ns, pool: "p" },
    },
  });
  out.push({
    group: "inferplane-gateway",
    alert: "InferplaneGatewayQueueFull",
    expr: `sum by (namespace, route) (rate(inferplane_gateway_rate_limited_total{${gw},reason="queue"}[5m])) > 0`,
    for: "5m",
    severity: "warning",
    summary: "Gateway refusing requests because a pool's queue is full",
    description:
      "Route {{ $labels.route }} has been answering 429 (pool queue full) for 5 minutes: add replicas.",
    test: {
      series: [
        {
          series: `inferplane_gateway_rate_limited_total{${gw},pod="${gwPod}",route="chat",reason="queue"}`,
          values: "0+5x20",
        },
      ],
      evalTime: "15m",
      labels: { namespace: ns, route: "chat" },
    },
  });
  return out;
}

/** RAG alerts: store errors, slow stages, Milvus, and in-cluster store pods down. */
function ragAlertDefs(p: Platform): AlertDef[] {
  const ns = p.metadata.namespace;
  const gw = `namespace="${ns}"`;
  const gwPod = `${GATEWAY_NAME}-0`;
  const out: AlertDef[] = [];
  out.push({
    group: "inferplane-rag",
    alert: "InferplaneRagStoreErrors",
    expr: `sum by (namespace, store, op) (rate(inferplane_rag_store_errors_total{${gw}}[5m])) > 0`,
    for: "5m",
    severity: "critical",
    summary: "RAG store operations failing",
    description: "{{ $labels.op }} on the {{ $labels.store }} store has been failing for 5 minutes.",
    test: {
      series: [
        {
          series: `inferplane_rag_store_errors_total{${gw},pod="${gwPod}",store="vector",op="search"}`,
          values: "0+2x20",
        },
      ],
      evalTime: "15m",
      labels: { namespace: ns, store: "vector", op: "search" },
    },
  });
  const stage = (le: string) =>
    `inferplane_rag_stage_duration_seconds_bucket{${gw},pod="${gwPod}",stage="search",le="${le}"}`;
  out.push({
    group: "inferplane-rag",
    alert: "InferplaneRagStageSlow",
    expr: `histogram_quantile(0.95, sum by (le, namespace, stage) (rate(inferplane_rag_stage_duration_seconds_bucket{${gw}}[5m]))) > 2`,
    for: "10m",
    severity: "warning",
    summary: "A RAG stage is slow",
    description: "p95 of the {{ $labels.stage }} stage has been above 2s for 10 minutes.",
    test: {
      series: [
        { series: stage("2"), values: "0x25" },
        { series: stage("8"), values: "0+10x25" },
        { series: stage("+Inf"), values: "0+10x25" },
      ],
      evalTime: "20m",
      labels: { namespace: ns, stage: "search" },
    },
  });
  out.push(...milvusAlertDefs(p));
  const stores = inClusterStores(p);
  for (const storeNs of [...new Set(stores.map((s) => s.namespace))]) {
    const apps = stores.filter((s) => s.namespace === storeNs).map((s) => s.app);
    const storePod = `${apps[0]}-0`;
    out.push({
      group: "inferplane-rag",
      alert: "InferplaneRagStoreDown",
      expr: `up{namespace="${storeNs}",pod=~"(${apps.join("|")})-.*"} == 0`,
      for: "5m",
      severity: "critical",
      summary: "RAG store pod down",
      description: "{{ $labels.pod }} in {{ $labels.namespace }} has been down for 5 minutes.",
      test: {
        series: [
          { series: `up{namespace="${storeNs}",pod="${storePod}",job="j",instance="i"}`, values: "0x15" },
        ],
        evalTime: "10m",
        labels: { namespace: storeNs, pod: storePod, job: "j", instance: "i" },
      },
    });
  }
  return out;
}

/** The rule groups as Prometheus reads them (`groups:`), shared by the PrometheusRule and promtool. */
export function ruleGroups(defs: readonly AlertDef[]): unknown[] {
  const groups = new Map<string, unknown[]>();
  for (const d of defs) {
    const rules = groups.get(d.group) ?? [];
    rules.push({
      alert: d.alert,
      expr: d.expr,
      for: d.for,
      labels: { severity: d.severity },
      annotations: { summary: d.summary, description: d.description },
    });
    groups.set(d.group, rules);
  }
  return [...groups].map(([name, rules]) => ({ name, rules }));
}

/** A promtool unit-test file: one test per alert, expecting exactly that alert with these labels. */
export function promtoolTests(defs: readonly AlertDef[], ruleFile: string): string {
  const expand = (text: string, labels: Record<string, string>) =>
    text.replace(/\{\{ \$labels\.([A-Za-z_]+) \}\}/g, (_, k: string) => labels[k] ?? "");
  const tests = defs.map((d) => ({
    interval: "1m",
    input_series: d.test.series,
    alert_rule_test: [
      {
        eval_time: d.test.evalTime,
        alertname: d.alert,
        exp_alerts: [
          {
            exp_labels: { ...d.test.labels, severity: d.severity },
            exp_annotations: { summary: d.summary, description: expand(d.description, d.test.labels) },
          },
        ],
      },
    ],
  }));
  return toYaml({ rule_files: [ruleFile], evaluation_interval: "1m", tests });
}

/** A promtool unit-test file of the silent cases: each alert's quiet series must fire nothing. */
export function promtoolQuietTests(defs: readonly AlertDef[], ruleFile: string): string {
  const tests = defs.flatMap((d) =>
    (d.test.quiet ?? []).map((q) => ({
      interval: "1m",
      input_series: q.series,
      alert_rule_test: [{ eval_time: q.evalTime, alertname: d.alert, exp_alerts: [] }],
    })),
  );
  return toYaml({ rule_files: [ruleFile], evaluation_interval: "1m", tests });
}

export function prometheusRule(p: Platform): K8sObject {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: {
      name: "inferplane-alerts",
      labels: { "app.kubernetes.io/name": "inferplane-alerts", "app.kubernetes.io/component": "monitoring" },
    },
    spec: { groups: ruleGroups(alertDefs(p)) },
  };
}
