/**
 * `render --verify --kubeconfig FILE`: the rendered tree against a real cluster. Every tree is
 * built (`kubectl kustomize`) and sent to the API server with a server-side dry-run, in the
 * order the README applies them; each rejection is reported with its object and the API
 * server's own words, and so is each warning. Then the engines are checked against the nodes:
 * how many replicas of each the nodes' GPU capacity holds, spread as the Deployment spreads
 * them (src/deploy/placement-check.ts).
 *
 * A dry-run cannot create a namespace for the objects after it, so a namespace the tree itself
 * declares and the cluster lacks is created first (it is the first thing the apply would do) and
 * deleted again afterwards; the report lists them. With `apply: true` the trees are applied
 * for real instead (the test suite does that on its throwaway control plane).
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import {
  type EngineDemand,
  type NodeCapacity,
  type PlacementResult,
  placeEngines,
} from "./placement-check.js";
import type { RenderedEnvironment, RenderResult } from "./render.js";
import type { K8sObject } from "./types.js";

export interface ClusterTree {
  /** Directory (kustomization) or file, relative to the rendered tree. */
  path: string;
  kind: "kustomize" | "file";
}

export interface ClusterProblem {
  /** `Kind/name` (with `namespace/` before it when namespaced), as far as the message names it. */
  object: string;
  /** The API server's (or kubectl's) words. */
  message: string;
}

export interface TreeReport {
  tree: string;
  ok: boolean;
  objects: number;
  errors: ClusterProblem[];
  warnings: string[];
}

export interface ClusterReport {
  server: string;
  dryRun: boolean;
  trees: TreeReport[];
  /** Namespaces created for the dry-run (declared by the tree, missing in the cluster), then deleted. */
  createdNamespaces: string[];
  placement: PlacementResult[];
  ok: boolean;
}

export interface ClusterOptions {
  kubeconfig: string;
  /** kubectl binary (default: `kubectl` on PATH). */
  kubectl?: string;
  /** Apply for real instead of a server-side dry-run. */
  apply?: boolean;
  /** Environments whose engines the placement check covers (default: all). */
  environments?: readonly string[];
  /** Trees to send (default: every tree), by path, e.g. `overlays/production`. */
  trees?: (path: string) => boolean;
}

/**
 * The README's order: the cluster-wide GPU Operator config, the services' namespaces, base and
 * each environment's overlay (spot last: it is production moved), then ArgoCD's root and apps.
 */
export function clusterTrees(result: RenderResult): ClusterTree[] {
  const dirs = result.files
    .filter((f) => f.path.endsWith("/kustomization.yaml") && !f.path.startsWith("components/"))
    .map((f) => f.path.slice(0, -"/kustomization.yaml".length));
  const rank = (d: string) =>
    d.startsWith("cluster/")
      ? 0
      : d.startsWith("services/")
        ? 1
        : d === "base"
          ? 2
          : d === "overlays/spot"
            ? 4
            : d.startsWith("overlays/")
              ? 3
              : 5;
  const trees: ClusterTree[] = dirs
    .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
    .map((path) => ({ path, kind: "kustomize" as const }));
  const argo = result.files.filter((f) => f.path.startsWith("argocd/") && f.path.endsWith(".yaml"));
  const root = argo.filter((f) => f.path === "argocd/app-of-apps.yaml");
  const apps = argo
    .filter((f) => f.path !== "argocd/app-of-apps.yaml")
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  for (const f of [...root, ...apps]) trees.push({ path: f.path, kind: "file" });
  return trees;
}

type Kubectl = (args: readonly string[], stdin?: string) => { code: number; stdout: string; stderr: string };

