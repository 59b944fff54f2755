/**
 * The fractional half of `packPool`: MIG instances and time-slicing shares into the GPUs whole
 * groups left, by branch and bound (see packing.ts for the method). Items go in decreasing size;
 * each is tried in every open GPU whose state differs and in one new GPU, pruned by a lower bound.
 */
import type { GpuSpec } from "../catalog/gpus.js";
import { isLegalMigLayout } from "../catalog/mig.js";
import type { PackItem, PackPool } from "./packing.js";

/** One GPU being filled. */
export interface Bin {
  /** Index into `fixedGeometries` or -1 for a free GPU. */
  fixed: number;
  profiles: string[];
  units: number;
  count: number;
  compute: number;
  memory: number;
}

interface Size {
  compute: number;
  memory: number;
  units: number;
}

/** The best packing found: per item (in `order`), the bin it went to. */
export interface SearchResult {
  /** Bins used; +∞ when nothing was found. */
  best: number;
  assign: number[];
  bins: Bin[];
  /** The node budget ran out before the search ended. */
  exhausted: boolean;
}

/** One run of the search: the best found, the assignment being built, the budget spent. */
interface Descent {
  r: SearchResult;
  assign: number[];
  visited: number;
  budget: number;
  /** The search ends when it finds a packing this small. */
  rootBound: number;
}

const done = (d: Descent) => d.r.best <= d.rootBound || d.r.exhausted;

const EMPTY_SIZE: Size = { compute: 0, memory: 0, units: 0 };

const insertSorted = (list: readonly string[], name: string) => {
  const out = [...list];
  let k = 0;
  while (k < out.length && (out[k] as string) < name) k++;
  out.splice(k, 0, name);
  return out;
};
const countOf = (list: readonly string[], name: string) => list.filter((x) => x === name).length;
const stateKey = (b: Bin) => `${b.fixed}|${b.profiles.join(",")}|${b.units}|${b.count}`;
const emptyBin = (fixed: number): Bin => ({ fixed, profiles: [], units: 0, count: 0, compute: 0, memory: 0 });

export class FractionalSearch {
  /** Items, largest first. */
  readonly order: PackItem[];
  private readonly sizes: Size[];
  private readonly types: string[];
  private readonly cap: number;
  private readonly maxShares: number;
  private readonly migCompute: number;
  private readonly migMemory: number;
  /** Suffix sums of what items i.. need, for the lower bound. */
  private readonly suffix: {
    compute: number[];
    memory: number[];
    units: number[];
    mig: number[];
    share: number[];
  };
  private readonly legalCache = new Map<string, boolean>();

  constructor(
    private readonly gpu: GpuSpec,
    pool: PackPool,
    private readonly items: readonly PackItem[],
    /** The geometry of each GPU the spec fixes, sorted. */
    readonly fixedGeometries: readonly string[][],
    /** Free GPUs whole groups left. */
    private readonly freeCount: number,
  ) {
    this.cap = pool.shareCapacity ?? 95;
    this.maxShares = pool.sharesPerGpu ?? 1;
    this.migCompute = gpu.migSlices?.compute ?? 7;
    this.migMemory = gpu.migSlices?.memory ?? 8;
    this.order = [...items].sort((a, b) => {
      const sa = this.size(a);
      const sb = this.size(b);
      return (
        sb.memory - sa.memory ||
        sb.compute - sa.compute ||
        sb.units - sa.units ||
        typeOf(a).localeCompare(typeOf(b)) ||
        a.key.localeCompare(b.key)
      );
    });
    this.sizes = this.order.map((x) => this.size(x));
    this.types = this.order.map(typeOf);
    this.suffix = this.suffixSums();
  }

  /** Why an item can never be placed in this pool, if one cannot. */
  refusal(): string | undefined {
    for (const item of this.items) {
      if (item.kind === "mig" && this.profileOf(item.profile) === undefined)
        return `${this.gpu.id} has no MIG profile ${item.profile}`;
      if (item.kind === "share" && item.units > this.cap)
        return `a share of ${item.units / 100} of the GPU's memory exceeds the ${this.cap / 100} the shares of one GPU may use together`;
    }
    return undefined;
  }

