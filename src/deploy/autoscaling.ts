/**
 * Autoscaling of engines on their own load metrics, as the spec chooses: a KEDA ScaledObject
 * with a Prometheus trigger, or an HPA with the prometheus-adapter rules that make the metric
 * readable. Never both on one Deployment (KEDA creates its own HPA, and the two would fight).
 *
 * Metric names come from the catalog at the engine's version, so vLLM gets its colon names
 * (`vllm:num_requests_waiting`) and the KV-cache gauge under the name that version exposes.
 */
import { type MetricKey, metricNames } from "../catalog/engines.js";
import { InferplaneError } from "../errors.js";
import { routesTo } from "../spec/checks.js";
import type { ModelSpec, Platform } from "../spec/schema.js";
import { isAutoscaled } from "./engines.js";
import { engineName, PROMETHEUS_URL } from "./names.js";
import type { ModelPlacement } from "./placement.js";
import type { K8sObject, PlacedObject } from "./types.js";

const METRIC_KEY: Record<string, MetricKey> = {
  num_requests_waiting: "waiting",
  num_requests_running: "running",
  kv_cache_usage: "kvCacheUsage",
};

/** The exposed series of the model's scaling metric at its engine version. */
export function scalingSeries(m: ModelSpec): { name: string; fraction: boolean } {
  const a = m.autoscaling;
  if (!a) throw new Error(`${m.name} is not autoscaled`);
  const key = METRIC_KEY[a.metric] ?? "waiting";
  const resolved = metricNames(m.engine, m.engineVersion)[key];
  const series = resolved?.exposed[0];
  if (!resolved || !series) {
    throw new InferplaneError(
      "spec_invalid",
      `model ${m.name}: engine ${m.engine} ${m.engineVersion ?? ""} exposes no ${a.metric} metric to autoscale on`,
    );
  }
  return { name: series.name, fraction: resolved.unit === "fraction" };
}

/** Target as Kubernetes reads it: a plain decimal string ("5", "0.8"). */
function targetString(m: ModelSpec, fraction: boolean): string {
  const t = m.autoscaling?.target ?? 5;
  if (fraction && t > 1) {
    throw new InferplaneError(
      "spec_invalid",
      `model ${m.name}: autoscaling.target ${t} on a 0–1 fraction can never be reached; write ${t / 100}`,
    );
  }
  return String(t);
}

/** PromQL summing the metric over the model's pods (namespace and pod labels come from the PodMonitor). */
export function scalingQuery(m: ModelSpec, namespace: string): string {
  const { name } = scalingSeries(m);
  return `sum(${name}{namespace="${namespace}",pod=~"${engineName(m)}-.*"})`;
}

function behavior(m: ModelSpec) {
  const a = m.autoscaling;
  return {
    scaleUp: {
      stabilizationWindowSeconds: Math.round((a?.scaleUpStabilization ?? 60_000) / 1000),
      policies: [{ type: "Pods", value: 2, periodSeconds: 60 }],
    },
    scaleDown: {
      stabilizationWindowSeconds: Math.round((a?.scaleDownStabilization ?? 300_000) / 1000),
      policies: [{ type: "Pods", value: 1, periodSeconds: 120 }],
    },
  };
}

/** Name prometheus-adapter exposes a colon metric under (colons are not legal there). */
export function adapterMetricName(series: string): string {
  return series.replace(/:/g, "_");
}

/** The autoscaler's ceiling: the spec's maxReplicas, capped at what the plan's inventory holds. */
export function replicaCeiling(m: ModelSpec, place: ModelPlacement | undefined): number {
  const max = m.autoscaling?.maxReplicas ?? m.replicas;
  const holds = place?.holds ?? null;
  return holds === null ? max : Math.max(m.autoscaling?.minReplicas ?? 1, Math.min(max, holds));
}

/**
 * Scale to zero: at zero pods the engine's metric does not exist, so KEDA activates on the
 * gateway's requests for the routes that reach the model (`inferplane_gateway_requests_total`
 * counts every answer, the 503s of a pool with no endpoint included). Its threshold is far
 * above any real rate, so it only ever asks for the first replica; the engine's own metric
 * scales from there.
 */
function activationTrigger(p: Platform, m: ModelSpec): Record<string, unknown> {
  const routes = routesTo(p, m).sort();
  return {
    type: "prometheus",
    name: "gateway-activation",
    metricType: "AverageValue",
    metadata: {
      serverAddress: PROMETHEUS_URL,
      query: `sum(rate(inferplane_gateway_requests_total{namespace="${p.metadata.namespace}",route=~"${routes.join("|")}"}[2m]))`,
      threshold: "1000000",
      activationThreshold: "0",
      ignoreNullValues: "true",
    },
  };
}

export function autoscalingObjects(p: Platform, m: ModelSpec, place?: ModelPlacement): PlacedObject[] {
  if (!isAutoscaled(m) || !m.autoscaling) return [];
  const a = m.autoscaling;
  const ceiling = replicaCeiling(m, place);
  const name = engineName(m);
  const series = scalingSeries(m);
  const target = targetString(m, series.fraction);
  const labels = { "app.kubernetes.io/name": name, "app.kubernetes.io/component": "autoscaler" };
  if (a.via === "keda") {
    const scaled: K8sObject = {
      apiVersion: "keda.sh/v1alpha1",
      kind: "ScaledObject",
      metadata: { name, labels },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
        minReplicaCount: a.minReplicas,
        maxReplicaCount: ceiling,
        pollingInterval: 15,
        cooldownPeriod: 300,
        advanced: { horizontalPodAutoscalerConfig: { behavior: behavior(m) } },
        triggers: [
          {
            type: "prometheus",
            metricType: "AverageValue",
            metadata: {
              serverAddress: PROMETHEUS_URL,
              query: scalingQuery(m, p.metadata.namespace),
              threshold: target,
              // A misspelled metric must fail loudly instead of reading as 0 (KEDA defaults to true).
              ignoreNullValues: "false",
            },
          },
          ...(a.minReplicas === 0 ? [activationTrigger(p, m)] : []),
        ],
      },
    };
    return [{ file: `engines/${name}/scaledobject.yaml`, object: scaled }];
  }
  const hpa: K8sObject = {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name, labels },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
      minReplicas: Math.max(1, a.minReplicas),
      maxReplicas: ceiling,
      metrics: [
        {
          type: "Pods",
          pods: {
            metric: { name: adapterMetricName(series.name) },
            target: { type: "AverageValue", averageValue: target },
          },
        },
      ],
      behavior: behavior(m),
    },
  };
  return [{ file: `engines/${name}/hpa.yaml`, object: hpa }];
}

/**
 * prometheus-adapter rules for every metric an HPA reads (kubernetes/examples
 * AI/vllm-deployment/hpa/prometheus-adapter.yaml): the colon series in PromQL, the underscore
 * name only as what the adapter exposes.
 */
export function prometheusAdapterRules(models: readonly ModelSpec[]): unknown[] {
  const seen = new Set<string>();
  const rules: unknown[] = [];
  for (const m of models) {
    if (!isAutoscaled(m) || m.autoscaling?.via !== "prometheus-adapter") continue;
    const { name } = scalingSeries(m);
    if (seen.has(name)) continue;
    seen.add(name);
    rules.push({
      seriesQuery: name,
      resources: { overrides: { namespace: { resource: "namespace" }, pod: { resource: "pod" } } },
      name: { matches: `^${name}$`, as: adapterMetricName(name) },
      metricsQuery: `sum(${name}{<<.LabelMatchers>>}) by (<<.GroupBy>>)`,
    });
  }
  return rules;
}
