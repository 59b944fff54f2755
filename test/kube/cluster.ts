// Shared setup of the tests on the real control plane: fake nodes shaped from a plan (whole
// GPUs, MIG instances, time-slicing shares, with the labels the GPU Operator would put there),
// pre-bound volumes (no provisioner runs), and a rendered example written to a temp dir.
import { mkdtempSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { getGpu } from "../../src/catalog/gpus.js";
import { makePlanner } from "../../src/deploy/plan.js";
import { renderPlatform } from "../../src/deploy/render.js";
import { writeTree } from "../../src/deploy/write.js";
import type { Plan } from "../../src/planner/types.js";
import type { Platform } from "../../src/spec/schema.js";
import { VERSION } from "../deploy/helpers.js";
import type { FakeNode, KubeService } from "../services/kube.js";

/** Nodes as the plan lays them out, each carrying what GPU Feature Discovery and the device plugin would advertise. */
/**
 * The API server refuses loopback endpoint addresses ("may not be in the loopback range"), so
 * replicas behind EndpointSlices listen on this machine's own interface address; nothing leaves it.
 */
export function localAddress(): string {
  const found = Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === "IPv4" && !a.internal);
  if (!found) throw new Error("no non-loopback IPv4 address on this machine for endpoint addresses");
  return found.address;
}

export function nodesFromPlan(p: Platform, plan: Plan): FakeNode[] {
  return plan.nodes.map((n) => {
    const pool = p.gpus.find((g) => g.name === n.pool);
    const product = getGpu(n.gpuType).nvidiaProductName;
    const capacity: Record<string, number> = {};
    let shared: { mode: string; replicas: number } | null = null;
    for (const g of n.gpus) {
      const l = g.layout;
      if (l.mode === "mig")
        for (const s of l.slices)
          capacity[`nvidia.com/mig-${s.profile}`] = (capacity[`nvidia.com/mig-${s.profile}`] ?? 0) + 1;
      else if (l.mode === "time-slicing") {
        capacity["nvidia.com/gpu"] = (capacity["nvidia.com/gpu"] ?? 0) + l.sharesPerGpu;
        shared = { mode: pool?.sharing.mode ?? "time-slicing", replicas: l.sharesPerGpu };
      } else if (pool?.sharing.mode === "time-slicing" || pool?.sharing.mode === "mps") {
        const r = pool.sharing.replicas ?? 1;
        capacity["nvidia.com/gpu"] = (capacity["nvidia.com/gpu"] ?? 0) + r;
        shared = { mode: pool.sharing.mode, replicas: r };
      } else capacity["nvidia.com/gpu"] = (capacity["nvidia.com/gpu"] ?? 0) + 1;
    }
    // GFD renames the product of a shared GPU (renameByDefault: false) and says how it is shared.
    const labels: Record<string, string> = {
      ...(pool?.nodeSelector ?? {}),
      ...n.labels,
      "nvidia.com/gpu.product": shared ? `${product}-SHARED` : product,
      ...(shared
        ? {
            "nvidia.com/gpu.replicas": String(shared.replicas),
            "nvidia.com/gpu.sharing-strategy": shared.mode,
          }
        : {}),
    };
    return {
      name: n.name,
      labels,
      taints: [{ key: "nvidia.com/gpu", effect: "NoSchedule" as const }],
      capacity: Object.fromEntries(Object.entries(capacity).map(([k, v]) => [k, String(v)])),
    };
  });
}

export const CPU_NODES: FakeNode[] = [{ name: "cpu-0" }, { name: "cpu-1" }, { name: "cpu-2" }];

/** hostPath volumes the claims bind to (class-less, so class-less claims take them). */
export async function addVolumes(kube: KubeService, rwx: number, rwo: number): Promise<void> {
  const pv = (name: string, mode: string) => ({
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name },
    spec: {
      capacity: { storage: "2Ti" },
      accessModes: [mode],
      persistentVolumeReclaimPolicy: "Delete",
      storageClassName: "",
      hostPath: { path: `/tmp/${name}` },
    },
  });
  const docs = [
    ...Array.from({ length: rwx }, (_, i) => pv(`rwx-${i}`, "ReadWriteMany")),
    ...Array.from({ length: rwo }, (_, i) => pv(`rwo-${i}`, "ReadWriteOnce")),
  ];
  await kube.kubectlOk(["apply", "-f", "-"], { stdin: docs.map((d) => JSON.stringify(d)).join("\n") });
}

export function renderTo(specText: string, file = "inferplane.yaml") {
  const out = mkdtempSync(join(tmpdir(), "inferplane-kube-render-"));
  const result = renderPlatform(specText, { version: VERSION, plan: makePlanner(), file });
  writeTree(out, result.files);
  return { out, result };
}

interface PodJson {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { nodeName?: string };
  status: { phase?: string; conditions?: { type: string; status: string; reason?: string }[] };
}

/** Pods of one engine Deployment: count per node, and how many are unscheduled. */
export async function podsByNode(
  kube: KubeService,
  namespace: string,
  deployment: string,
): Promise<{ byNode: Record<string, number>; pending: number; total: number }> {
  const out = await kube.kubectlOk([
    "get",
    "pods",
    "-n",
    namespace,
    "-l",
    `app.kubernetes.io/name=${deployment}`,
    "-o",
    "json",
  ]);
  const pods = (JSON.parse(out) as { items: PodJson[] }).items;
  const byNode: Record<string, number> = {};
  let pending = 0;
  for (const p of pods) {
    if (p.spec.nodeName) byNode[p.spec.nodeName] = (byNode[p.spec.nodeName] ?? 0) + 1;
    else pending++;
  }
  return { byNode, pending, total: pods.length };
}

/** Replicas of a model per plan node (from the plan's GPU layouts). */
export function planReplicasByNode(plan: Plan, model: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of plan.nodes) {
    const replicas = new Set<number>();
    for (const g of n.gpus) {
      const l = g.layout;
      if (l.mode === "exclusive" && l.model === model) replicas.add(l.replica);
      if (l.mode === "mig")
        for (const s of l.slices) if (s.model === model && s.replica !== null) replicas.add(s.replica);
      if (l.mode === "time-slicing") for (const s of l.shares) if (s.model === model) replicas.add(s.replica);
    }
    if (replicas.size > 0) out[n.name] = replicas.size;
  }
  return out;
}
