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
import { FractionalSearch, type SearchResult } from "./packing-search.js";

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

type WholeItem = Extract<PackItem, { kind: "gpu" }>;

/** The pool's GPUs: which node each sits on and which geometry the spec fixes. */
class PoolGpus {
  readonly indices: number[];
  constructor(private readonly pool: PackPool) {
    this.indices = Array.from({ length: pool.gpus }, (_, i) => i);
  }
  nodeOf(i: number): number {
    return Math.floor(i / this.pool.gpusPerNode);
  }
  fixedOf(i: number): readonly string[] | null {
    return this.pool.fixed?.[i] ?? null;
  }
  empty(): PackedGpu[] {
    return this.indices.map((i) => ({ index: i, node: this.nodeOf(i), items: [], mig: null, rank: null }));
  }
  fail(reason: string, lowerBound: number): PackResult {
    return { gpus: this.empty(), used: 0, exact: true, lowerBound, feasible: false, reason };
  }
}

export function packPool(pool: PackPool, items: readonly PackItem[], options: PackOptions = {}): PackResult {
  const budget = options.budget ?? DEFAULT_BUDGET;
  const gpu = getGpu(pool.gpuType);
  const gpus = new PoolGpus(pool);
  const whole = items.filter((x): x is WholeItem => x.kind === "gpu");
  const wholeGpus = whole.reduce((s, x) => s + x.tp, 0);
  const groups = placeWholeGroups(gpus, whole);
  if (typeof groups === "string") return gpus.fail(groups, wholeGpus);

  const freeLeft = [...groups.freeByNode.values()].flat().sort((a, b) => a - b);
  const fixedGpus = gpus.indices.filter((i) => gpus.fixedOf(i) !== null);
  const fixedGeometries = fixedGpus.map((i) => [...(gpus.fixedOf(i) as readonly string[])].sort());
  const frac = items.filter((x) => x.kind !== "gpu");
  const search = new FractionalSearch(gpu, pool, frac, fixedGeometries, freeLeft.length);
  const refusal = search.refusal();
  if (refusal !== undefined) return gpus.fail(refusal, wholeGpus);
  const available = freeLeft.length + fixedGpus.length;
  const rootBound = search.rootBound();
  const lowerBound = wholeGpus + rootBound;
  const tooMany = `the replicas need at least ${lowerBound} GPUs (${describeDemand(items)}); the pool has ${pool.gpus}`;
  if (rootBound > available) return gpus.fail(tooMany, lowerBound);
  const found = search.run(budget);
  if (!Number.isFinite(found.best)) {
    if (found.exhausted) {
      const reason = `the search gave up after ${budget.toLocaleString("en-US")} steps without a packing`;
      return { ...gpus.fail(reason, lowerBound), exact: false };
    }
    return gpus.fail(
      `${tooMany}${rootBound <= available ? " and no legal layout of them fits" : ""}`,
      lowerBound,
    );
  }
  const packed = materialise(gpu.id, gpus, groups.placed, search, found, { freeLeft, fixedGpus });
  const used = packed.filter((g) => g.items.length > 0).length;
  return {
    gpus: packed,
    used,
    exact: !found.exhausted || found.best <= rootBound,
    lowerBound: Math.max(lowerBound, found.exhausted ? lowerBound : used),
    feasible: true,
    reason: "",
  };
}

const modelOf = (key: string) => (key.includes("#") ? key.slice(0, key.lastIndexOf("#")) : key);

interface PlacedWhole {
  key: string;
  rank: number;
  item: PackItem;
}

/**
 * Whole groups, best-fit decreasing over nodes, on GPUs without a fixed geometry. A model's
 * replicas spread over the pool's nodes at most one apart, as the engine Deployment's
 * topologySpreadConstraint (maxSkew 1, DoNotSchedule) makes the scheduler do: every node of the
 * pool is a domain, even one with no GPU left. The reason, as a string, when one does not fit.
 */
