/**
 * Validation of rendered (or linted) objects: each object `.validate()`s against its
 * kubernetes-models / CRD model schema, then a strict pass rejects fields the schema does not
 * know (the models accept them, and Kubernetes would silently drop a misspelled field).
 *
 * The strict pass needs no second copy of the schemas: it runs the model's own compiled
 * validator over a Proxy that records which properties the validator looks up. A validator
 * probes every property its schema declares, so an own key it never asked for is unknown.
 * Objects the validator never probes at all are free-form (`x-kubernetes-preserve-unknown-fields`,
 * `additionalProperties` maps) and are skipped.
 */
import { Application } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application";
import { AppProject } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1/AppProject";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import { PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { Pod } from "kubernetes-models/v1/Pod";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { CRD_SHAPES, validateCustomResource } from "./crd-shapes.js";

interface Validatable {
  validate(): void;
}
type ModelClass = { new (data?: never): Validatable; prototype: Validatable };

const MODELS: Record<string, ModelClass> = {
  "v1/Namespace": Namespace as unknown as ModelClass,
  "v1/Service": Service as unknown as ModelClass,
  "v1/ConfigMap": ConfigMap as unknown as ModelClass,
  "v1/Secret": Secret as unknown as ModelClass,
  "v1/ServiceAccount": ServiceAccount as unknown as ModelClass,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim as unknown as ModelClass,
  "v1/Pod": Pod as unknown as ModelClass,
  "apps/v1/Deployment": Deployment as unknown as ModelClass,
  "apps/v1/StatefulSet": StatefulSet as unknown as ModelClass,
  "apps/v1/DaemonSet": DaemonSet as unknown as ModelClass,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget as unknown as ModelClass,
  "networking.k8s.io/v1/Ingress": Ingress as unknown as ModelClass,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy as unknown as ModelClass,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler as unknown as ModelClass,
  "monitoring.coreos.com/v1/PodMonitor": PodMonitor as unknown as ModelClass,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor as unknown as ModelClass,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule as unknown as ModelClass,
  "keda.sh/v1alpha1/ScaledObject": ScaledObject as unknown as ModelClass,
  "argoproj.io/v1alpha1/Application": Application as unknown as ModelClass,
  "argoproj.io/v1alpha1/AppProject": AppProject as unknown as ModelClass,
};

/**
 * k3s helm-controller's HelmChart (helm.cattle.io/v1) has no published model: its spec fields
 * (k3s-io/helm-controller pkg/apis/helm.cattle.io/v1/types.go), checked by name and type.
 */
const HELMCHART_SPEC: Record<string, "string" | "boolean" | "object" | "array"> = {
  targetNamespace: "string",
  createNamespace: "boolean",
  chart: "string",
  version: "string",
  repo: "string",
  repoCA: "string",
  repoCAConfigMap: "object",
  set: "object",
  jobImage: "string",
  backOffLimit: "string",
  timeout: "string",
  failurePolicy: "string",
  authSecret: "object",
  authPassCredentials: "boolean",
  insecureSkipTLSVerify: "boolean",
  plainHTTP: "boolean",
  dockerRegistrySecret: "object",
  podSecurityContext: "object",
  securityContext: "object",
  valuesContent: "string",
  valuesSecrets: "array",
  helmVersion: "string",
  bootstrap: "boolean",
  chartContent: "string",
};

const CORE_GROUPS = new Set(["v1", "apps", "policy", "networking.k8s.io", "autoscaling"]);

export interface ValidationProblem {
  /** JSON pointer inside the object, `""` for the object itself. */
  path: string;
  message: string;
}

export function modelKey(o: { apiVersion?: unknown; kind?: unknown }): string {
  return `${String(o.apiVersion)}/${String(o.kind)}`;
}

export function isModelled(o: { apiVersion?: unknown; kind?: unknown }): boolean {
  return modelKey(o) in MODELS || modelKey(o) === "helm.cattle.io/v1/HelmChart" || modelKey(o) in CRD_SHAPES;
}

