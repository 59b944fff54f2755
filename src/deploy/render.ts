/**
 * The deploy compiler: spec text in, a Kustomize tree out (pure: no I/O, no clock).
 *
 *   base/                 the base spec's objects (engines, gateway, autoscaling, monitoring)
 *   overlays/<env>/       one per environment: namespace, labels, the environment's runtime
 *                         config, and JSON patches that turn each base object into the
 *                         environment's (computed by rendering both and diffing)
 *   overlays/spot/        an environment moved onto spot capacity (components/spot)
 *   cluster/gpu-operator/ GPU Operator HelmChart, mig-parted and device-plugin ConfigMaps, node labels
 *   services/<ns>/        stores and the OTel collector that live in their own namespace
 *   argocd/               AppProject, one Application per environment, app-of-apps
 *   docker/               Dockerfile, Dockerfile.dockerignore, docker-compose.yaml and its configs
 */
import { InferplaneError } from "../errors.js";
import type { Plan } from "../planner/types.js";
import { environmentNames, parseSpec } from "../spec/load.js";
import type { Platform } from "../spec/schema.js";
import { application, appOfApps, appProject } from "./argocd.js";
import { autoscalingObjects, prometheusAdapterRules, replicaCeiling } from "./autoscaling.js";
import {
  compose,
  composeSpec,
  dockerfile,
  dockerignore,
  grafanaDashboardProvider,
  grafanaDatasources,
  prometheusConfig,
} from "./containers.js";
import { jsonPatch } from "./diff.js";
import { engineObjects, isAutoscaled, isDeployed } from "./engines.js";
import { gatewayAutoscaled, gatewayObjects } from "./gateway.js";
import { gpuObjects, nodeLabelsFile, usesGpus } from "./gpu.js";
import { gpuObservabilityObjects } from "./gpu-observability.js";
import { dashboardConfigMaps, dashboards, otelCollectorObjects, prometheusRule } from "./monitoring.js";
import { configMapName, engineName, GATEWAY_NAME, GPU_OPERATOR_NAMESPACE, MANAGED_BY } from "./names.js";
import { notificationObjects } from "./notifications.js";
import { observabilityStackObjects, STACK_DIR, STACK_NAMESPACE } from "./observability-stack.js";
import { gpuConfig, placeModels, SPOT_TOLERATIONS } from "./placement.js";
import { runtimeConfig } from "./runtime-config.js";
import { inClusterStores, storeObjects } from "./stores.js";
import type { K8sObject, PlacedObject, RenderedFile } from "./types.js";
import { vpaObjects } from "./vpa.js";
import { toYaml, toYamlDocuments } from "./yaml.js";

export interface RenderOptions {
  /** Inferplane version: the gateway image tag. */
  version: string;
  /** The plan of a platform (an environment's spec already applied); null places from the spec. */
  plan?: (platform: Platform, env: string | null) => Plan | null;
  /** Spec file name, for error messages. */
  file?: string;
}

export interface RenderedEnvironment {
  name: string;
  namespace: string;
  platform: Platform;
  plan: Plan | null;
  /** Where each deployed model's placement came from: the plan, or the spec's gpu fields. */
  placedFrom: Record<string, "plan" | "spec">;
  objects: PlacedObject[];
}

export interface RenderResult {
  files: RenderedFile[];
  base: RenderedEnvironment;
  environments: RenderedEnvironment[];
  /** Every Kubernetes object written anywhere in the tree, with its file. */
  objects: { file: string; object: K8sObject }[];
  /** What the tree does differently from the spec's words, and why (the CLI prints them). */
  warnings: string[];
}

/** Autoscalers capped below the spec's maxReplicas because the plan's inventory holds fewer. */
function ceilingWarnings(name: string, p: Platform, plan: Plan | null): string[] {
  const placements = placeModels(p, plan);
  return p.models.filter(isDeployed).flatMap((m) => {
    const ceiling = replicaCeiling(m, placements.get(m.name));
    const max = m.autoscaling?.enabled ? m.autoscaling.maxReplicas : undefined;
    return max !== undefined && ceiling < max
      ? [
          `${m.name} (${name}): autoscaling.maxReplicas ${max} capped at ${ceiling}, the replicas pool ${m.gpu?.pool ?? "?"} holds beside the other models (see inferplane plan)`,
        ]
      : [];
  });
}

