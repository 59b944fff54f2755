/**
 * `observability.stack: bring`: the monitoring stack as pinned k3s helm-controller HelmCharts
 * (like the GPU Operator's), wired to what the compiler renders elsewhere:
 *
 * - kube-prometheus-stack 67.8.0 (prometheus-community/helm-charts charts/kube-prometheus-stack/
 *   Chart.yaml: version 67.8.0, operator v0.79.2, Grafana chart 8.8.*): Prometheus selects every
 *   PodMonitor, ServiceMonitor and PrometheusRule in every namespace (the `*NilUsesHelmValues:
 *   false` switches; otherwise only the release's own labelled objects are read), accepts the
 *   OTel collector's remote write (`enableRemoteWriteReceiver`), and its `prometheus-operated`
 *   Service is the one KEDA and the collector already name; Grafana's sidecar loads every
 *   ConfigMap labelled `grafana_dashboard: "1"` in every namespace (engine, gateway, RAG and GPU
 *   dashboards), with Loki and Jaeger added as data sources.
 * - Loki 6.29.0 (grafana/loki production/helm/loki/Chart.yaml: version 6.29.0, Loki 3.4.2) as one
 *   single binary on the filesystem; its `loki-gateway` Service takes the collector's OTLP logs.
 * - Jaeger 4.0.1 (jaegertracing/helm-charts charts/jaeger/Chart.yaml: version 4.0.1, Jaeger
 *   2.13.0) all-in-one in memory; its `jaeger-collector` Service takes OTLP on 4317/4318
 *   (templates/allinone-collector-svc.yaml) and `jaeger-query` serves the UI and API on 16686.
 *
 * HelmCharts live in kube-system (helm-controller's usual home, always present) and install into
 * the monitoring namespace, which they create.
 */
import type { Platform } from "../spec/schema.js";
import { MONITORING_NAMESPACE } from "./names.js";
import type { PlacedObject } from "./types.js";
import { toYaml } from "./yaml.js";

export const STACK_DIR = "cluster/observability";
export const STACK_NAMESPACE = "kube-system";

export const STACK_CHARTS = {
  "kube-prometheus-stack": {
    repo: "https://prometheus-community.github.io/helm-charts",
    version: "67.8.0",
  },
  loki: { repo: "https://grafana.github.io/helm-charts", version: "6.29.0" },
  jaeger: { repo: "https://jaegertracing.github.io/helm-charts", version: "4.0.1" },
} as const;

const mon = MONITORING_NAMESPACE;

export function kubePrometheusStackValues(): Record<string, unknown> {
  return {
    prometheus: {
      prometheusSpec: {
        enableRemoteWriteReceiver: true,
        ruleSelectorNilUsesHelmValues: false,
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        probeSelectorNilUsesHelmValues: false,
      },
    },
    grafana: {
      sidecar: {
        dashboards: { enabled: true, label: "grafana_dashboard", labelValue: "1", searchNamespace: "ALL" },
      },
      additionalDataSources: [
        { name: "Loki", uid: "loki", type: "loki", access: "proxy", url: `http://loki-gateway.${mon}.svc` },
        {
          name: "Jaeger",
          uid: "jaeger",
          type: "jaeger",
          access: "proxy",
          url: `http://jaeger-query.${mon}.svc:16686`,
        },
      ],
    },
  };
}

export function lokiValues(): Record<string, unknown> {
  return {
    deploymentMode: "SingleBinary",
    loki: {
      auth_enabled: false,
      commonConfig: { replication_factor: 1 },
      storage: { type: "filesystem" },
      schemaConfig: {
        configs: [
          {
            from: "2024-04-01",
            store: "tsdb",
            object_store: "filesystem",
            schema: "v13",
            index: { prefix: "loki_index_", period: "24h" },
          },
        ],
      },
      // OTLP ingestion keeps resource attributes as structured metadata.
      limits_config: { allow_structured_metadata: true },
    },
    singleBinary: { replicas: 1 },
    read: { replicas: 0 },
    write: { replicas: 0 },
    backend: { replicas: 0 },
    chunksCache: { enabled: false },
    resultsCache: { enabled: false },
  };
}

export function jaegerValues(): Record<string, unknown> {
  return {
    provisionDataStore: { cassandra: false, elasticsearch: false, kafka: false },
    allInOne: { enabled: true },
    storage: { type: "memory" },
    agent: { enabled: false },
    collector: { enabled: false },
    query: { enabled: false },
  };
}

/** The stack's HelmCharts, or nothing under `assume`. */
export function observabilityStackObjects(p: Platform): PlacedObject[] {
  if (p.observability.stack !== "bring") return [];
  const values: Record<keyof typeof STACK_CHARTS, Record<string, unknown>> = {
    "kube-prometheus-stack": kubePrometheusStackValues(),
    loki: lokiValues(),
    jaeger: jaegerValues(),
  };
  return (Object.keys(STACK_CHARTS) as (keyof typeof STACK_CHARTS)[]).map((chart) => ({
    file: `${chart}.yaml`,
    object: {
      apiVersion: "helm.cattle.io/v1",
      kind: "HelmChart",
      metadata: {
        name: chart,
        namespace: STACK_NAMESPACE,
        labels: { "app.kubernetes.io/component": "observability" },
      },
      spec: {
        repo: STACK_CHARTS[chart].repo,
        chart,
        version: STACK_CHARTS[chart].version,
        targetNamespace: mon,
        createNamespace: true,
        valuesContent: toYaml(values[chart]),
      },
    },
  }));
}