interface Probe {
  path: string;
  obj: object;
  seen: Set<string>;
  probed: boolean;
  iterated: boolean;
}

function tracked(value: unknown, path: string, log: Probe[]): unknown {
  if (value === null || typeof value !== "object") return value;
  const rec: Probe = { path, obj: value, seen: new Set(), probed: false, iterated: false };
  log.push(rec);
  return new Proxy(value, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof prop !== "string") return v;
      rec.seen.add(prop);
      rec.probed = true;
      return Object.hasOwn(target, prop) ? tracked(v, `${path}/${prop}`, log) : v;
    },
    has(target, prop) {
      if (typeof prop === "string") {
        rec.seen.add(prop);
        rec.probed = true;
      }
      return Reflect.has(target, prop);
    },
    ownKeys(target) {
      rec.iterated = true;
      return Reflect.ownKeys(target);
    },
  });
}

/** Fields of `data` that the model's schema does not declare (JSON pointers). */
export function unknownFields(model: ModelClass, data: object): string[] {
  const log: Probe[] = [];
  try {
    model.prototype.validate.call(tracked(data, "", log) as Validatable);
  } catch {
    // schema errors are reported by the first pass
  }
  const out: string[] = [];
  for (const r of log) {
    if (!r.probed || r.iterated || Array.isArray(r.obj)) continue;
    for (const k of Object.keys(r.obj)) if (!r.seen.has(k)) out.push(`${r.path}/${k}`);
  }
  return [...new Set(out)].sort();
}

function validateHelmChart(o: Record<string, unknown>): ValidationProblem[] {
  const out: ValidationProblem[] = [];
  for (const k of Object.keys(o)) {
    if (!["apiVersion", "kind", "metadata", "spec", "status"].includes(k))
      out.push({ path: `/${k}`, message: "unknown field" });
  }
  const spec = o.spec;
  if (spec === null || typeof spec !== "object" || Array.isArray(spec))
    return [...out, { path: "/spec", message: "must be an object" }];
  for (const [k, v] of Object.entries(spec)) {
    const want = HELMCHART_SPEC[k];
    if (want === undefined) out.push({ path: `/spec/${k}`, message: "unknown field" });
    else {
      const got = Array.isArray(v) ? "array" : typeof v;
      if (got !== want) out.push({ path: `/spec/${k}`, message: `must be ${want}` });
    }
  }
  if (typeof (spec as Record<string, unknown>).chart !== "string")
    out.push({ path: "/spec/chart", message: "is required" });
  return out;
}

/** Schema errors and unknown fields of one object; objects no model covers give one problem. */
export function validateObject(o: unknown): ValidationProblem[] {
  if (o === null || typeof o !== "object" || Array.isArray(o))
    return [{ path: "", message: "not an object" }];
  const obj = o as Record<string, unknown>;
  const key = modelKey(obj);
  if (key === "helm.cattle.io/v1/HelmChart") return validateHelmChart(obj);
  const custom = validateCustomResource(key, obj);
  if (custom) return custom;
  const model = MODELS[key];
  if (!model) return [{ path: "", message: `no schema for ${key}` }];
  const out: ValidationProblem[] = [];
  try {
    new model(structuredClone(obj) as never).validate();
  } catch (err) {
    out.push({ path: "", message: err instanceof Error ? err.message : String(err) });
  }
  const crd = !CORE_GROUPS.has(String(obj.apiVersion).split("/")[0] ?? "");
  for (const f of unknownFields(model, obj)) {
    // The CRD models' generator strips every `description` key from the schemas, which also
    // drops properties named `description` (AppProject spec.description): not unknown.
    if (crd && f.endsWith("/description")) continue;
    out.push({ path: f, message: "unknown field (the schema does not declare it)" });
  }
  return out;
}
