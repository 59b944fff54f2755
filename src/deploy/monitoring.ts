/**
 * Monitoring: PrometheusRules (engine alerts on the engines' real metric names, thresholds on
 * 0–1 fractions as fractions; gateway SLO alerts; RAG alerts), each alert with the synthetic
 * series of a promtool unit test that must fire it; Grafana dashboards as ConfigMaps for the
 * Grafana sidecar; and the OpenTelemetry collector (the guide's pipelines, corrected).
 */
import type { ModelSpec, Platform } from "../spec/schema.js";
import { milvusAlertDefs, servingAlertDefs } from "./alerts-serving.js";
import { isDeployed } from "./engines.js";
import { engineName, GATEWAY_NAME, MONITORING_NAMESPACE } from "./names.js";
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

function metricModels(p: Platform): ModelSpec[] {
  return p.models.filter((m) => isDeployed(m) && (m.engine === "vllm" || m.engine === "tgi"));
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

/** The engines' alerts (queue, KV cache, preemptions, TTFT, pods down, serving), on their real metric names. */
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

// ------------------------------------------------------------------ dashboards

export interface Panel {
  title: string;
  type: "timeseries" | "gauge" | "stat";
  unit: string;
  exprs: { expr: string; legend: string }[];
  max?: number;
}

// Grafana variable syntax, not a template literal.
const DS = { type: "prometheus", uid: "$" + "{datasource}" };

// Each panel type's options with the defaults Grafana's panel schemas require (as published in
// the Grafana Foundation SDK: timeseries, gauge and stat panelcfg), so a strict decoder accepts
// the dashboard as it is, not only after Grafana's import fills them in.
const REDUCE = { calcs: ["lastNotNull"], fields: "", values: false };
function panelOptions(type: Panel["type"]): Record<string, unknown> {
  if (type === "timeseries")
    return {
      legend: { showLegend: true, displayMode: "list", placement: "bottom", calcs: [] },
      tooltip: { mode: "multi", sort: "none" },
    };
  if (type === "gauge")
    return {
      reduceOptions: REDUCE,
      orientation: "auto",
      showThresholdLabels: false,
      showThresholdMarkers: true,
      sizing: "auto",
      minVizWidth: 75,
      minVizHeight: 75,
    };
  return {
    reduceOptions: REDUCE,
    orientation: "auto",
    graphMode: "area",
    colorMode: "value",
    justifyMode: "auto",
    textMode: "auto",
    wideLayout: true,
    showPercentChange: false,
    percentChangeColorMode: "standard",
  };
}

export function dashboard(uid: string, title: string, panels: Panel[]): Record<string, unknown> {
  return {
    uid,
    title,
    tags: ["inferplane"],
    timezone: "browser",
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: "30s",
    time: { from: "now-6h", to: "now" },
    annotations: { list: [] },
    templating: {
      list: [
        { name: "datasource", label: "Data source", type: "datasource", query: "prometheus", hide: 0 },
        {
          name: "namespace",
          label: "Namespace",
          type: "query",
          datasource: DS,
          query: { query: "label_values(up, namespace)", refId: "namespace" },
          definition: "label_values(up, namespace)",
          refresh: 1,
          hide: 0,
        },
      ],
    },
    panels: panels.map((p, i) => ({
      id: i + 1,
      title: p.title,
      type: p.type,
      datasource: DS,
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: {
        defaults: { unit: p.unit, ...(p.max !== undefined ? { min: 0, max: p.max } : {}) },
        overrides: [],
      },
      options: panelOptions(p.type),
      targets: p.exprs.map((e, j) => ({
        refId: String.fromCharCode(65 + j),
        datasource: DS,
        expr: e.expr,
        legendFormat: e.legend,
      })),
    })),
  };
}

const NS = 'namespace="$namespace"';
const RI = "$__rate_interval";

function engineDashboard(p: Platform): Record<string, unknown> | null {
  const models = metricModels(p);
  if (models.length === 0) return null;
  const n = (key: Parameters<typeof engineSeriesNames>[1]) => engineSeriesNames(models, key);
  const panels: Panel[] = [];
  const q = (names: string[], f: (s: string) => string, legend: string) =>
    names.length > 0 ? [{ expr: f(selector(names, NS)), legend }] : [];
  const h = (names: string[], quantile: number) =>
    names.length > 0
      ? [
          {
            expr: `histogram_quantile(${quantile}, sum by (le, model_name) (rate(${selector(names, NS, "_bucket")}[${RI}])))`,
            legend: `p${Math.round(quantile * 100)} {{model_name}}`,
          },
        ]
      : [];
  panels.push({
    title: "Requests running and waiting",
    type: "timeseries",
    unit: "short",
    exprs: [
      ...q(n("running"), (s) => `sum by (pod) (${s})`, "running {{pod}}"),
      ...q(n("waiting"), (s) => `sum by (pod) (${s})`, "waiting {{pod}}"),
    ],
  });
  panels.push({
    title: "KV cache usage",
    type: "gauge",
    unit: "percentunit",
    max: 1,
    exprs: q(n("kvCacheUsage"), (s) => `max by (pod) (${s})`, "{{pod}}"),
  });
  panels.push({
    title: "Time to first token",
    type: "timeseries",
    unit: "s",
    exprs: [...h(n("ttft"), 0.5), ...h(n("ttft"), 0.99)],
  });
  panels.push({
    title: "Inter-token latency",
    type: "timeseries",
    unit: "s",
    exprs: [...h(n("itl"), 0.5), ...h(n("itl"), 0.99)],
  });
  panels.push({
    title: "End-to-end latency",
    type: "timeseries",
    unit: "s",
    exprs: [...h(n("e2eLatency"), 0.5), ...h(n("e2eLatency"), 0.9), ...h(n("e2eLatency"), 0.99)],
  });
  panels.push({
    title: "Tokens per second",
    type: "timeseries",
    unit: "short",
    exprs: [
      ...q(n("promptTokens"), (s) => `sum by (model_name) (rate(${s}[${RI}]))`, "prompt {{model_name}}"),
      ...q(
        n("generationTokens"),
        (s) => `sum by (model_name) (rate(${s}[${RI}]))`,
        "generated {{model_name}}",
      ),
    ],
  });
  const hits = n("prefixCacheHits");
  const queries = n("prefixCacheQueries");
  if (hits.length > 0 && queries.length > 0) {
    panels.push({
      title: "Prefix cache hit rate",
      type: "timeseries",
      unit: "percentunit",
      exprs: [
        {
          expr: `sum by (model_name) (rate(${selector(hits, NS)}[${RI}])) / sum by (model_name) (rate(${selector(queries, NS)}[${RI}]))`,
          legend: "{{model_name}}",
        },
      ],
    });
  }
  panels.push({
    title: "Preemptions",
    type: "timeseries",
    unit: "short",
    exprs: q(n("preemptions"), (s) => `sum by (pod) (increase(${s}[${RI}]))`, "{{pod}}"),
  });
  return dashboard(
    "inferplane-engines",
    "Inferplane / Engines",
    panels.filter((x) => x.exprs.length > 0),
  );
}

function gatewayDashboard(): Record<string, unknown> {
  const gq = (name: string, by: string, q: number) =>
    `histogram_quantile(${q}, sum by (le, ${by}) (rate(${name}_bucket{${NS}}[${RI}])))`;
  return dashboard("inferplane-gateway", "Inferplane / Gateway", [
    {
      title: "Requests per second by status",
      type: "timeseries",
      unit: "reqps",
      exprs: [
        { expr: `sum by (code) (rate(inferplane_gateway_requests_total{${NS}}[${RI}]))`, legend: "{{code}}" },
      ],
    },
    {
      title: "Error ratio (5xx)",
      type: "stat",
      unit: "percentunit",
      exprs: [
        {
          expr: `sum(rate(inferplane_gateway_requests_total{${NS},code=~"5.."}[${RI}])) / sum(rate(inferplane_gateway_requests_total{${NS}}[${RI}]))`,
          legend: "5xx",
        },
      ],
    },
    {
      title: "Time to first token (p50 / p99)",
      type: "timeseries",
      unit: "s",
      exprs: [
        {
          expr: gq("gen_ai_server_time_to_first_token_seconds", "gen_ai_request_model", 0.5),
          legend: "p50 {{gen_ai_request_model}}",
        },
        {
          expr: gq("gen_ai_server_time_to_first_token_seconds", "gen_ai_request_model", 0.99),
          legend: "p99 {{gen_ai_request_model}}",
        },
      ],
    },
    {
      title: "Time per output token (p50 / p99)",
      type: "timeseries",
      unit: "s",
      exprs: [
        {
          expr: gq("gen_ai_server_time_per_output_token_seconds", "gen_ai_request_model", 0.5),
          legend: "p50 {{gen_ai_request_model}}",
        },
        {
          expr: gq("gen_ai_server_time_per_output_token_seconds", "gen_ai_request_model", 0.99),
          legend: "p99 {{gen_ai_request_model}}",
        },
      ],
    },
    {
      title: "Gateway overhead (p99)",
      type: "timeseries",
      unit: "s",
      exprs: [
        {
          expr: `histogram_quantile(0.99, sum by (le) (rate(inferplane_gateway_overhead_seconds_bucket{${NS}}[${RI}])))`,
          legend: "p99",
        },
      ],
    },
    {
      title: "Healthy endpoints per pool",
      type: "timeseries",
      unit: "short",
      exprs: [
        {
          expr: `max by (pool, endpoint) (inferplane_gateway_endpoint_up{${NS}})`,
          legend: "{{pool}} {{endpoint}}",
        },
      ],
    },
    {
      title: "Retries, fallbacks and queue refusals",
      type: "timeseries",
      unit: "short",
      exprs: [
        {
          expr: `sum by (pool) (rate(inferplane_gateway_retries_total{${NS}}[${RI}]))`,
          legend: "retries {{pool}}",
        },
        {
          expr: `sum by (route) (rate(inferplane_gateway_fallbacks_total{${NS}}[${RI}]))`,
          legend: "fallbacks {{route}}",
        },
        {
          expr: `sum by (route) (rate(inferplane_gateway_rate_limited_total{${NS}}[${RI}]))`,
          legend: "429 {{route}}",
        },
      ],
    },
    {
      title: "Tokens per request",
      type: "timeseries",
      unit: "short",
      exprs: [
        {
          expr: `sum by (gen_ai_token_type) (rate(gen_ai_client_token_usage_sum{${NS}}[${RI}])) / sum by (gen_ai_token_type) (rate(gen_ai_client_token_usage_count{${NS}}[${RI}]))`,
          legend: "{{gen_ai_token_type}}",
        },
      ],
    },
  ]);
}

function ragDashboard(): Record<string, unknown> {
  return dashboard("inferplane-rag", "Inferplane / RAG", [
    {
      title: "Stage latency (p50 / p95)",
      type: "timeseries",
      unit: "s",
      exprs: [
        {
          expr: `histogram_quantile(0.5, sum by (le, stage) (rate(inferplane_rag_stage_duration_seconds_bucket{${NS}}[${RI}])))`,
          legend: "p50 {{stage}}",
        },
        {
          expr: `histogram_quantile(0.95, sum by (le, stage) (rate(inferplane_rag_stage_duration_seconds_bucket{${NS}}[${RI}])))`,
          legend: "p95 {{stage}}",
        },
      ],
    },
    {
      title: "Store errors",
      type: "timeseries",
      unit: "short",
      exprs: [
        {
          expr: `sum by (store, op) (rate(inferplane_rag_store_errors_total{${NS}}[${RI}]))`,
          legend: "{{store}} {{op}}",
        },
      ],
    },
    {
      title: "Documents and chunks ingested",
      type: "timeseries",
      unit: "short",
      exprs: [
        {
          expr: `sum by (collection, result) (rate(inferplane_rag_documents_ingested_total{${NS}}[${RI}]))`,
          legend: "documents {{collection}} {{result}}",
        },
        {
          expr: `sum by (collection) (rate(inferplane_rag_chunks_ingested_total{${NS}}[${RI}]))`,
          legend: "chunks {{collection}}",
        },
      ],
    },
  ]);
}

export function dashboards(p: Platform): { name: string; json: Record<string, unknown> }[] {
  if (!p.observability.dashboards.grafana) return [];
  const out: { name: string; json: Record<string, unknown> }[] = [
    { name: "gateway", json: gatewayDashboard() },
  ];
  const engines = engineDashboard(p);
  if (engines) out.push({ name: "engines", json: engines });
  if (p.rag?.enabled) out.push({ name: "rag", json: ragDashboard() });
  return out;
}

/** Dashboards as ConfigMaps the Grafana sidecar picks up (label `grafana_dashboard: "1"`). */
export function dashboardConfigMaps(p: Platform): K8sObject[] {
  return dashboards(p).map((d) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: `inferplane-dashboard-${d.name}`,
      labels: { grafana_dashboard: "1", "app.kubernetes.io/component": "monitoring" },
    },
    data: { [`inferplane-${d.name}.json`]: `${JSON.stringify(d.json, null, 2)}\n` },
  }));
}

