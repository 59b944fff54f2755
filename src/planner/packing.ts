/**
 * Packing replicas onto one pool's GPUs, minimising the GPUs used.
 *
 * Items are replicas: whole-GPU groups (tensor parallel over `tp` GPUs of one node), MIG
 * instances of a profile, or time-slicing shares with a memory fraction. Whole groups take whole
 * GPUs, so they are placed first (best-fit decreasing over nodes); the fractional items then go
 * into the remaining GPUs by branch and bound: items in decreasing size, each tried in every
 * open GPU whose state differs and in one new GPU, pruned by a lower bound (memory slices ÷ 8,
 * compute slices ÷ 7, instances ÷ 7, time-slice memory ÷ capacity and shares ÷ shares per GPU).
 * Identical items go to GPUs in non-decreasing order, and GPUs in identical states are tried
 * once, so symmetric assignments are not revisited. The first descent is first-fit decreasing;
 * the search stops at the lower bound or when its node budget runs out (then the result is the
 * best found, flagged `exact: false`). A GPU's MIG geometry is legal when the catalog's
 * placement search (`isLegalMigLayout`) finds start slots for it.
 */
import { getGpu } from "../catalog/gpus.js";
import { isLegalMigLayout, type MigPlacement } from "../catalog/mig.js";

export type PackItem =
  | { kind: "gpu"; key: string; tp: number }
  | { kind: "mig"; key: string; profile: string }
  /** `units`: hundredths of the GPU's memory (gpu_memory_utilization × 100). */
  | { kind: "share"; key: string; units: number };

export interface PackPool {
  /** Catalog GPU id (MIG profiles and placements come from it). */
  gpuType: string;
  gpus: number;
  gpusPerNode: number;
  /** Per GPU index: a MIG geometry fixed by the spec (its instances only), or null. */
  fixed?: readonly (readonly string[] | null)[];
  /** Time-slicing: shares each GPU is split into. */
  sharesPerGpu?: number;
  /** Time-slicing: hundredths of a GPU's memory the shares may use together (default 95). */
  shareCapacity?: number;
}

export interface PackedGpu {
  index: number;
  node: number;
  items: PackItem[];
  /** For MIG GPUs: where each instance sits, keyed by item (null key: a free fixed instance). */
  mig: (MigPlacement & { key: string | null })[] | null;
  /** For whole groups: rank of this GPU in the group. */
  rank: number | null;
}

export interface PackResult {
  /** Every GPU of the pool, used or not. */
  gpus: PackedGpu[];
  used: number;
  /** Whether `used` is proven minimal. */
  exact: boolean;
  lowerBound: number;
  /** Whether every item was placed (otherwise `gpus` holds no assignment). */
  feasible: boolean;
  /** Why not, when infeasible. */
  reason: string;
}

export interface PackOptions {
  /** Search nodes before settling for the best found; 1 gives first-fit decreasing. */
  budget?: number;
}

const DEFAULT_BUDGET = 200_000;

interface Bin {
  /** Index into `fixedGeometries` or -1 for a free GPU. */
  fixed: number;
  profiles: string[];
  units: number;
  count: number;
  compute: number;
  memory: number;
}

