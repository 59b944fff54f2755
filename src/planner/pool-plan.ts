/**
 * One pool's plan: its models' replicas packed onto its GPUs (as many as fit, in priority order,
 * when not all do), how far each model can scale beside the others, the GPUs in use hour by hour,
 * and the layout per node with its mig-parted config.
 */
import { type PackItem, type PackPool, type PackResult, packPool } from "./packing.js";
import { type Chosen, HOURS_PER_MONTH, type PoolInfo, round, TIME_SLICE_MEMORY_CAP } from "./pools.js";
import type {
  GpuLayout,
  GpuPlan,
  Infeasibility,
  MigPartedConfig,
  NodePlan,
  PlanCost,
  PlanOptions,
  PoolPlan,
} from "./types.js";

export interface PoolOutcome {
  plan: PoolPlan;
  nodes: NodePlan[];
  configs: MigPartedConfig[];
  cost: PlanCost["perPool"][number];
}

function packPoolOf(
  info: PoolInfo,
  options: PlanOptions,
): { pool: PackPool; budget: number; exactLimit: number } {
  const mode = info.pool.sharing.mode;
  const pool: PackPool = {
    gpuType: info.gpu.id,
    gpus: info.pool.count,
    gpusPerNode: info.perNode,
    fixed: info.fixed,
    ...(mode === "time-slicing" || mode === "mps"
      ? {
          sharesPerGpu: info.pool.sharing.replicas ?? 1,
          shareCapacity: Math.round(TIME_SLICE_MEMORY_CAP * 100),
        }
      : {}),
  };
  const exactLimit = options.exactLimit ?? 16;
  return { pool, budget: options.exactBudget ?? 200_000, exactLimit };
}

/** How many of `all` a pack result holds (all of them when feasible, else the prefix it placed). */
function packedCount(packed: PackResult, all: readonly PackItem[]): number {
  if (packed.feasible) {
    const keys = new Set(packed.gpus.flatMap((g) => g.items.map((x) => x.key)));
    return all.filter((x) => keys.has(x.key)).length;
  }
  return 0;
}

/** Items of a pool, each model's first replica before anyone's second (the order capacity is shared in). */
function itemsFor(chosen: readonly Chosen[], counts: (c: Chosen) => number): PackItem[] {
  const most = Math.max(0, ...chosen.map(counts));
  const out: PackItem[] = [];
  for (let r = 0; r < most; r++) {
    for (const c of chosen) if (c.plan.unit && r < counts(c)) out.push(c.item(`${c.plan.name}#${r}`));
  }
  return out;
}

function runPacker(info: PoolInfo, items: readonly PackItem[], options: PlanOptions): PackResult {
  const { pool, budget, exactLimit } = packPoolOf(info, options);
  // Above the exact limit: first-fit decreasing with a little backtracking.
  const b = info.pool.count <= exactLimit ? budget : 20 * (items.length + 1);
  return packPool(pool, items, { budget: b });
}

export function planPool(
  info: PoolInfo,
  chosen: readonly Chosen[],
  options: PlanOptions,
  infeasible: Infeasibility[],
): PoolOutcome {
  const mine = chosen.filter((c) => c.pool === info && c.plan.unit !== null);
  const all = itemsFor(mine, (c) => c.plan.replicas.placed);
  let packed = runPacker(info, all, options);
  if (!packed.feasible && all.length > 0) packed = packWhatFits(info, mine, all, packed, options, infeasible);
  capToWhatFits(info, mine, all, packed, options);
  const hourly = hourlyGpus(info, mine, all, packed, options);
  const { nodes, configs } = layoutPool(info, packed);
  const scaled = hourly.reduce((s, u) => s + u * info.price * (HOURS_PER_MONTH / 24), 0);
  return {
    nodes,
    configs,
    cost: {
      pool: info.pool.name,
      gpusUsed: packed.used,
      onDemandMonthly: round(packed.used * info.price * HOURS_PER_MONTH),
      scaledMonthly: round(scaled),
      spotMonthly: round(scaled * (1 - info.spotDiscount)),
    },
    plan: {
      name: info.pool.name,
      gpuType: info.gpu.id,
      gpus: info.pool.count,
      gpusPerNode: info.perNode,
      sharing: info.pool.sharing.mode,
      gpusUsed: packed.used,
      pricePerGpuHour: info.price,
      spot: info.pool.spot,
      spotDiscount: info.spotDiscount,
      packing: packed.exact && info.pool.count <= (options.exactLimit ?? 16) ? "exact" : "heuristic",
      lowerBound: packed.lowerBound,
    },
  };
}

/**
 * The replicas do not all fit: place as many as fit (in priority order), cut the models' counts
 * to what was placed, and say what the rest need.
 */