const KUSTOMIZE = { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization" };
// Grafana's variable syntax, not a template literal.
const DATASOURCE_REF = '"uid": "$' + '{datasource}"';
const HEADER = "# Rendered by inferplane render from the spec; edit the spec, not this file.\n";

function placedFrom(p: Platform, plan: Plan | null): Record<string, "plan" | "spec"> {
  const placements = placeModels(p, plan);
  return Object.fromEntries(
    p.models.filter(isDeployed).map((m) => [m.name, placements.get(m.name)?.from ?? ("spec" as const)]),
  );
}

/** Objects of the platform's own namespace, for one environment. */
function appObjects(p: Platform, plan: Plan | null, version: string): PlacedObject[] {
  const placements = placeModels(p, plan);
  const out: PlacedObject[] = [
    {
      file: "namespace.yaml",
      object: { apiVersion: "v1", kind: "Namespace", metadata: { name: p.metadata.namespace } },
    },
  ];
  for (const m of p.models.filter(isDeployed)) {
    const place = placements.get(m.name);
    if (!place) continue;
    out.push(...engineObjects(p, m, place), ...autoscalingObjects(p, m, place));
  }
  out.push(...gatewayObjects(p, version));
  out.push(...vpaObjects(p));
  const adapterRules = prometheusAdapterRules(p.models.filter(isDeployed));
  if (adapterRules.length > 0) {
    out.push({
      file: "monitoring/prometheus-adapter-rules.yaml",
      object: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: "prometheus-adapter-rules",
          labels: { "app.kubernetes.io/component": "monitoring" },
        },
        data: { "config.yaml": toYaml({ rules: adapterRules }) },
      },
    });
  }
  if (p.observability.alerts.enabled)
    out.push({ file: "monitoring/prometheusrule.yaml", object: prometheusRule(p) });
  for (const cm of dashboardConfigMaps(p)) out.push({ file: "monitoring/dashboards.yaml", object: cm });
  return out;
}

/** Deployments whose replicas an autoscaler owns. */
function autoscaledDeployments(p: Platform): string[] {
  const names = p.models.filter((m) => isDeployed(m) && isAutoscaled(m)).map(engineName);
  if (gatewayAutoscaled(p)) names.push(GATEWAY_NAME);
  return names.sort();
}

function key(o: K8sObject): string {
  // One Namespace per environment, renamed by kustomize: the same object under any name.
  return `${o.apiVersion}|${o.kind}|${o.kind === "Namespace" ? "" : o.metadata.name}`;
}

