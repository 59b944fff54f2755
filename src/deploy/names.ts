/**
 * Object names and labels every generator agrees on. Selectors use only
 * `app.kubernetes.io/name`, so labels added later (kustomize `labels`, environments) never
 * change a selector, which Kubernetes forbids on an existing Deployment.
 */
import type { ModelSpec, Platform } from "../spec/schema.js";

export const MANAGED_BY = "inferplane";
export const GATEWAY_NAME = "inferplane-gateway";
export const REDIS_NAME = "inferplane-redis";
export const OTEL_NAME = "otel-collector";
/** Namespace Prometheus and Grafana run in (kube-prometheus-stack's usual home). */
export const MONITORING_NAMESPACE = "monitoring";
export const GPU_OPERATOR_NAMESPACE = "gpu-operator";

/** The engine Deployment, Service, PodMonitor and autoscaler of a model: `vllm-qwen-7b`. */
export function engineName(m: Pick<ModelSpec, "engine" | "name">): string {
  return m.name.startsWith(`${m.engine}-`) ? m.name : `${m.engine}-${m.name}`;
}

export function configMapName(p: Platform): string {
  return `${p.metadata.name}-config`;
}

/** The Secret holding every `*Env` value the spec names (keys are the variable names). */
export function secretName(p: Platform): string {
  return `${p.metadata.name}-secrets`;
}

export function selectorLabels(name: string): Record<string, string> {
  return { "app.kubernetes.io/name": name };
}

export function componentLabels(name: string, component: string, extra: Record<string, string> = {}) {
  return { ...selectorLabels(name), "app.kubernetes.io/component": component, ...extra };
}

/** The Prometheus that KEDA queries: prometheus-operator's `prometheus-operated` Service. */
export const PROMETHEUS_URL = `http://prometheus-operated.${MONITORING_NAMESPACE}.svc:9090`;