/** Every PromQL expression of a dashboard. */
export function dashboardExprs(json: unknown): string[] {
  const panels = (json as { panels?: { targets?: { expr?: string }[] }[] }).panels ?? [];
  return panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ""));
}

// ------------------------------------------------------------------ OpenTelemetry collector

export const OTEL_IMAGE = "otel/opentelemetry-collector-contrib:0.114.0";

/**
 * The guide's pipelines (OTLP in; metrics to Prometheus remote write, traces to Jaeger, logs to
 * Loki), corrected: engines stay scraped by Prometheus through their PodMonitors (the guide also
 * scraped one Service address, which reaches a random pod and double-ingests); logs go to Loki's
 * OTLP endpoint (the `loki` exporter is deprecated); memory_limiter first, batch last, and a
 * health_check extension for the probes.
 */
export function otelCollectorConfig(): Record<string, unknown> {
  const mon = MONITORING_NAMESPACE;
  return {
    extensions: { health_check: { endpoint: "0.0.0.0:13133" } },
    receivers: {
      otlp: { protocols: { grpc: { endpoint: "0.0.0.0:4317" }, http: { endpoint: "0.0.0.0:4318" } } },
    },
    processors: {
      memory_limiter: { check_interval: "5s", limit_percentage: 80, spike_limit_percentage: 20 },
      batch: { timeout: "10s", send_batch_size: 1024 },
    },
    exporters: {
      prometheusremotewrite: { endpoint: `http://prometheus-operated.${mon}.svc:9090/api/v1/write` },
      "otlphttp/jaeger": { endpoint: `http://jaeger-collector.${mon}.svc:4318` },
      "otlphttp/loki": { endpoint: `http://loki-gateway.${mon}.svc/otlp` },
    },
    service: {
      extensions: ["health_check"],
      pipelines: {
        metrics: {
          receivers: ["otlp"],
          processors: ["memory_limiter", "batch"],
          exporters: ["prometheusremotewrite"],
        },
        traces: {
          receivers: ["otlp"],
          processors: ["memory_limiter", "batch"],
          exporters: ["otlphttp/jaeger"],
        },
        logs: { receivers: ["otlp"], processors: ["memory_limiter", "batch"], exporters: ["otlphttp/loki"] },
      },
    },
  };
}