function kubectlRunner(opts: ClusterOptions): Kubectl {
  const bin = opts.kubectl ?? "kubectl";
  return (args, stdin) => {
    const r = spawnSync(bin, ["--kubeconfig", opts.kubeconfig, ...args], {
      encoding: "utf8",
      input: stdin ?? "",
      timeout: 180_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error) return { code: 127, stdout: "", stderr: `kubectl: ${r.error.message}` };
    return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  };
}

function objectsOf(yamlText: string): K8sObject[] {
  return parseAllDocuments(yamlText)
    .map((d) => d.toJSON() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === "object" && typeof o.kind === "string");
}

/** kubectl's stderr split into the API server's rejections and warnings. */
export function parseApplyOutput(stderr: string): { errors: ClusterProblem[]; warnings: string[] } {
  const errors: ClusterProblem[] = [];
  const warnings: string[] = [];
  let current: string[] | null = null;
  const flush = () => {
    if (current === null) return;
    const message = current.join("\n").trim();
    errors.push({ object: objectNamed(message), message });
    current = null;
  };
  for (const line of stderr.split("\n")) {
    if (line.startsWith("Warning: ")) {
      flush();
      warnings.push(line.slice("Warning: ".length).trim());
    } else if (/^(Error from server|error:|Error:|resource mapping not found)/.test(line)) {
      flush();
      current = [line];
    } else if (current !== null && line.trim() !== "") current.push(line);
  }
  flush();
  return { errors, warnings };
}

function objectNamed(message: string): string {
  const named = /Name: "([^"]*)", Namespace: "([^"]*)"/.exec(message);
  const kind = /Kind=([A-Za-z]+)/.exec(message)?.[1];
  if (named) return `${named[2] ? `${named[2]}/` : ""}${kind ?? "?"}/${named[1]}`;
  const invalid = /([A-Z][A-Za-z]+)(?:\.[a-z0-9.]+)? "([^"]+)" is (?:invalid|forbidden)/.exec(message);
  if (invalid) return `${invalid[1]}/${invalid[2]}`;
  const mapping = /for name: "([^"]*)" namespace: "([^"]*)".*no matches for kind "([^"]+)"/s.exec(message);
  if (mapping) return `${mapping[2] ? `${mapping[2]}/` : ""}${mapping[3]}/${mapping[1]}`;
  const notFound = /namespaces "([^"]+)" not found/.exec(message);
  if (notFound) return `Namespace/${notFound[1]}`;
  return "?";
}

export function verifyOnCluster(outDir: string, result: RenderResult, opts: ClusterOptions): ClusterReport {
  const kubectl = kubectlRunner(opts);
  const dryRun = opts.apply !== true;
  const info = kubectl(["config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"]);
  const server = info.code === 0 ? info.stdout.trim() : "?";
  // One clear error for a cluster that cannot be reached, instead of one per tree.
  const reach = kubectl(["get", "--raw", "/version"]);
  if (reach.code !== 0) {
    const message = `cannot reach the cluster: ${reach.stderr.trim() || `kubectl exited ${reach.code}`}`;
    return {
      server,
      dryRun,
      trees: [{ tree: "(cluster)", ok: false, objects: 0, errors: [{ object: "?", message }], warnings: [] }],
      createdNamespaces: [],
      placement: [],
      ok: false,
    };
  }
  const trees = clusterTrees(result).filter((t) => opts.trees?.(t.path) ?? true);
  const built = trees.map((t): BuiltTree => {
    if (t.kind === "kustomize") return { tree: t, ...kubectl(["kustomize", join(outDir, t.path)]) };
    const content = result.files.find((f) => f.path === t.path)?.content ?? "";
    return { tree: t, code: 0, stdout: content, stderr: "" };
  });

  const created = dryRun ? createMissingNamespaces(kubectl, built) : [];
  const reports: TreeReport[] = [];
  try {
    for (const b of built) reports.push(applyTree(kubectl, b, dryRun));
  } finally {
    for (const ns of created) kubectl(["delete", "namespace", ns, "--wait=false"]);
  }

  const placement = checkPlacementOnCluster(kubectl, result, opts.environments);
  return {
    server,
    dryRun,
    trees: reports,
    createdNamespaces: created,
    placement,
    ok: reports.every((t) => t.ok) && placement.every((p) => p.ok),
  };
}

/** A tree as kubectl builds it: its objects as YAML, or why it could not. */
type BuiltTree = { tree: ClusterTree } & ReturnType<Kubectl>;

/** Namespaces the trees declare that the cluster lacks, created (and labelled temporary) before a dry-run. */
function createMissingNamespaces(kubectl: Kubectl, built: readonly BuiltTree[]): string[] {
  const created: string[] = [];
  const declared = new Set<string>();
  for (const b of built)
    for (const o of objectsOf(b.stdout)) if (o.kind === "Namespace") declared.add(o.metadata.name);
  for (const ns of [...declared].sort()) {
    if (kubectl(["get", "namespace", ns, "-o", "name"]).code === 0) continue;
    const c = kubectl(["create", "namespace", ns]);
    if (c.code === 0) {
      kubectl(["label", "namespace", ns, "inferplane.dev/verify=temporary"]);
      created.push(ns);
    }
  }
  return created;
}

