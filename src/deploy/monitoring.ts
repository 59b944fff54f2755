/**
 * Monitoring: the PrometheusRule's alerts (alerts.ts, re-exported here), Grafana dashboards as
 * ConfigMaps for the Grafana sidecar, and the OpenTelemetry collector (the guide's pipelines,
 * corrected).
 */
import type { Platform } from "../spec/schema.js";
import { metricModels } from "./alerts.js";
import { MONITORING_NAMESPACE } from "./names.js";
import { engineSeriesNames, selector } from "./promql.js";
import type { K8sObject } from "./types.js";
import { toYaml } from "./yaml.js";

export {
  type AlertDef,
  type AlertTest,
  alertDefs,
  prometheusRule,
  promtoolQuietTests,
  promtoolTests,
  ruleGroups,
} from "./alerts.js";

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