  /** GPUs the items need at least. */
  rootBound(): number {
    return this.boundFrom(0, []);
  }

  /** The search, until it meets `rootBound` or has visited `budget` nodes. */
  run(budget: number): SearchResult {
    const d: Descent = {
      r: { best: Number.POSITIVE_INFINITY, assign: [], bins: [], exhausted: false },
      assign: new Array<number>(this.order.length).fill(-1),
      visited: 0,
      budget,
      rootBound: this.rootBound(),
    };
    this.dfs(
      d,
      0,
      [],
      0,
      this.fixedGeometries.map(() => false),
    );
    return d.r;
  }

  private dfs(d: Descent, i: number, bins: Bin[], freeUsed: number, fixedUsed: boolean[]): void {
    if (done(d)) return;
    if (++d.visited > d.budget) {
      d.r.exhausted = true;
      return;
    }
    if (i === this.order.length) {
      if (bins.length < d.r.best) Object.assign(d.r, { best: bins.length, assign: [...d.assign], bins });
      return;
    }
    if (bins.length + this.boundFrom(i, bins) >= d.r.best) return;
    this.intoOpenGpu(d, i, bins, freeUsed, fixedUsed);
    if (done(d) || bins.length + 1 >= d.r.best) return;
    this.intoNewGpu(d, i, bins, freeUsed, fixedUsed);
  }

  /** Item i and the rest, with item i in bin b of `bins`. */
  private descend(
    d: Descent,
    i: number,
    b: number,
    bins: Bin[],
    freeUsed: number,
    fixedUsed: boolean[],
  ): void {
    d.assign[i] = b;
    this.dfs(d, i + 1, bins, freeUsed, fixedUsed);
    d.assign[i] = -1;
  }

  /** Into an open GPU: identical items in non-decreasing GPU order, identical states once. */
  private intoOpenGpu(d: Descent, i: number, bins: Bin[], freeUsed: number, fixedUsed: boolean[]): void {
    const item = this.order[i] as PackItem;
    const minBin = i > 0 && this.types[i] === this.types[i - 1] ? (d.assign[i - 1] as number) : 0;
    const tried = new Set<string>();
    for (let b = minBin; b < bins.length && !done(d); b++) {
      const bin = bins[b] as Bin;
      const key = stateKey(bin);
      if (tried.has(key) || !this.canAdd(bin, item)) continue;
      tried.add(key);
      const next = [...bins];
      next[b] = this.add(bin, item, i);
      this.descend(d, i, b, next, freeUsed, fixedUsed);
    }
  }

  /** Into a new GPU: a fixed geometry (each distinct one once), then a free GPU. */
  private intoNewGpu(d: Descent, i: number, bins: Bin[], freeUsed: number, fixedUsed: boolean[]): void {
    const item = this.order[i] as PackItem;
    const triedFixed = new Set<string>();
    for (let f = 0; f < this.fixedGeometries.length && !done(d); f++) {
      const key = (this.fixedGeometries[f] as string[]).join(",");
      const bin = emptyBin(f);
      if (fixedUsed[f] || triedFixed.has(key)) continue;
      triedFixed.add(key);
      if (!this.canAdd(bin, item)) continue;
      const used = [...fixedUsed];
      used[f] = true;
      this.descend(d, i, bins.length, [...bins, this.add(bin, item, i)], freeUsed, used);
    }
    if (done(d) || freeUsed >= this.freeCount) return;
    const bin = emptyBin(-1);
    if (this.canAdd(bin, item))
      this.descend(d, i, bins.length, [...bins, this.add(bin, item, i)], freeUsed + 1, fixedUsed);
  }

  private profileOf(name: string) {
    return this.gpu.migProfiles.find((p) => p.name === name);
  }