/** Server-side apply of one tree (a dry run unless applying), its problems read from kubectl's output. */
function applyTree(kubectl: Kubectl, b: BuiltTree, dryRun: boolean): TreeReport {
  const name = b.tree.path;
  if (b.code !== 0) {
    return {
      tree: name,
      ok: false,
      objects: 0,
      errors: [{ object: "?", message: `kubectl kustomize failed: ${b.stderr.trim()}` }],
      warnings: [],
    };
  }
  const args = ["apply", "--server-side", "--field-manager=inferplane", "--force-conflicts"];
  if (dryRun) args.push("--dry-run=server");
  const r = kubectl([...args, "-f", "-"], b.stdout);
  const parsed = parseApplyOutput(r.stderr);
  if (r.code !== 0 && parsed.errors.length === 0)
    parsed.errors.push({ object: "?", message: r.stderr.trim() || `kubectl exited ${r.code}` });
  const count = r.stdout
    .split("\n")
    .filter((l) => /serverside-applied|unchanged|configured|created/.test(l)).length;
  return { tree: name, ok: parsed.errors.length === 0, objects: count, ...parsed };
}

interface NodeJson {
  metadata: { name: string; labels?: Record<string, string> };
  spec?: { taints?: { key: string; value?: string; effect: string }[]; unschedulable?: boolean };
  status?: { allocatable?: Record<string, string> };
}

/** Engine Deployments of each environment (base when there are none) as placement demands. */
export function engineDemands(result: RenderResult, environments?: readonly string[]): EngineDemand[] {
  const envs = result.environments.length > 0 ? result.environments : [result.base];
  const out: EngineDemand[] = [];
  for (const e of envs) {
    if (environments && !environments.includes(e.name)) continue;
    for (const { object } of e.objects) {
      if (
        object.kind !== "Deployment" ||
        object.metadata.labels?.["app.kubernetes.io/component"] !== "engine"
      )
        continue;
      out.push(engineDemand(e, object));
    }
  }
  return out;
}

/** What one engine Deployment asks of the nodes: GPUs per pod, replicas up to its autoscaler's cap, placement rules. */
function engineDemand(e: RenderedEnvironment, object: K8sObject): EngineDemand {
  const spec = object.spec as {
    replicas?: number;
    template: {
      spec: {
        nodeSelector?: Record<string, string>;
        tolerations?: { key?: string; operator?: string; value?: string; effect?: string }[];
        topologySpreadConstraints?: { whenUnsatisfiable?: string }[];
        containers: { resources?: { requests?: Record<string, string> } }[];
      };
    };
  };
  const pod = spec.template.spec;
  const requests: Record<string, number> = {};
  for (const c of pod.containers)
    for (const [k, v] of Object.entries(c.resources?.requests ?? {}))
      if (k.startsWith("nvidia.com/")) requests[k] = (requests[k] ?? 0) + Number(v);
  const scaler = e.objects.find(
    (o) =>
      (o.object.kind === "ScaledObject" || o.object.kind === "HorizontalPodAutoscaler") &&
      o.object.metadata.name === object.metadata.name,
  )?.object.spec as { maxReplicaCount?: number; maxReplicas?: number } | undefined;
  return {
    environment: e.name,
    name: object.metadata.name,
    minReplicas: spec.replicas ?? 1,
    maxReplicas: scaler?.maxReplicaCount ?? scaler?.maxReplicas ?? spec.replicas ?? 1,
    nodeSelector: pod.nodeSelector ?? {},
    tolerations: pod.tolerations ?? [],
    requests,
    spreadHard: pod.topologySpreadConstraints?.some((t) => t.whenUnsatisfiable === "DoNotSchedule") ?? false,
  };
}

function checkPlacementOnCluster(
  kubectl: Kubectl,
  result: RenderResult,
  environments?: readonly string[],
): PlacementResult[] {
  const r = kubectl(["get", "nodes", "-o", "json"]);
  if (r.code !== 0) return [];
  const nodes: NodeCapacity[] = (JSON.parse(r.stdout) as { items: NodeJson[] }).items
    .filter((n) => n.spec?.unschedulable !== true)
    .map((n) => ({
      name: n.metadata.name,
      labels: n.metadata.labels ?? {},
      taints: (n.spec?.taints ?? []).map((t) => ({ key: t.key, value: t.value, effect: t.effect })),
      allocatable: Object.fromEntries(
        Object.entries(n.status?.allocatable ?? {})
          .filter(([k]) => k.startsWith("nvidia.com/"))
          .map(([k, v]) => [k, Number(v)]),
      ),
    }));
  // Environments are checked one at a time: each is meant for its own cluster (or its own nodes).
  const demands = engineDemands(result, environments);
  const byEnv = new Map<string, EngineDemand[]>();
  for (const d of demands) byEnv.set(d.environment, [...(byEnv.get(d.environment) ?? []), d]);
  return [...byEnv.values()].flatMap((ds) => placeEngines(nodes, ds));
}
