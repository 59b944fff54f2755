/**
 * Where each model's replicas run and what they request, read from the planner's Plan. A model
 * the plan does not cover (a planner without an answer for it, or a model with no `gpu`) is
 * placed straight from the spec's `gpu` fields: its pool's node selector, `nvidia.com/gpu` ×
 * count, or one `nvidia.com/mig-<profile>` (one `nvidia.com/gpu` under the `single` strategy).
 */
import { normalizeProfileName } from "../catalog/mig.js";
import { InferplaneError } from "../errors.js";
import type { MigPartedConfig, ModelPlan, Plan } from "../planner/index.js";
import type { GpuPool, ModelSpec, Platform } from "../spec/schema.js";

export interface Toleration {
  key: string;
  operator: "Exists" | "Equal";
  value?: string;
  effect: "NoSchedule" | "NoExecute" | "PreferNoSchedule";
}

export interface ModelPlacement {
  /** Extended resource and count per replica; null for CPU-only models. */
  gpu: { resource: string; count: number } | null;
  tensorParallel: number;
  gpuMemoryUtilization: number;
  maxModelLen: number | undefined;
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
  pool: GpuPool | undefined;
  /** On a time-sliced or MPS pool: replicas share GPUs. */
  shared: boolean;
  /** Replicas the plan's inventory holds at most (autoscaling's real ceiling); null without a plan. */
  holds: number | null;
  /** Where the numbers came from. */
  from: "plan" | "spec";
}