  private size(x: PackItem): Size {
    if (x.kind === "mig") {
      const p = this.profileOf(x.profile);
      return { compute: p?.computeSlices ?? 0, memory: p?.memorySlices ?? 0, units: 0 };
    }
    return { ...EMPTY_SIZE, units: x.kind === "share" ? x.units : 0 };
  }

  private suffixSums() {
    const n = this.order.length;
    const sums = () => new Array<number>(n + 1).fill(0);
    const s = { compute: sums(), memory: sums(), units: sums(), mig: sums(), share: sums() };
    for (let i = n - 1; i >= 0; i--) {
      const size = this.sizes[i] as Size;
      const it = this.order[i] as PackItem;
      s.compute[i] = (s.compute[i + 1] as number) + size.compute;
      s.memory[i] = (s.memory[i + 1] as number) + size.memory;
      s.units[i] = (s.units[i + 1] as number) + size.units;
      s.mig[i] = (s.mig[i + 1] as number) + (it.kind === "mig" ? 1 : 0);
      s.share[i] = (s.share[i + 1] as number) + (it.kind === "share" ? 1 : 0);
    }
    return s;
  }

  private legal(profiles: readonly string[]): boolean {
    const key = profiles.join(",");
    let ok = this.legalCache.get(key);
    if (ok === undefined) {
      ok = isLegalMigLayout(this.gpu.id, profiles).ok;
      this.legalCache.set(key, ok);
    }
    return ok;
  }

  private canAdd(bin: Bin, item: PackItem): boolean {
    if (item.kind === "share")
      return bin.fixed < 0 && bin.units + item.units <= this.cap && bin.count < this.maxShares;
    if (item.kind !== "mig") return false;
    if (bin.fixed >= 0) {
      const geometry = this.fixedGeometries[bin.fixed] as string[];
      return countOf(bin.profiles, item.profile) < countOf(geometry, item.profile);
    }
    return this.legal(insertSorted(bin.profiles, item.profile));
  }

  private add(bin: Bin, item: PackItem, i: number): Bin {
    const s = this.sizes[i] as Size;
    return {
      fixed: bin.fixed,
      profiles: item.kind === "mig" ? insertSorted(bin.profiles, item.profile) : bin.profiles,
      units: bin.units + s.units,
      count: bin.count + 1,
      compute: bin.compute + s.compute,
      memory: bin.memory + s.memory,
    };
  }

  /** Room the open bins have left, per dimension of the bound. */
  private room(bins: readonly Bin[]) {
    const room = { compute: 0, memory: 0, units: 0, mig: 0, share: 0 };
    for (const b of bins) {
      if (b.fixed >= 0) {
        const g = this.fixedGeometries[b.fixed] as string[];
        for (const name of g) {
          const p = this.profileOf(name);
          room.compute += p?.computeSlices ?? 0;
          room.memory += p?.memorySlices ?? 0;
        }
        room.compute -= b.compute;
        room.memory -= b.memory;
        room.mig += g.length - b.count;
      } else {
        room.compute += this.migCompute - b.compute;
        room.memory += this.migMemory - b.memory;
        room.mig += Math.max(0, this.migCompute - b.count);
        room.units += Math.max(0, this.cap - b.units);
        room.share += Math.max(0, this.maxShares - b.count);
      }
    }
    return room;
  }

  /** GPUs needed for items i.. beyond the room left in the open bins (a valid lower bound). */
  private boundFrom(i: number, bins: readonly Bin[]): number {
    const room = this.room(bins);
    const s = this.suffix;
    const need = (total: number, left: number, per: number) =>
      per > 0 ? Math.max(0, Math.ceil((total - left) / per)) : 0;
    return Math.max(
      need(s.compute[i] as number, room.compute, this.migCompute),
      need(s.memory[i] as number, room.memory, this.migMemory),
      need(s.mig[i] as number, room.mig, this.migCompute),
      need(s.units[i] as number, room.units, this.cap),
      need(s.share[i] as number, room.share, this.maxShares),
    );
  }
}

function typeOf(x: PackItem): string {
  return x.kind === "mig" ? `m:${x.profile}` : x.kind === "share" ? `s:${x.units}` : "g";
}