function groupOf(apiVersion: string): { group?: string; version: string } {
  const i = apiVersion.indexOf("/");
  return i < 0
    ? { version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** Objects grouped into files (several documents per file, in order). */
function writeObjects(dir: string, objects: readonly PlacedObject[], files: RenderedFile[]): string[] {
  const byFile = new Map<string, K8sObject[]>();
  for (const o of objects) byFile.set(o.file, [...(byFile.get(o.file) ?? []), o.object]);
  const names = [...byFile.keys()].sort();
  for (const f of names) files.push({ path: `${dir}/${f}`, content: toYamlDocuments(byFile.get(f) ?? []) });
  return names;
}

function images(objects: readonly PlacedObject[]): { name: string; newTag: string }[] {
  const refs = new Set<string>();
  const visit = (spec: unknown) => {
    const pod = (spec as { template?: { spec?: Record<string, unknown> } })?.template?.spec;
    for (const list of ["initContainers", "containers"]) {
      for (const c of (pod?.[list] ?? []) as { image?: string }[]) if (c.image) refs.add(c.image);
    }
  };
  for (const o of objects) visit(o.object.spec);
  return [...refs]
    .map((ref) => {
      const at = ref.lastIndexOf(":");
      return at > ref.lastIndexOf("/")
        ? { name: ref.slice(0, at), newTag: ref.slice(at + 1) }
        : { name: ref, newTag: "latest" };
    })
    .filter((x, i, all) => all.findIndex((y) => y.name === x.name) === i)
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

export function renderPlatform(specText: string, options: RenderOptions): RenderResult {
  const file = options.file ?? "<inline>";
  const planOf = options.plan ?? (() => null);
  const base = parseSpec(specText, { file, deploy: true }).platform;
  const basePlan = planOf(base, null);
  const baseObjects = appObjects(base, basePlan, options.version);
  const envNames = environmentNames(specText).sort();
  const envs: RenderedEnvironment[] = envNames.map((name) => {
    const p = parseSpec(specText, { file, env: name, deploy: true }).platform;
    const plan = planOf(p, name);
    return {
      name,
      namespace: p.metadata.namespace,
      platform: p,
      plan,
      objects: appObjects(p, plan, options.version),
      placedFrom: placedFrom(p, plan),
    };
  });
  const files: RenderedFile[] = [];
  const all: { file: string; object: K8sObject }[] = [];
  const track = (dir: string, objs: readonly PlacedObject[]) => {
    for (const o of objs) all.push({ file: `${dir}/${o.file}`, object: o.object });
  };

  // ---- base
  const commonLabels: Record<string, string> = {
    ...base.metadata.labels,
    "app.kubernetes.io/part-of": base.metadata.labels["app.kubernetes.io/part-of"] ?? base.metadata.name,
    "app.kubernetes.io/managed-by": MANAGED_BY,
  };
  const baseFiles = writeObjects("base", baseObjects, files);
  track("base", baseObjects);
  files.push({ path: "base/inferplane.yaml", content: runtimeConfig(specText, null, base) });
  files.push({
    path: "base/kustomization.yaml",
    content:
      HEADER +
      toYaml({
        ...KUSTOMIZE,
        namespace: base.metadata.namespace,
        // `labels` (Kustomize 5), not the deprecated `commonLabels`; selectors stay untouched.
        labels: [{ pairs: commonLabels, includeSelectors: false, includeTemplates: true }],
        resources: baseFiles,
        images: images(baseObjects),
        configMapGenerator: [{ name: configMapName(base), files: ["inferplane.yaml"] }],
      }),
  });

  // ---- overlays
  const baseByKey = new Map(baseObjects.map((o) => [key(o.object), o.object]));
  for (const env of envs) {
    const dir = `overlays/${env.name}`;
    const envByKey = new Map(env.objects.map((o) => [key(o.object), o]));
    const patches: unknown[] = [];
    const extra: PlacedObject[] = [];
    for (const [k, placed] of [...envByKey].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const o = placed.object;
      const before = baseByKey.get(k);
      if (!before) {
        extra.push({ file: `resources/${placed.file.replace(/\//g, "-")}`, object: o });
        continue;
      }
      if (o.kind === "Namespace") continue; // kustomize's namespace transformer renames it
      const ops = jsonPatch(before, o);
      if (ops.length === 0) continue;
      const { group, version } = groupOf(o.apiVersion);
      const path = `patches/${o.kind.toLowerCase()}-${o.metadata.name}.yaml`;
      files.push({ path: `${dir}/${path}`, content: toYaml(ops) });
      patches.push({
        path,
        target: { ...(group ? { group } : {}), version, kind: o.kind, name: o.metadata.name },
      });
    }
    for (const [k, o] of [...baseByKey].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (envByKey.has(k)) continue;
      patches.push({
        patch: toYaml({
          $patch: "delete",
          apiVersion: o.apiVersion,
          kind: o.kind,
          metadata: { name: o.metadata.name },
        }),
      });
    }
    const extraFiles = writeObjects(dir, extra, files);
    track(dir, extra);
    files.push({ path: `${dir}/inferplane.yaml`, content: runtimeConfig(specText, env.name, env.platform) });
    files.push({
      path: `${dir}/kustomization.yaml`,
      content:
        HEADER +
        toYaml({
          ...KUSTOMIZE,
          namespace: env.namespace,
          labels: [
            {
              // The platform's labels too: objects only this environment has (under resources/)
              // never pass through the base's labels.
              pairs: {
                "app.kubernetes.io/part-of": commonLabels["app.kubernetes.io/part-of"],
                "app.kubernetes.io/managed-by": MANAGED_BY,
                "inferplane.dev/environment": env.name,
              },
              includeSelectors: false,
              includeTemplates: true,
            },
          ],
          resources: ["../../base", ...extraFiles],
          configMapGenerator: [
            { name: configMapName(env.platform), behavior: "replace", files: ["inferplane.yaml"] },
          ],
          ...(patches.length > 0 ? { patches } : {}),
        }),
    });
  }

  // ---- spot: the last environment (production when it exists) moved onto spot capacity
  const spotFrom = envs.find((e) => e.name === "production") ?? envs[envs.length - 1];
  const spotSource = spotFrom ?? {
    name: "base",
    platform: base,
    objects: baseObjects,
    namespace: base.metadata.namespace,
  };
  renderSpot(spotSource, spotFrom ? `../${spotFrom.name}` : "../../base", files);

  // ---- cluster: GPU Operator
  if (usesGpus(base)) {
    // One GPU Operator per cluster: configured for the largest inventory any environment has
    // (production's extra nodes need their labels too).
    const gpuCount = (p: Platform) => p.gpus.reduce((n, g) => n + g.count, 0);
    let widest = { platform: base, plan: basePlan };
    for (const e of envs)
      if (gpuCount(e.platform) > gpuCount(widest.platform)) widest = { platform: e.platform, plan: e.plan };
    const cfg = gpuConfig(widest.platform, widest.plan);
    const objs = [...gpuObjects(widest.platform, cfg), ...gpuObservabilityObjects(widest.platform)];
    const dir = "cluster/gpu-operator";
    const names = writeObjects(dir, objs, files);
    track(dir, objs);
    const values = objs.find((o) => o.object.kind === "HelmChart")?.object.spec as { valuesContent: string };
    files.push({ path: `${dir}/values.yaml`, content: values.valuesContent });
    files.push({ path: `${dir}/node-labels.yaml`, content: nodeLabelsFile(cfg) });
    files.push({
      path: `${dir}/kustomization.yaml`,
      content: HEADER + toYaml({ ...KUSTOMIZE, namespace: GPU_OPERATOR_NAMESPACE, resources: names }),
    });
  }

  // ---- cluster: observability stack (observability.stack: bring)
  const stack = observabilityStackObjects(base);
  if (stack.length > 0) {
    const names = writeObjects(STACK_DIR, stack, files);
    track(STACK_DIR, stack);
    files.push({
      path: `${STACK_DIR}/kustomization.yaml`,
      content: HEADER + toYaml({ ...KUSTOMIZE, resources: names }),
    });
  }

  // ---- services in their own namespaces (stores, OTel collector), across every environment
  const services = new Map<string, Map<string, K8sObject>>();
  for (const p of [base, ...envs.map((e) => e.platform)]) {
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
  const serviceNamespaces = [...services.keys()].sort();
  for (const ns of serviceNamespaces) {
    const dir = `services/${ns}`;
    const objs: PlacedObject[] = [
      { file: "namespace.yaml", object: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } } },
      ...[...(services.get(ns)?.values() ?? [])].map((o) => ({
        file: `${(o.metadata.labels?.["app.kubernetes.io/name"] ?? o.metadata.name).toLowerCase()}.yaml`,
        object: o,
      })),
    ];
    const names = writeObjects(dir, objs, files);
    track(dir, objs);
    files.push({
      path: `${dir}/kustomization.yaml`,
      content:
        HEADER +
        toYaml({
          ...KUSTOMIZE,
          namespace: ns,
          labels: [
            {
              pairs: {
                "app.kubernetes.io/part-of": commonLabels["app.kubernetes.io/part-of"],
                "app.kubernetes.io/managed-by": MANAGED_BY,
              },
              includeSelectors: false,
              includeTemplates: true,
            },
          ],
          resources: names,
        }),
    });
  }

  // ---- GitOps
  const g = base.gitops;
  if (g) {
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
      ...(stack.length > 0
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
    writeObjects("argocd/apps", apps, files);
    track("argocd/apps", apps);
    // The namespace first: on a cluster where ArgoCD is not installed yet (or a dry-run of an
    // empty one) nothing else creates it; where ArgoCD runs, applying it changes nothing.
    const root = [
      {
        file: "app-of-apps.yaml",
        object: { apiVersion: "v1", kind: "Namespace", metadata: { name: g.argocdNamespace } },
      },
      { file: "app-of-apps.yaml", object: appOfApps(base, g) },
    ];
    writeObjects("argocd", root, files);
    track("argocd", root);
  }

  // ---- containers
  files.push({ path: "docker/Dockerfile", content: dockerfile() });
  // BuildKit reads <Dockerfile>.dockerignore beside the Dockerfile; a .dockerignore here would
  // be ignored, because the build context is the repository root.
  files.push({ path: "docker/Dockerfile.dockerignore", content: dockerignore() });
  files.push({ path: "docker/docker-compose.yaml", content: compose(base) });
  files.push({ path: "docker/inferplane.yaml", content: composeSpec(specText, base) });
  files.push({ path: "docker/prometheus.yml", content: prometheusConfig(base) });
  files.push({ path: "docker/grafana/datasources.yaml", content: grafanaDatasources() });
  files.push({ path: "docker/grafana/dashboards.yaml", content: grafanaDashboardProvider() });
  for (const d of dashboards(base)) {
    // Compose's Grafana has one Prometheus data source: pin the variable to it.
    const json = JSON.stringify(d.json, null, 2).replaceAll(DATASOURCE_REF, '"uid": "prometheus"');
    files.push({ path: `docker/grafana/dashboards/inferplane-${d.name}.json`, content: `${json}\n` });
  }

  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) throw new InferplaneError("internal", `render wrote ${f.path} twice`);
    seen.add(f.path);
  }
  return {
    files,
    base: {
      name: "base",
      namespace: base.metadata.namespace,
      platform: base,
      plan: basePlan,
      objects: baseObjects,
      placedFrom: placedFrom(base, basePlan),
    },
    environments: envs,
    objects: all,
    warnings: [
      ...ceilingWarnings("base", base, basePlan),
      ...envs.flatMap((e) => ceilingWarnings(e.name, e.platform, e.plan)),
    ],
  };
}

/**
 * Spot capacity as a Kustomize Component: every engine prefers spot nodes, tolerates their
 * taints, and shuts down inside the notice a provider gives (GKE: 30 s) — a short preStop so the
 * gateway stops sending, then SIGTERM well before the node goes.
 */
function renderSpot(
  from: { platform: Platform; objects: PlacedObject[] },
  resource: string,
  files: RenderedFile[],
): void {
  const patches: unknown[] = [];
  for (const o of from.objects) {
    if (
      o.object.kind !== "Deployment" ||
      o.object.metadata.labels?.["app.kubernetes.io/component"] !== "engine"
    )
      continue;
    const spec = o.object.spec as { template: { spec: { tolerations?: unknown[] } } };
    const tolerations = [...(spec.template.spec.tolerations ?? [])];
    for (const t of SPOT_TOLERATIONS)
      if (!tolerations.some((x) => JSON.stringify(x) === JSON.stringify(t))) tolerations.push(t);
    const patch = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: o.object.metadata.name },
      spec: {
        template: {
          spec: {
            terminationGracePeriodSeconds: 25,
            tolerations,
            affinity: {
              nodeAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [
                  {
                    weight: 100,
                    preference: {
                      matchExpressions: [
                        { key: "cloud.google.com/gke-spot", operator: "In", values: ["true"] },
                      ],
                    },
                  },
                  {
                    weight: 100,
                    preference: {
                      matchExpressions: [
                        { key: "karpenter.sh/capacity-type", operator: "In", values: ["spot"] },
                      ],
                    },
                  },
                ],
              },
            },
            containers: [
              { name: "engine", lifecycle: { preStop: { exec: { command: ["/bin/sh", "-c", "sleep 5"] } } } },
            ],
          },
        },
      },
    };
    const path = `patches/${o.object.metadata.name}.yaml`;
    files.push({ path: `components/spot/${path}`, content: toYaml(patch) });
    patches.push({ path });
  }
  files.push({
    path: "components/spot/kustomization.yaml",
    content:
      HEADER +
      toYaml({
        apiVersion: "kustomize.config.k8s.io/v1alpha1",
        kind: "Component",
        ...(patches.length ? { patches } : {}),
      }),
  });
  files.push({
    path: "overlays/spot/kustomization.yaml",
    content: HEADER + toYaml({ ...KUSTOMIZE, resources: [resource], components: ["../../components/spot"] }),
  });
}