function placeWholeGroups(
  gpus: PoolGpus,
  whole: readonly WholeItem[],
): { placed: Map<number, PlacedWhole>; freeByNode: Map<number, number[]> } | string {
  const freeByNode = new Map<number, number[]>();
  for (const i of gpus.indices) {
    if (gpus.fixedOf(i) !== null) continue;
    const list = freeByNode.get(gpus.nodeOf(i)) ?? [];
    list.push(i);
    freeByNode.set(gpus.nodeOf(i), list);
  }
  const placed = new Map<number, PlacedWhole>();
  const nodes = [...new Set(gpus.indices.map((i) => gpus.nodeOf(i)))];
  const perModel = new Map<string, Map<number, number>>();
  for (const item of [...whole].sort((a, b) => b.tp - a.tp || a.key.localeCompare(b.key))) {
    const counts = perModel.get(modelOf(item.key)) ?? new Map<number, number>();
    perModel.set(modelOf(item.key), counts);
    const choice = bestNode(item, freeByNode, counts, nodes);
    if (typeof choice === "string") return choice;
    counts.set(choice.node, (counts.get(choice.node) ?? 0) + 1);
    const taken = choice.list.splice(0, item.tp);
    taken.forEach((g, rank) => {
      placed.set(g, { key: item.key, rank, item });
    });
  }
  return { placed, freeByNode };
}

/** The node a group goes to: fewest of its model's replicas, then the least room left. */
function bestNode(
  item: WholeItem,
  freeByNode: ReadonlyMap<number, number[]>,
  counts: ReadonlyMap<number, number>,
  nodes: readonly number[],
): { node: number; list: number[] } | string {
  const least = Math.min(...nodes.map((n) => counts.get(n) ?? 0));
  let best: { node: number; list: number[] } | undefined;
  let fits = false;
  for (const [node, list] of freeByNode) {
    if (list.length < item.tp) continue;
    fits = true;
    const c = counts.get(node) ?? 0;
    if (c + 1 - least > 1) continue;
    const bestCount = best === undefined ? 0 : (counts.get(best.node) ?? 0);
    if (best === undefined || c < bestCount || (c === bestCount && list.length < best.list.length))
      best = { node, list };
  }
  if (best !== undefined) return best;
  const largest = Math.max(0, ...[...freeByNode.values()].map((l) => l.length));
  return fits
    ? `a ${item.tp}-GPU replica of ${modelOf(item.key)} has room only on nodes that already hold one more of its replicas than another node of the pool (replicas spread at most one apart)`
    : `a ${item.tp}-GPU tensor-parallel replica needs ${item.tp} free GPUs on one node; the most left on a node is ${largest}`;
}

/** Whole groups where they were placed, fractional bins on the GPUs left, MIG start slots. */
function materialise(
  gpuId: string,
  pool: PoolGpus,
  placedWhole: ReadonlyMap<number, PlacedWhole>,
  search: FractionalSearch,
  found: SearchResult,
  left: { freeLeft: readonly number[]; fixedGpus: readonly number[] },
): PackedGpu[] {
  const gpus = pool.empty();
  for (const [g, w] of placedWhole) {
    const target = gpus[g] as PackedGpu;
    if (w.rank === 0) target.items.push(w.item);
    else target.items.push({ ...w.item });
    target.rank = w.rank;
  }
  const freeQueue = [...left.freeLeft];
  const binGpu = found.bins.map((b) =>
    b.fixed >= 0 ? (left.fixedGpus[b.fixed] as number) : (freeQueue.shift() as number),
  );
  search.order.forEach((item, i) => {
    const g = binGpu[found.assign[i] as number] as number;
    (gpus[g] as PackedGpu).items.push(item);
  });
  for (const [b, bin] of found.bins.entries()) {
    const g = gpus[binGpu[b] as number] as PackedGpu;
    if (bin.fixed < 0 && bin.profiles.length === 0) continue;
    const geometry = bin.fixed >= 0 ? (search.fixedGeometries[bin.fixed] as string[]) : bin.profiles;
    g.mig = migPlacement(gpuId, geometry, g.items);
  }
  // Fixed GPUs nobody uses still carry their geometry (free instances).
  for (const [f, idx] of left.fixedGpus.entries()) {
    const g = gpus[idx] as PackedGpu;
    if (g.mig === null) g.mig = migPlacement(gpuId, search.fixedGeometries[f] as string[], []);
  }
  return gpus;
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