function packWhatFits(
  info: PoolInfo,
  mine: readonly Chosen[],
  all: readonly PackItem[],
  failed: PackResult,
  options: PlanOptions,
  infeasible: Infeasibility[],
): PackResult {
  let lo = 0;
  let hi = all.length - 1;
  let bestFit: PackResult | null = null;
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    // Probes use the quick search; the prefix kept is packed again below with the full one.
    const r = runPacker(info, all.slice(0, mid + 1), { ...options, exactBudget: 20 * (mid + 2) });
    if (r.feasible) {
      bestFit = r;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const placedCount = lo;
  infeasible.push(shortfall(info, all, placedCount, failed, options));
  for (const c of mine) {
    const placedHere = all.slice(0, placedCount).filter((x) => x.key.startsWith(`${c.plan.name}#`)).length;
    if (placedHere < c.plan.replicas.placed) {
      c.plan.notes.push(
        `only ${placedHere} of ${c.plan.replicas.placed} replicas fit pool ${info.pool.name}`,
      );
      c.plan.replicas.placed = placedHere;
      c.plan.hourlyReplicas = c.plan.hourlyReplicas.map((h) => Math.min(h, placedHere));
    }
  }
  const exact = bestFit ? runPacker(info, all.slice(0, placedCount), options) : null;
  return exact?.feasible ? exact : (bestFit ?? runPacker(info, [], options));
}

/** `inventory-exhausted`: how many replicas the pool holds and how many GPUs the rest need. */
function shortfall(
  info: PoolInfo,
  all: readonly PackItem[],
  placedCount: number,
  failed: PackResult,
  options: PlanOptions,
): Infeasibility {
  const rest = all.slice(placedCount);
  const unbounded = packPool(
    { ...packPoolOf(info, options).pool, gpus: rest.length * 16, gpusPerNode: info.perNode, fixed: [] },
    rest,
    { budget: 20 * (rest.length + 1) },
  );
  const byModel = new Map<string, number>();
  for (const x of rest) {
    const model = x.key.slice(0, x.key.lastIndexOf("#"));
    byModel.set(model, (byModel.get(model) ?? 0) + 1);
  }
  const models = [...byModel]
    .map(([k, v]) => `${k} ×${v}`)
    .slice(0, 8)
    .join(", ");
  const more = byModel.size > 8 ? `, … ${byModel.size - 8} more models` : "";
  return {
    subject: { kind: "pool", name: info.pool.name },
    code: "inventory-exhausted",
    message:
      `pool ${info.pool.name} (${info.pool.count} × ${info.gpu.id}) holds ${placedCount} of the ${all.length} replicas planned (${failed.reason}); ` +
      `the other ${rest.length} (${models}${more}) ` +
      `need ${unbounded.feasible ? unbounded.used : "more"} more ${info.gpu.id} GPUs laid out the same way`,
  };
}

/**
 * How far each model can really scale: its replicas the pool holds beside everyone else's
 * placed ones. A ceiling above it would leave pods Pending; say so.
 */
function capToWhatFits(
  info: PoolInfo,
  mine: readonly Chosen[],
  all: readonly PackItem[],
  packed: PackResult,
  options: PlanOptions,
): void {
  for (const c of mine) {
    const r = c.plan.replicas;
    let holds = r.placed;
    while (holds < r.max) {
      const extra = Array.from({ length: holds + 1 - r.placed }, (_, k) =>
        c.item(`${c.plan.name}#${r.placed + k}`),
      );
      const probe = runPacker(info, [...all.slice(0, packedCount(packed, all)), ...extra], {
        ...options,
        exactBudget: 20 * (all.length + extra.length + 1),
      });
      if (!probe.feasible) break;
      holds++;
    }
    r.holds = holds;
    if (holds < r.max) {
      c.plan.notes.push(
        `pool ${info.pool.name} holds ${holds} of the ${r.max} replicas maxReplicas allows (beside the other models' placed replicas); render caps the autoscaler at ${holds}`,
      );
    }
  }
}

/** GPUs in use hour by hour: each distinct demand packed once (the scaled cost). */
function hourlyGpus(
  info: PoolInfo,
  mine: readonly Chosen[],
  all: readonly PackItem[],
  packed: PackResult,
  options: PlanOptions,
): number[] {
  const hourly: number[] = [];
  const memo = new Map<string, number>();
  for (let h = 0; h < 24; h++) {
    const items = itemsFor(mine, (c) => c.plan.hourlyReplicas[h] ?? c.plan.replicas.placed);
    const key = items.map((x) => x.key).join(",");
    let used = memo.get(key);
    if (used === undefined) {
      const r = items.length === all.length ? packed : runPacker(info, items, options);
      used = r.feasible ? r.used : packed.used;
      memo.set(key, used);
    }
    hourly.push(used);
  }
  return hourly;
}

const splitKey = (key: string) => {
  const k = key.lastIndexOf("#");
  return { model: key.slice(0, k), replica: Number(key.slice(k + 1)) };
};

/** One GPU's layout from its packing. */
function gpuLayout(info: PoolInfo, g: PackResult["gpus"][number]): GpuLayout {
  const first = g.items[0];
  if (g.mig !== null) {
    return {
      mode: "mig",
      slices: g.mig.map((s) => ({
        profile: s.profile,
        start: s.start,
        size: s.size,
        model: s.key === null ? null : splitKey(s.key).model,
        replica: s.key === null ? null : splitKey(s.key).replica,
      })),
    };
  }
  if (first?.kind === "gpu") {
    const { model, replica } = splitKey(first.key);
    return { mode: "exclusive", model, replica, rank: g.rank ?? 0, tp: first.tp };
  }
  if (first?.kind === "share") {
    return {
      mode: "time-slicing",
      sharesPerGpu: info.pool.sharing.replicas ?? 1,
      shares: g.items.map((x) => ({
        ...splitKey(x.key),
        memoryFraction: x.kind === "share" ? x.units / 100 : 0,
      })),
    };
  }
  return { mode: "unused" };
}

type MigDevices = MigPartedConfig["devices"];

/** A node's GPUs grouped by MIG geometry, as a mig-parted config lists them. */
function migDevicesOf(gpus: readonly GpuPlan[]): MigDevices {
  const groups = new Map<string, MigDevices[number]>();
  for (const g of gpus) {
    const devices: Record<string, number> = {};
    if (g.layout.mode === "mig")
      for (const s of g.layout.slices) devices[s.profile] = (devices[s.profile] ?? 0) + 1;
    const sorted = Object.fromEntries(Object.entries(devices).sort(([a], [b]) => a.localeCompare(b)));
    const key = JSON.stringify(sorted);
    const group = groups.get(key) ?? {
      devices: [],
      migEnabled: Object.keys(sorted).length > 0,
      migDevices: sorted,
    };
    group.devices.push(g.index);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** The node's mig-parted config name (one config per distinct node geometry), or null without MIG. */
function migConfigName(info: PoolInfo, gpus: readonly GpuPlan[], configs: Map<string, MigPartedConfig>) {
  const devices = migDevicesOf(gpus);
  if (!devices.some((d) => d.migEnabled)) return null;
  const key = JSON.stringify(devices);
  let cfg = [...configs.values()].find((c) => JSON.stringify(c.devices) === key);
  if (!cfg) {
    const only = devices.length === 1 ? devices[0] : undefined;
    const cfgName = only
      ? `all-${Object.entries(only.migDevices)
          .map(([p, c]) => `${p}-x${c}`)
          .join("-")}`
      : `${info.pool.name}-mixed-${configs.size}`;
    cfg = { name: cfgName, devices };
    configs.set(cfgName, cfg);
  }
  return cfg.name;
}

/** Nodes of a pool from its packing: each GPU's layout, and the mig-parted config per distinct node geometry. */
function layoutPool(info: PoolInfo, packed: PackResult): { nodes: NodePlan[]; configs: MigPartedConfig[] } {
  const nodes: NodePlan[] = [];
  const configs = new Map<string, MigPartedConfig>();
  const nodeCount = Math.ceil(info.pool.count / info.perNode);
  const mode = info.pool.sharing.mode;
  for (let n = 0; n < nodeCount; n++) {
    const gpus: GpuPlan[] = packed.gpus
      .filter((g) => g.node === n)
      .map((g) => ({ index: g.index - n * info.perNode, layout: gpuLayout(info, g) }));
    const labels: Record<string, string> = {};
    let migConfig: string | null = null;
    if (mode === "mig") {
      migConfig = migConfigName(info, gpus, configs);
      labels["nvidia.com/mig.config"] = migConfig ?? "all-disabled";
    }
    // Time slicing and MPS are off until the node names its device-plugin config (the GPU
    // Operator's devicePlugin.config has one key per shared pool, see src/deploy/gpu.ts).
    if (mode === "time-slicing" || mode === "mps") labels["nvidia.com/device-plugin.config"] = info.pool.name;
    nodes.push({
      name: `${info.pool.name}-${n}`,
      pool: info.pool.name,
      gpuType: info.gpu.id,
      gpus,
      migConfig,
      labels,
    });
  }
  return { nodes, configs: [...configs.values()] };
}
