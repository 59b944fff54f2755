/**
 * The cluster-wide parts of the rendered tree, beside the platform's own namespace (render.ts):
 * the GPU Operator, the observability stack, services in their own namespaces, the ArgoCD
 * applications and the docker files. Each phase writes into one `TreeWriter`.
 */
import type { Plan } from "../planner/index.js";
import type { Platform } from "../spec/schema.js";
import { application, appOfApps, appProject } from "./argocd.js";
import {
  compose,
  composeSpec,
  dockerfile,
  dockerignore,
  grafanaDashboardProvider,
  grafanaDatasources,
  prometheusConfig,
} from "./containers.js";
import { isAutoscaled, isDeployed } from "./engines.js";
import { gatewayAutoscaled } from "./gateway.js";
import { gpuObjects, nodeLabelsFile, usesGpus } from "./gpu.js";
import { gpuObservabilityObjects } from "./gpu-observability.js";
import { dashboards, otelCollectorObjects } from "./monitoring.js";
import { engineName, GATEWAY_NAME, GPU_OPERATOR_NAMESPACE, MANAGED_BY } from "./names.js";
import { notificationObjects } from "./notifications.js";
import { observabilityStackObjects, STACK_DIR, STACK_NAMESPACE } from "./observability-stack.js";
import { gpuConfig } from "./placement.js";
import { inClusterStores, storeObjects } from "./stores.js";
import type { K8sObject, PlacedObject, RenderedFile } from "./types.js";
import { toYaml, toYamlDocuments } from "./yaml.js";

export const KUSTOMIZE = { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization" };
// Grafana's variable syntax, not a template literal.
const DATASOURCE_REF = '"uid": "$' + '{datasource}"';
export const HEADER = "# Rendered by inferplane render from the spec; edit the spec, not this file.\n";

/** An environment as the cluster-wide phases read it. */
export interface TreeEnvironment {
  name: string;
  namespace: string;
  platform: Platform;
  plan: Plan | null;
}

/** The files of the tree, and every Kubernetes object written with its file. */
export class TreeWriter {
  readonly files: RenderedFile[] = [];
  readonly objects: { file: string; object: K8sObject }[] = [];

  /** Objects grouped into files under `dir` (several documents per file, in order); the file names. */
  write(dir: string, objects: readonly PlacedObject[]): string[] {
    const byFile = new Map<string, K8sObject[]>();
    for (const o of objects) byFile.set(o.file, [...(byFile.get(o.file) ?? []), o.object]);
    const names = [...byFile.keys()].sort();
    for (const f of names)
      this.files.push({ path: `${dir}/${f}`, content: toYamlDocuments(byFile.get(f) ?? []) });
    for (const o of objects) this.objects.push({ file: `${dir}/${o.file}`, object: o.object });
    return names;
  }

  add(path: string, content: string): void {
    this.files.push({ path, content });
  }
}

export function key(o: K8sObject): string {
  // One Namespace per environment, renamed by kustomize: the same object under any name.
  return `${o.apiVersion}|${o.kind}|${o.kind === "Namespace" ? "" : o.metadata.name}`;
}

/** Deployments whose replicas an autoscaler owns. */
function autoscaledDeployments(p: Platform): string[] {
  const names = p.models.filter((m) => isDeployed(m) && isAutoscaled(m)).map(engineName);
  if (gatewayAutoscaled(p)) names.push(GATEWAY_NAME);
  return names.sort();
}

/**
 * cluster/gpu-operator: one GPU Operator per cluster, configured for the largest inventory any
 * environment has (production's extra nodes need their labels too).
 */
export function gpuOperatorTree(
  out: TreeWriter,
  base: Platform,
  basePlan: Plan | null,
  envs: readonly TreeEnvironment[],
): void {
  if (!usesGpus(base)) return;
  const gpuCount = (p: Platform) => p.gpus.reduce((n, g) => n + g.count, 0);
  let widest = { platform: base, plan: basePlan };
  for (const e of envs)
    if (gpuCount(e.platform) > gpuCount(widest.platform)) widest = { platform: e.platform, plan: e.plan };
  const cfg = gpuConfig(widest.platform, widest.plan);
  const objs = [...gpuObjects(widest.platform, cfg), ...gpuObservabilityObjects(widest.platform)];
  const dir = "cluster/gpu-operator";
  const names = out.write(dir, objs);
  const values = objs.find((o) => o.object.kind === "HelmChart")?.object.spec as { valuesContent: string };
  out.add(`${dir}/values.yaml`, values.valuesContent);
  out.add(`${dir}/node-labels.yaml`, nodeLabelsFile(cfg));
  out.add(
    `${dir}/kustomization.yaml`,
    HEADER + toYaml({ ...KUSTOMIZE, namespace: GPU_OPERATOR_NAMESPACE, resources: names }),
  );
}

/** The observability stack (observability.stack: bring); whether there is one. */
export function observabilityStackTree(out: TreeWriter, base: Platform): boolean {
  const stack = observabilityStackObjects(base);
  if (stack.length === 0) return false;
  const names = out.write(STACK_DIR, stack);
  out.add(`${STACK_DIR}/kustomization.yaml`, HEADER + toYaml({ ...KUSTOMIZE, resources: names }));
  return true;
}

/** Services in their own namespaces (stores, OTel collector), across every environment; their namespaces. */
export function servicesTree(
  out: TreeWriter,
  platforms: readonly Platform[],
  partOf: string | undefined,
): string[] {
  const services = new Map<string, Map<string, K8sObject>>();
  for (const p of platforms) {
    const add = (ns: string, o: K8sObject) => {
      const m = services.get(ns) ?? new Map<string, K8sObject>();
      if (!m.has(key(o))) m.set(key(o), o);
      services.set(ns, m);
    };
    for (const s of inClusterStores(p)) for (const o of storeObjects(p, s)) add(s.namespace, o);
    const otlp = p.observability.tracing.enabled ? p.observability.tracing.otlpEndpoint : undefined;
    const host = otlp
      ? /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(\.cluster\.local)?$/.exec(new URL(otlp).hostname)
      : null;
    if (host?.[1] && host[2]) for (const o of otelCollectorObjects(host[1])) add(host[2], o);
  }
  const namespaces = [...services.keys()].sort();
  for (const ns of namespaces) {
    const dir = `services/${ns}`;
    const objs: PlacedObject[] = [
      { file: "namespace.yaml", object: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } } },
      ...[...(services.get(ns)?.values() ?? [])].map((o) => ({
        file: `${(o.metadata.labels?.["app.kubernetes.io/name"] ?? o.metadata.name).toLowerCase()}.yaml`,
        object: o,
      })),
    ];
    const names = out.write(dir, objs);
    out.add(
      `${dir}/kustomization.yaml`,
      HEADER +
        toYaml({
          ...KUSTOMIZE,
          namespace: ns,
          labels: [
            {
              pairs: { "app.kubernetes.io/part-of": partOf, "app.kubernetes.io/managed-by": MANAGED_BY },
              includeSelectors: false,
              includeTemplates: true,
            },
          ],
          resources: names,
        }),
    );
  }
  return namespaces;
}

