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
import type { Plan } from "../planner/index.js";
import { environmentNames, parseSpec } from "../spec/load.js";
import type { Platform } from "../spec/schema.js";
import { autoscalingObjects, prometheusAdapterRules, replicaCeiling } from "./autoscaling.js";
import { jsonPatch } from "./diff.js";
import { engineObjects, isDeployed } from "./engines.js";
import { gatewayObjects } from "./gateway.js";
import { dashboardConfigMaps, prometheusRule } from "./monitoring.js";
import { configMapName, MANAGED_BY } from "./names.js";
import { placeModels, SPOT_TOLERATIONS } from "./placement.js";
import {
  dockerTree,
  gitopsTree,
  gpuOperatorTree,
  HEADER,
  KUSTOMIZE,
  key,
  observabilityStackTree,
  servicesTree,
  TreeWriter,
} from "./render-tree.js";
import { runtimeConfig } from "./runtime-config.js";
import type { K8sObject, PlacedObject, RenderedFile } from "./types.js";
import { vpaObjects } from "./vpa.js";
import { toYaml } from "./yaml.js";

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

function groupOf(apiVersion: string): { group?: string; version: string } {
  const i = apiVersion.indexOf("/");
  return i < 0
    ? { version: apiVersion }
    : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
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

/** base/: the base spec's objects, its runtime config and kustomization; the labels every part carries. */
function baseTree(
  out: TreeWriter,
  specText: string,
  base: Platform,
  objects: PlacedObject[],
): Record<string, string> {
  const commonLabels: Record<string, string> = {
    ...base.metadata.labels,
    "app.kubernetes.io/part-of": base.metadata.labels["app.kubernetes.io/part-of"] ?? base.metadata.name,
    "app.kubernetes.io/managed-by": MANAGED_BY,
  };
  const baseFiles = out.write("base", objects);
  out.add("base/inferplane.yaml", runtimeConfig(specText, null, base));
  out.add(
    "base/kustomization.yaml",
    HEADER +
      toYaml({
        ...KUSTOMIZE,
        namespace: base.metadata.namespace,
        // `labels` (Kustomize 5), not the deprecated `commonLabels`; selectors stay untouched.
        labels: [{ pairs: commonLabels, includeSelectors: false, includeTemplates: true }],
        resources: baseFiles,
        images: images(objects),
        configMapGenerator: [{ name: configMapName(base), files: ["inferplane.yaml"] }],
      }),
  );
  return commonLabels;
}

/** JSON patches turning each base object into the environment's, deletes of what it lacks, and what only it has. */
function overlayPatches(
  out: TreeWriter,
  dir: string,
  env: RenderedEnvironment,
  baseByKey: ReadonlyMap<string, K8sObject>,
): { patches: unknown[]; extra: PlacedObject[] } {
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
    out.add(`${dir}/${path}`, toYaml(ops));
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
  return { patches, extra };
}

/** overlays/<env>/: the environment's patches, extra objects, runtime config and kustomization. */
function overlayTree(
  out: TreeWriter,
  specText: string,
  env: RenderedEnvironment,
  baseByKey: ReadonlyMap<string, K8sObject>,
  partOf: string | undefined,
): void {
  const dir = `overlays/${env.name}`;
  const { patches, extra } = overlayPatches(out, dir, env, baseByKey);
  const extraFiles = out.write(dir, extra);
  out.add(`${dir}/inferplane.yaml`, runtimeConfig(specText, env.name, env.platform));
  out.add(
    `${dir}/kustomization.yaml`,
    HEADER +
      toYaml({
        ...KUSTOMIZE,
        namespace: env.namespace,
        labels: [
          {
            // The platform's labels too: objects only this environment has (under resources/)
            // never pass through the base's labels.
            pairs: {
              "app.kubernetes.io/part-of": partOf,
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
  );
}

/** Files sorted by path; a path written twice is a bug of the compiler. */
function sortedFiles(files: RenderedFile[]): RenderedFile[] {
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) throw new InferplaneError("internal", `render wrote ${f.path} twice`);
    seen.add(f.path);
  }
  return files;
}

export function renderPlatform(specText: string, options: RenderOptions): RenderResult {
  const file = options.file ?? "<inline>";
  const planOf = options.plan ?? (() => null);
  const base = parseSpec(specText, { file, deploy: true }).platform;
  const basePlan = planOf(base, null);
  const baseObjects = appObjects(base, basePlan, options.version);
  const envs: RenderedEnvironment[] = environmentNames(specText)
    .sort()
    .map((name) => {
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
  const out = new TreeWriter();
  const commonLabels = baseTree(out, specText, base, baseObjects);
  const partOf = commonLabels["app.kubernetes.io/part-of"];
  const baseByKey = new Map(baseObjects.map((o) => [key(o.object), o.object]));
  for (const env of envs) overlayTree(out, specText, env, baseByKey, partOf);
  // Spot: the last environment (production when it exists) moved onto spot capacity.
  const spotFrom = envs.find((e) => e.name === "production") ?? envs[envs.length - 1];
  const spotSource = spotFrom ?? {
    name: "base",
    platform: base,
    objects: baseObjects,
    namespace: base.metadata.namespace,
  };
  renderSpot(spotSource, spotFrom ? `../${spotFrom.name}` : "../../base", out.files);
  gpuOperatorTree(out, base, basePlan, envs);
  const hasStack = observabilityStackTree(out, base);
  const serviceNamespaces = servicesTree(out, [base, ...envs.map((e) => e.platform)], partOf);
  gitopsTree(out, base, envs, hasStack, serviceNamespaces);
  dockerTree(out, specText, base);
  return {
    files: sortedFiles(out.files),
    base: {
      name: "base",
      namespace: base.metadata.namespace,
      platform: base,
      plan: basePlan,
      objects: baseObjects,
      placedFrom: placedFrom(base, basePlan),
    },
    environments: envs,
    objects: out.objects,
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