/** Taint the GPU Operator's docs (and the guide) put on GPU nodes. */
export const GPU_TOLERATION: Toleration = { key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" };

/**
 * Spot / preemptible taints of the big providers: GKE (`cloud.google.com/gke-spot`), the guide's
 * older `gke-preemptible`, Karpenter (`karpenter.sh/capacity-type`), AKS
 * (`kubernetes.azure.com/scalesetpriority`).
 */
export const SPOT_TOLERATIONS: Toleration[] = [
  { key: "cloud.google.com/gke-spot", operator: "Equal", value: "true", effect: "NoSchedule" },
  { key: "cloud.google.com/gke-preemptible", operator: "Equal", value: "true", effect: "NoSchedule" },
  { key: "karpenter.sh/capacity-type", operator: "Equal", value: "spot", effect: "NoSchedule" },
  { key: "kubernetes.azure.com/scalesetpriority", operator: "Equal", value: "spot", effect: "NoSchedule" },
];

export function migStrategy(p: Platform): "single" | "mixed" | null {
  const pools = p.gpus.filter((g) => g.sharing.mode === "mig");
  if (pools.length === 0) return null;
  // The operator's strategy is cluster-wide: mixed as soon as one pool wants it or mixes profiles.
  const mixed = pools.some(
    (g) =>
      g.sharing.mig?.strategy === "mixed" ||
      new Set((g.sharing.mig?.layouts ?? []).flatMap((l) => l.profiles.map(normalizeProfileName))).size > 1,
  );
  return mixed ? "mixed" : "single";
}

export const PRODUCT_LABEL = "nvidia.com/gpu.product";

export function isSharedPool(pool: GpuPool | undefined): boolean {
  return pool !== undefined && (pool.sharing.mode === "time-slicing" || pool.sharing.mode === "mps");
}

/**
 * The labels a pool's pods select once the pool runs as configured. With time slicing or MPS on
 * (and `renameByDefault: false`), GPU Feature Discovery publishes the product as
 * `<product>-SHARED` (NVIDIA GPU Operator docs, "Time-Slicing GPUs in Kubernetes"), so a pod
 * selecting the plain product would never find a shared node.
 */
export function podNodeSelector(
  pool: GpuPool | undefined,
  selector: Record<string, string>,
): Record<string, string> {
  const out = { ...selector };
  const product = out[PRODUCT_LABEL];
  if (isSharedPool(pool) && product !== undefined && !product.endsWith("-SHARED"))
    out[PRODUCT_LABEL] = `${product}-SHARED`;
  return out;
}

function placeFromSpec(p: Platform, m: ModelSpec): ModelPlacement {
  const pool = m.gpu ? p.gpus.find((g) => g.name === m.gpu?.pool) : undefined;
  const tolerations = pool ? [GPU_TOLERATION, ...(pool.spot ? SPOT_TOLERATIONS : [])] : [];
  const base = {
    gpuMemoryUtilization: m.gpuMemoryUtilization,
    maxModelLen: m.maxModelLen,
    nodeSelector: podNodeSelector(pool, pool?.nodeSelector ?? {}),
    tolerations,
    pool,
    shared: isSharedPool(pool) && m.gpu?.migProfile === undefined,
    holds: null,
    from: "spec" as const,
  };
  if (!m.gpu) return { ...base, gpu: null, tensorParallel: 1 };
  if (m.gpu.migProfile !== undefined) {
    const profile = normalizeProfileName(m.gpu.migProfile);
    const resource = migStrategy(p) === "single" ? "nvidia.com/gpu" : `nvidia.com/mig-${profile}`;
    return { ...base, gpu: { resource, count: 1 }, tensorParallel: 1 };
  }
  const count = m.gpu.count === "auto" ? 1 : m.gpu.count;
  const shared = pool !== undefined && (pool.sharing.mode === "time-slicing" || pool.sharing.mode === "mps");
  const ways = pool?.sharing.replicas ?? 1;
  if (shared && m.gpu.count !== "auto" && m.gpuMemoryUtilization * ways > 1 + 1e-9) {
    // Time slicing isolates no memory: `ways` replicas on one GPU must share it.
    throw new InferplaneError(
      "spec_invalid",
      `model ${m.name}: gpuMemoryUtilization ${m.gpuMemoryUtilization} on pool ${pool?.name}, shared ${ways} ways, claims ${(m.gpuMemoryUtilization * ways).toFixed(2)} of one GPU; use at most ${(Math.floor(100 / ways) / 100).toFixed(2)}`,
    );
  }
  return { ...base, gpu: { resource: "nvidia.com/gpu", count: shared ? 1 : count }, tensorParallel: count };
}

function placeFromPlan(p: Platform, m: ModelSpec, mp: ModelPlan): ModelPlacement {
  const fallback = placeFromSpec(p, m);
  return {
    ...fallback,
    gpu: mp.resourceName === null ? fallback.gpu : { resource: mp.resourceName, count: mp.resourceCount },
    tensorParallel: mp.tensorParallelSize,
    gpuMemoryUtilization: mp.gpuMemoryUtilization,
    maxModelLen: m.maxModelLen ?? mp.maxModelLen,
    nodeSelector: podNodeSelector(fallback.pool, { ...fallback.nodeSelector, ...mp.nodeSelector }),
    holds: mp.replicas.holds,
    from: "plan",
  };
}

/**
 * Whether the plan's unit is the one the spec fixes: the MIG profile it names, or whole GPUs of
 * its count (a share of one on a time-sliced pool). With `count: auto` any unit the plan chose.
 */
function agrees(p: Platform, m: ModelSpec, mp: ModelPlan): boolean {
  const unit = mp.unit;
  if (unit === null || !m.gpu) return false;
  if (m.gpu.migProfile !== undefined)
    return unit.kind === "mig" && unit.profile === normalizeProfileName(m.gpu.migProfile);
  if (m.gpu.count === "auto") return true;
  const pool = p.gpus.find((g) => g.name === m.gpu?.pool);
  const shared = pool?.sharing.mode === "time-slicing" || pool?.sharing.mode === "mps";
  return shared ? unit.kind === "time-slice" : unit.kind === "gpu" && unit.tp === m.gpu.count;
}

/** Placement of every model, by name. */
export function placeModels(p: Platform, plan: Plan | null): Map<string, ModelPlacement> {
  const byName = new Map((plan?.models ?? []).map((mp) => [mp.name, mp]));
  const out = new Map<string, ModelPlacement>();
  for (const m of p.models) {
    const mp = byName.get(m.name);
    out.set(m.name, mp && agrees(p, m, mp) ? placeFromPlan(p, m, mp) : placeFromSpec(p, m));
  }
  return out;
}

/** A node group and the labels its nodes need. */
export interface NodeLabels {
  pool: string;
  /** Node names in the plan (`a100-0`) — stand-ins for the real nodes of the pool. */
  nodes: string[];
  selector: Record<string, string>;
  labels: Record<string, string>;
}

export interface GpuConfig {
  migConfigs: MigPartedConfig[];
  nodeLabels: NodeLabels[];
}

/**
 * mig-parted configs and node labels: the plan's when it has nodes, else one config per MIG
 * pool laying its `layouts` out on the first GPUs of every node (the rest stay MIG-disabled).
 */
export function gpuConfig(p: Platform, plan: Plan | null): GpuConfig {
  if (plan !== null && plan.nodes.length > 0) {
    return { migConfigs: plan.migConfigs, nodeLabels: planNodeLabels(p, plan) };
  }
  const migConfigs: MigPartedConfig[] = [];
  const nodeLabels: NodeLabels[] = [];
  for (const pool of p.gpus) {
    const perNode = pool.gpusPerNode ?? Math.min(pool.count, 8);
    const nodes = Math.ceil(pool.count / perNode);
    const names = Array.from({ length: nodes }, (_, i) => `${pool.name}-${i}`);
    if (pool.sharing.mode === "mig" && pool.sharing.mig) {
      const name = `inferplane-${pool.name}`;
      migConfigs.push({ name, devices: migDevices(pool.sharing.mig.layouts, nodes, perNode) });
      nodeLabels.push({
        pool: pool.name,
        nodes: names,
        selector: { ...pool.nodeSelector },
        labels: { "nvidia.com/mig.config": name },
      });
    } else if (pool.sharing.mode === "time-slicing" || pool.sharing.mode === "mps") {
      nodeLabels.push({
        pool: pool.name,
        nodes: names,
        selector: { ...pool.nodeSelector },
        labels: { "nvidia.com/device-plugin.config": pool.name },
      });
    }
  }
  return { migConfigs, nodeLabels };
}

/** The plan's nodes grouped by pool and the labels they need. */
function planNodeLabels(p: Platform, plan: Plan): NodeLabels[] {
  const groups = new Map<string, NodeLabels>();
  for (const n of plan.nodes) {
    const key = `${n.pool}\u0000${JSON.stringify(n.labels)}`;
    const pool = p.gpus.find((g) => g.name === n.pool);
    const g = groups.get(key) ?? {
      pool: n.pool,
      nodes: [],
      selector: { ...(pool?.nodeSelector ?? {}) },
      labels: { ...n.labels },
    };
    g.nodes.push(n.name);
    groups.set(key, g);
  }
  return [...groups.values()];
}

/** One node's GPUs: each layout on its share of the first GPUs, the rest MIG-disabled. */
function migDevices(layouts: MigLayout[], nodes: number, perNode: number): MigPartedConfig["devices"] {
  const devices: MigPartedConfig["devices"] = [];
  let next = 0;
  for (const layout of layouts) {
    const n = Math.min(Math.ceil(layout.gpus / nodes), perNode - next);
    if (n <= 0) continue;
    const migDevices: Record<string, number> = {};
    for (const prof of layout.profiles) {
      const k = normalizeProfileName(prof);
      migDevices[k] = (migDevices[k] ?? 0) + 1;
    }
    devices.push({ devices: range(next, n), migEnabled: true, migDevices });
    next += n;
  }
  if (next < perNode)
    devices.push({ devices: range(next, perNode - next), migEnabled: false, migDevices: {} });
  return devices;
}

type MigLayout = NonNullable<GpuPool["sharing"]["mig"]>["layouts"][number];

function range(start: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => start + i);
}