/** ArgoCD: an AppProject, one Application per environment and cluster-wide directory, the app-of-apps. */
export function gitopsTree(
  out: TreeWriter,
  base: Platform,
  envs: readonly TreeEnvironment[],
  hasStack: boolean,
  serviceNamespaces: readonly string[],
): void {
  const g = base.gitops;
  if (!g) return;
  const targets = [
    ...(envs.length > 0
      ? envs.map((e) => ({
          name: e.name,
          dir: `overlays/${e.name}`,
          namespace: e.namespace,
          autoscaled: autoscaledDeployments(e.platform),
        }))
      : [
          {
            name: "base",
            dir: "base",
            namespace: base.metadata.namespace,
            autoscaled: autoscaledDeployments(base),
          },
        ]),
    ...(usesGpus(base)
      ? [
          {
            name: "gpu-operator",
            dir: "cluster/gpu-operator",
            namespace: GPU_OPERATOR_NAMESPACE,
            autoscaled: [],
          },
        ]
      : []),
    ...(hasStack
      ? [{ name: "observability", dir: STACK_DIR, namespace: STACK_NAMESPACE, autoscaled: [] }]
      : []),
    ...serviceNamespaces.map((ns) => ({
      name: `services-${ns}`,
      dir: `services/${ns}`,
      namespace: ns,
      autoscaled: [],
    })),
  ];
  const apps: PlacedObject[] = [];
  if (g.project !== "default") {
    apps.push({
      file: "project.yaml",
      object: appProject(
        base,
        g,
        targets.map((t) => t.namespace),
      ),
    });
  }
  for (const t of targets) apps.push({ file: `${t.name}.yaml`, object: application(base, g, t) });
  apps.push(...notificationObjects(g));
  out.write("argocd/apps", apps);
  // The namespace first: on a cluster where ArgoCD is not installed yet (or a dry-run of an
  // empty one) nothing else creates it; where ArgoCD runs, applying it changes nothing.
  out.write("argocd", [
    {
      file: "app-of-apps.yaml",
      object: { apiVersion: "v1", kind: "Namespace", metadata: { name: g.argocdNamespace } },
    },
    { file: "app-of-apps.yaml", object: appOfApps(base, g) },
  ]);
}

/** docker/: the Inferplane image and the compose stack with its configs and dashboards. */
export function dockerTree(out: TreeWriter, specText: string, base: Platform): void {
  out.add("docker/Dockerfile", dockerfile());
  // BuildKit reads <Dockerfile>.dockerignore beside the Dockerfile; a .dockerignore here would
  // be ignored, because the build context is the repository root.
  out.add("docker/Dockerfile.dockerignore", dockerignore());
  out.add("docker/docker-compose.yaml", compose(base));
  out.add("docker/inferplane.yaml", composeSpec(specText, base));
  out.add("docker/prometheus.yml", prometheusConfig(base));
  out.add("docker/grafana/datasources.yaml", grafanaDatasources());
  out.add("docker/grafana/dashboards.yaml", grafanaDashboardProvider());
  for (const d of dashboards(base)) {
    // Compose's Grafana has one Prometheus data source: pin the variable to it.
    const json = JSON.stringify(d.json, null, 2).replaceAll(DATASOURCE_REF, '"uid": "prometheus"');
    out.add(`docker/grafana/dashboards/inferplane-${d.name}.json`, `${json}\n`);
  }
}