export function packPool(pool: PackPool, items: readonly PackItem[], options: PackOptions = {}): PackResult {
  const budget = options.budget ?? DEFAULT_BUDGET;
  const gpu = getGpu(pool.gpuType);
  const fixedOf = (i: number) => pool.fixed?.[i] ?? null;
  const indices = Array.from({ length: pool.gpus }, (_, i) => i);
  const nodeOf = (i: number) => Math.floor(i / pool.gpusPerNode);
  const empty = (): PackedGpu[] =>
    indices.map((i) => ({ index: i, node: nodeOf(i), items: [], mig: null, rank: null }));
  const fail = (reason: string, lowerBound: number): PackResult => ({
    gpus: empty(),
    used: 0,
    exact: true,
    lowerBound,
    feasible: false,
    reason,
  });

  const whole = items.filter((x): x is Extract<PackItem, { kind: "gpu" }> => x.kind === "gpu");
  const frac = items.filter((x) => x.kind !== "gpu");

  // ---- whole groups: best-fit decreasing over nodes, on GPUs without a fixed geometry
  const freeByNode = new Map<number, number[]>();
  for (const i of indices) {
    if (fixedOf(i) !== null) continue;
    const list = freeByNode.get(nodeOf(i)) ?? [];
    list.push(i);
    freeByNode.set(nodeOf(i), list);
  }
  const wholeGpus = whole.reduce((s, x) => s + x.tp, 0);
  const placedWhole = new Map<number, { key: string; rank: number; item: PackItem }>();
  // A model's replicas spread over the pool's nodes at most one apart, as the engine
  // Deployment's topologySpreadConstraint (maxSkew 1, DoNotSchedule) makes the scheduler do:
  // every node of the pool is a domain, even one with no GPU left.
  const nodes = [...new Set(indices.map(nodeOf))];
  const perModel = new Map<string, Map<number, number>>();
  const modelOf = (key: string) => (key.includes("#") ? key.slice(0, key.lastIndexOf("#")) : key);
  for (const item of [...whole].sort((a, b) => b.tp - a.tp || a.key.localeCompare(b.key))) {
    const counts = perModel.get(modelOf(item.key)) ?? new Map<number, number>();
    perModel.set(modelOf(item.key), counts);
    const least = Math.min(...nodes.map((n) => counts.get(n) ?? 0));
    let best: { node: number; list: number[] } | undefined;
    let fits = false;
    for (const [node, list] of freeByNode) {
      if (list.length < item.tp) continue;
      fits = true;
      const c = counts.get(node) ?? 0;
      if (c + 1 - least > 1) continue;
      if (
        best === undefined ||
        c < (counts.get(best.node) ?? 0) ||
        (c === (counts.get(best.node) ?? 0) && list.length < best.list.length)
      )
        best = { node, list };
    }
    if (best === undefined) {
      const largest = Math.max(0, ...[...freeByNode.values()].map((l) => l.length));
      return fail(
        fits
          ? `a ${item.tp}-GPU replica of ${modelOf(item.key)} has room only on nodes that already hold one more of its replicas than another node of the pool (replicas spread at most one apart)`
          : `a ${item.tp}-GPU tensor-parallel replica needs ${item.tp} free GPUs on one node; the most left on a node is ${largest}`,
        wholeGpus,
      );
    }
    counts.set(best.node, (counts.get(best.node) ?? 0) + 1);
    const taken = best.list.splice(0, item.tp);
    taken.forEach((g, rank) => {
      placedWhole.set(g, { key: item.key, rank, item });
    });
  }

  // ---- fractional items: branch and bound over the GPUs left
  const freeLeft = [...freeByNode.values()].flat().sort((a, b) => a - b);
  const fixedGpus = indices.filter((i) => fixedOf(i) !== null);
  const fixedGeometries = fixedGpus.map((i) => [...(fixedOf(i) as readonly string[])].sort());
  const cap = pool.shareCapacity ?? 95;
  const maxShares = pool.sharesPerGpu ?? 1;
  const migCompute = gpu.migSlices?.compute ?? 7;
  const migMemory = gpu.migSlices?.memory ?? 8;
  const profileOf = (name: string) => gpu.migProfiles.find((p) => p.name === name);

  for (const item of frac) {
    if (item.kind === "mig" && profileOf(item.profile) === undefined) {
      return fail(`${gpu.id} has no MIG profile ${item.profile}`, wholeGpus);
    }
    if (item.kind === "share" && item.units > cap) {
      return fail(
        `a share of ${item.units / 100} of the GPU's memory exceeds the ${cap / 100} the shares of one GPU may use together`,
        wholeGpus,
      );
    }
  }

  const size = (x: PackItem) => {
    if (x.kind === "mig") {
      const p = profileOf(x.profile);
      return { compute: p?.computeSlices ?? 0, memory: p?.memorySlices ?? 0, units: 0 };
    }
    return { compute: 0, memory: 0, units: x.kind === "share" ? x.units : 0 };
  };
  const typeOf = (x: PackItem) =>
    x.kind === "mig" ? `m:${x.profile}` : x.kind === "share" ? `s:${x.units}` : "g";
  const order = [...frac].sort((a, b) => {
    const sa = size(a);
    const sb = size(b);
    return (
      sb.memory - sa.memory ||
      sb.compute - sa.compute ||
      sb.units - sa.units ||
      typeOf(a).localeCompare(typeOf(b)) ||
      a.key.localeCompare(b.key)
    );
  });
  const n = order.length;
  const sizes = order.map(size);
  const types = order.map(typeOf);
  // Suffix sums for the lower bound.
  const sufCompute = new Array<number>(n + 1).fill(0);
  const sufMemory = new Array<number>(n + 1).fill(0);
  const sufUnits = new Array<number>(n + 1).fill(0);
  const sufMig = new Array<number>(n + 1).fill(0);
  const sufShare = new Array<number>(n + 1).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    const s = sizes[i] as { compute: number; memory: number; units: number };
    const it = order[i] as PackItem;
    sufCompute[i] = (sufCompute[i + 1] as number) + s.compute;
    sufMemory[i] = (sufMemory[i + 1] as number) + s.memory;
    sufUnits[i] = (sufUnits[i + 1] as number) + s.units;
    sufMig[i] = (sufMig[i + 1] as number) + (it.kind === "mig" ? 1 : 0);
    sufShare[i] = (sufShare[i + 1] as number) + (it.kind === "share" ? 1 : 0);
  }

  const legalCache = new Map<string, boolean>();
  const legal = (profiles: readonly string[]) => {
    const key = profiles.join(",");
    let ok = legalCache.get(key);
    if (ok === undefined) {
      ok = isLegalMigLayout(gpu.id, profiles).ok;
      legalCache.set(key, ok);
    }
    return ok;
  };
  const insertSorted = (list: readonly string[], name: string) => {
    const out = [...list];
    let k = 0;
    while (k < out.length && (out[k] as string) < name) k++;
    out.splice(k, 0, name);
    return out;
  };
  const countOf = (list: readonly string[], name: string) => list.filter((x) => x === name).length;

  const canAdd = (bin: Bin, item: PackItem): boolean => {
    if (item.kind === "share") return bin.fixed < 0 && bin.units + item.units <= cap && bin.count < maxShares;
    if (item.kind !== "mig") return false;
    if (bin.fixed >= 0) {
      const geometry = fixedGeometries[bin.fixed] as string[];
      return countOf(bin.profiles, item.profile) < countOf(geometry, item.profile);
    }
    return legal(insertSorted(bin.profiles, item.profile));
  };
  const add = (bin: Bin, item: PackItem, i: number): Bin => {
    const s = sizes[i] as { compute: number; memory: number; units: number };
    return {
      fixed: bin.fixed,
      profiles: item.kind === "mig" ? insertSorted(bin.profiles, item.profile) : bin.profiles,
      units: bin.units + s.units,
      count: bin.count + 1,
      compute: bin.compute + s.compute,
      memory: bin.memory + s.memory,
    };
  };
  const stateKey = (b: Bin) => `${b.fixed}|${b.profiles.join(",")}|${b.units}|${b.count}`;

  /** GPUs needed for items i.. beyond the room left in the open bins (a valid lower bound). */
  const boundFrom = (i: number, bins: readonly Bin[]): number => {
    let roomCompute = 0;
    let roomMemory = 0;
    let roomUnits = 0;
    let roomMig = 0;
    let roomShare = 0;
    for (const b of bins) {
      if (b.fixed >= 0) {
        const g = fixedGeometries[b.fixed] as string[];
        const total = g.reduce(
          (acc, name) => {
            const p = profileOf(name);
            return { c: acc.c + (p?.computeSlices ?? 0), m: acc.m + (p?.memorySlices ?? 0) };
          },
          { c: 0, m: 0 },
        );
        roomCompute += total.c - b.compute;
        roomMemory += total.m - b.memory;
        roomMig += g.length - b.count;
      } else {
        roomCompute += migCompute - b.compute;
        roomMemory += migMemory - b.memory;
        roomMig += Math.max(0, migCompute - b.count);
        roomUnits += Math.max(0, cap - b.units);
        roomShare += Math.max(0, maxShares - b.count);
      }
    }
    const need = (total: number, room: number, per: number) =>
      per > 0 ? Math.max(0, Math.ceil((total - room) / per)) : 0;
    return Math.max(
      need(sufCompute[i] as number, roomCompute, migCompute),
      need(sufMemory[i] as number, roomMemory, migMemory),
      need(sufMig[i] as number, roomMig, migCompute),
      need(sufUnits[i] as number, roomUnits, cap),
      need(sufShare[i] as number, roomShare, maxShares),
    );
  };

  const available = freeLeft.length + fixedGpus.length;
  const rootBound = boundFrom(0, []);
  if (rootBound > available) {
    return fail(
      `the replicas need at least ${wholeGpus + rootBound} GPUs (${describeDemand(items)}); the pool has ${pool.gpus}`,
      wholeGpus + rootBound,
    );
  }
  let best = Number.POSITIVE_INFINITY;
  let bestAssign: number[] = [];
  let bestBins: Bin[] = [];
  let visited = 0;
  let exhausted = false;
  const assign = new Array<number>(n).fill(-1);
  const done = () => best <= rootBound || exhausted;

  const dfs = (i: number, bins: Bin[], freeUsed: number, fixedUsed: boolean[]): void => {
    if (done()) return;
    if (++visited > budget) {
      exhausted = true;
      return;
    }
    if (i === n) {
      if (bins.length < best) {
        best = bins.length;
        bestAssign = [...assign];
        bestBins = bins;
      }
      return;
    }
    if (bins.length + boundFrom(i, bins) >= best) return;
    const item = order[i] as PackItem;
    const minBin = i > 0 && types[i] === types[i - 1] ? (assign[i - 1] as number) : 0;
    const tried = new Set<string>();
    for (let b = minBin; b < bins.length; b++) {
      const bin = bins[b] as Bin;
      const key = stateKey(bin);
      if (tried.has(key) || !canAdd(bin, item)) continue;
      tried.add(key);
      const next = [...bins];
      next[b] = add(bin, item, i);
      assign[i] = b;
      dfs(i + 1, next, freeUsed, fixedUsed);
      assign[i] = -1;
      if (done()) return;
    }
    if (bins.length + 1 >= best) return;
    // A new GPU: a fixed geometry (each distinct one once), then a free GPU.
    const triedFixed = new Set<string>();
    for (let f = 0; f < fixedGeometries.length; f++) {
      if (fixedUsed[f]) continue;
      const key = (fixedGeometries[f] as string[]).join(",");
      if (triedFixed.has(key)) continue;
      triedFixed.add(key);
      const bin: Bin = { fixed: f, profiles: [], units: 0, count: 0, compute: 0, memory: 0 };
      if (!canAdd(bin, item)) continue;
      const used = [...fixedUsed];
      used[f] = true;
      assign[i] = bins.length;
      dfs(i + 1, [...bins, add(bin, item, i)], freeUsed, used);
      assign[i] = -1;
      if (done()) return;
    }
    if (freeUsed < freeLeft.length) {
      const bin: Bin = { fixed: -1, profiles: [], units: 0, count: 0, compute: 0, memory: 0 };
      if (canAdd(bin, item)) {
        assign[i] = bins.length;
        dfs(i + 1, [...bins, add(bin, item, i)], freeUsed + 1, fixedUsed);
        assign[i] = -1;
      }
    }
  };
  dfs(
    0,
    [],
    0,
    fixedGeometries.map(() => false),
  );

  const lowerBound = wholeGpus + rootBound;
  if (!Number.isFinite(best)) {
    if (exhausted) {
      return {
        ...fail(
          `the search gave up after ${budget.toLocaleString("en-US")} steps without a packing`,
          lowerBound,
        ),
        exact: false,
      };
    }
    return fail(
      `the replicas need at least ${lowerBound} GPUs (${describeDemand(items)}); the pool has ${pool.gpus}` +
        (rootBound <= available ? " and no legal layout of them fits" : ""),
      lowerBound,
    );
  }

  // ---- materialise: whole groups where placed, fractional bins on the GPUs left
  const gpus = empty();
  for (const [g, w] of placedWhole) {
    const target = gpus[g] as PackedGpu;
    if (w.rank === 0) target.items.push(w.item);
    else target.items.push({ ...w.item });
    target.rank = w.rank;
  }
  const freeQueue = [...freeLeft];
  const binGpu = bestBins.map((b) =>
    b.fixed >= 0 ? (fixedGpus[b.fixed] as number) : (freeQueue.shift() as number),
  );
  order.forEach((item, i) => {
    const g = binGpu[bestAssign[i] as number] as number;
    (gpus[g] as PackedGpu).items.push(item);
  });
  for (const [b, bin] of bestBins.entries()) {
    const g = gpus[binGpu[b] as number] as PackedGpu;
    if (bin.fixed < 0 && bin.profiles.length === 0) continue;
    const geometry = bin.fixed >= 0 ? (fixedGeometries[bin.fixed] as string[]) : bin.profiles;
    g.mig = migPlacement(gpu.id, geometry, g.items);
  }
  // Fixed GPUs nobody uses still carry their geometry (free instances).
  for (const [f, idx] of fixedGpus.entries()) {
    const g = gpus[idx] as PackedGpu;
    if (g.mig === null) g.mig = migPlacement(gpu.id, fixedGeometries[f] as string[], []);
  }
  const used = gpus.filter((g) => g.items.length > 0).length;
  return {
    gpus,
    used,
    exact: !exhausted || best <= rootBound,
    lowerBound: Math.max(lowerBound, exhausted ? lowerBound : used),
    feasible: true,
    reason: "",
  };
}

/** Start slots for a geometry, each instance labelled with the item using it (or null). */
function migPlacement(
  gpuId: string,
  geometry: readonly string[],
  items: readonly PackItem[],
): (MigPlacement & { key: string | null })[] {
  const r = isLegalMigLayout(gpuId, geometry);
  if (!r.ok) throw new Error(`internal: packed an illegal MIG geometry ${geometry.join(" + ")}: ${r.reason}`);
  const pending = items.filter((x): x is Extract<PackItem, { kind: "mig" }> => x.kind === "mig");
  return r.placement.map((p) => {
    const k = pending.findIndex((x) => x.profile === p.profile);
    const key = k >= 0 ? (pending.splice(k, 1)[0] as PackItem).key : null;
    return { ...p, key };
  });
}

function describeDemand(items: readonly PackItem[]): string {
  const counts = new Map<string, number>();
  for (const x of items) {
    const label =
      x.kind === "gpu" ? `TP ${x.tp}` : x.kind === "mig" ? x.profile : `${x.units / 100} memory share`;
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return [...counts].map(([label, c]) => `${c} × ${label}`).join(", ");
}