/** The collector's objects, named after the Service the spec's otlpEndpoint points at. */
export function otelCollectorObjects(service: string): K8sObject[] {
  const labels = { "app.kubernetes.io/name": service, "app.kubernetes.io/component": "otel-collector" };
  const sel = { "app.kubernetes.io/name": service };
  return [
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: `${service}-config`, labels },
      data: { "config.yaml": toYaml(otelCollectorConfig()) },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: service, labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: sel },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: "otel-collector",
                image: OTEL_IMAGE,
                args: ["--config=/etc/otelcol-contrib/config.yaml"],
                ports: [
                  { name: "otlp-grpc", containerPort: 4317, protocol: "TCP" },
                  { name: "otlp-http", containerPort: 4318, protocol: "TCP" },
                  { name: "health", containerPort: 13133, protocol: "TCP" },
                ],
                resources: {
                  requests: { cpu: "500m", memory: "512Mi" },
                  limits: { cpu: "1", memory: "1Gi" },
                },
                readinessProbe: { httpGet: { path: "/", port: "health" }, periodSeconds: 10 },
                livenessProbe: { httpGet: { path: "/", port: "health" }, periodSeconds: 15 },
                volumeMounts: [{ name: "config", mountPath: "/etc/otelcol-contrib" }],
              },
            ],
            volumes: [{ name: "config", configMap: { name: `${service}-config` } }],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: service, labels },
      spec: {
        selector: sel,
        ports: [
          { name: "otlp-grpc", port: 4317, targetPort: "otlp-grpc", protocol: "TCP" },
          { name: "otlp-http", port: 4318, targetPort: "otlp-http", protocol: "TCP" },
        ],
      },
    },
  ];
}
