/**
 * GitOps: an ArgoCD Application per environment (ignoreDifferences on /spec/replicas for every
 * autoscaled Deployment, so ArgoCD and the autoscaler do not fight), Applications for the
 * cluster-wide GPU Operator config and shared services, an AppProject, and an app-of-apps.
 */
import type { Platform } from "../spec/schema.js";
import { GPU_OPERATOR_NAMESPACE } from "./names.js";
import { notificationAnnotations } from "./notifications.js";
import type { K8sObject } from "./types.js";

export interface AppTarget {
  /** Application name suffix. */
  name: string;
  /** Directory under gitops.path. */
  dir: string;
  namespace: string;
  /** Deployments whose replicas an autoscaler owns. */
  autoscaled: string[];
}

type Gitops = NonNullable<Platform["gitops"]>;

function joinPath(...parts: string[]): string {
  return parts
    .map((x) => x.replace(/^\/+|\/+$/g, ""))
    .filter((x) => x !== "" && x !== ".")
    .join("/");
}

export function application(p: Platform, g: Gitops, t: AppTarget): K8sObject {
  const spec: Record<string, unknown> = {
    project: g.project,
    source: { repoURL: g.repoURL, targetRevision: g.targetRevision, path: joinPath(g.path, t.dir) },
    destination: { server: g.destinationServer, namespace: t.namespace },
    syncPolicy: {
      ...(g.automated.prune || g.automated.selfHeal
        ? { automated: { prune: g.automated.prune, selfHeal: g.automated.selfHeal, allowEmpty: false } }
        : {}),
      syncOptions: [
        "CreateNamespace=true",
        "ServerSideApply=true",
        ...(t.autoscaled.length > 0 ? ["RespectIgnoreDifferences=true"] : []),
      ],
      retry: { limit: 3, backoff: { duration: "30s", factor: 2, maxDuration: "5m" } },
    },
  };
  if (t.autoscaled.length > 0) {
    spec.ignoreDifferences = t.autoscaled.map((name) => ({
      group: "apps",
      kind: "Deployment",
      name,
      jsonPointers: ["/spec/replicas"],
    }));
  }
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Application",
    metadata: {
      name: `${p.metadata.name}-${t.name}`,
      namespace: g.argocdNamespace,
      ...(g.notifications ? { annotations: notificationAnnotations(g) } : {}),
      // Path-qualified (the API server warns on the bare name); Argo CD 3.3: ForegroundPropagationPolicyFinalizer.
      finalizers: ["resources-finalizer.argocd.argoproj.io/foreground"],
    } as K8sObject["metadata"],
    spec,
  };
}

export function appProject(p: Platform, g: Gitops, namespaces: string[]): K8sObject {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "AppProject",
    metadata: { name: g.project, namespace: g.argocdNamespace },
    spec: {
      description: `Inferplane platform ${p.metadata.name}`,
      sourceRepos: [g.repoURL],
      destinations: [...new Set([...namespaces, GPU_OPERATOR_NAMESPACE, g.argocdNamespace])]
        .sort()
        .map((namespace) => ({ namespace, server: g.destinationServer })),
      clusterResourceWhitelist: [{ group: "", kind: "Namespace" }],
      namespaceResourceBlacklist: [{ group: "", kind: "ResourceQuota" }],
    },
  };
}

export function appOfApps(p: Platform, g: Gitops): K8sObject {
  return {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Application",
    metadata: { name: `${p.metadata.name}-apps`, namespace: g.argocdNamespace },
    spec: {
      // The project itself is one of the children, so the parent lives in `default`.
      project: "default",
      source: { repoURL: g.repoURL, targetRevision: g.targetRevision, path: joinPath(g.path, "argocd/apps") },
      destination: { server: g.destinationServer, namespace: g.argocdNamespace },
      syncPolicy: { automated: { prune: true, selfHeal: true } },
    },
  };
}
