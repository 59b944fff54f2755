import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getGpu, isLegalMigLayout } from "../../src/catalog/index.js";
import { type PackItem, type PackPool, packPool } from "../../src/planner/packing.js";
import { rng } from "../../src/sim/model/workload.js";

/** The optimum by enumerating every assignment of items to GPUs (whole groups: every GPU set on one node). */
function bruteForce(pool: PackPool, items: readonly PackItem[]): number | null {
  const gpu = getGpu(pool.gpuType);
  const G = pool.gpus;
  const node = (g: number) => Math.floor(g / pool.gpusPerNode);
  const fixed = (g: number) => pool.fixed?.[g] ?? null;
  const cap = pool.shareCapacity ?? 95;
  const shares = pool.sharesPerGpu ?? 1;
  const subsets = (k: number): number[][] => {
    const out: number[][] = [];
    const rec = (start: number, acc: number[]) => {
      if (acc.length === k) {
        if (acc.every((g) => node(g) === node(acc[0] as number))) out.push([...acc]);
        return;
      }
      for (let g = start; g < G; g++) rec(g + 1, [...acc, g]);
    };
    rec(0, []);
    return out;
  };
  const options = items.map((x) =>
    x.kind === "gpu" ? subsets(x.tp) : Array.from({ length: G }, (_, g) => [g]),
  );
  let best: number | null = null;
  const chosen: number[][] = [];
  const ok = (): boolean => {
    for (let g = 0; g < G; g++) {
      const here = items.filter((_, i) => (chosen[i] as number[]).includes(g));
      if (here.length === 0) continue;
      if (here.some((x) => x.kind === "gpu")) {
        if (here.length > 1 || fixed(g) !== null) return false;
        continue;
      }
      const mig = here.filter((x) => x.kind === "mig").map((x) => (x as { profile: string }).profile);
      const sh = here.filter((x) => x.kind === "share") as { units: number }[];
      if (mig.length > 0 && sh.length > 0) return false;
      if (sh.length > 0) {
        if (fixed(g) !== null || sh.length > shares || sh.reduce((s, x) => s + x.units, 0) > cap)
          return false;
      }
      if (mig.length > 0) {
        const f = fixed(g);
        if (f !== null) {
          const left = [...f];
          for (const p of mig) {
            const k = left.indexOf(p);
            if (k < 0) return false;
            left.splice(k, 1);
          }
        } else if (!isLegalMigLayout(gpu.id, mig).ok) return false;
      }
    }
    return true;
  };
  const rec = (i: number) => {
    if (i === items.length) {
      if (!ok()) return;
      const used = new Set(chosen.flat()).size;
      if (best === null || used < best) best = used;
      return;
    }
    for (const opt of options[i] as number[][]) {
      chosen[i] = opt;
      rec(i + 1);
    }
  };
  rec(0);
  return best;
}

function randomInstance(rand: () => number): { pool: PackPool; items: PackItem[] } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const kind = pick(["mig", "mig", "share"] as const);
  const gpuType = kind === "mig" ? pick(["A100-80GB", "A30", "H100-80GB"]) : "L4";
  const gpus = 1 + Math.floor(rand() * 4);
  const gpusPerNode = pick([1, 2, 4].filter((x) => x <= gpus));
  const profiles = getGpu(gpuType).migProfiles.map((p) => p.name);
  const pool: PackPool = { gpuType, gpus, gpusPerNode };
  if (kind === "mig" && rand() < 0.3) {
    const fixed = pick([
      ["3g.40gb", "2g.20gb", "2g.20gb"],
      ["1g.10gb", "1g.10gb", "1g.10gb", "4g.40gb"],
    ]);
    if (gpuType !== "A30") pool.fixed = [fixed, ...Array(gpus - 1).fill(null)];
  }
  if (kind === "share") {
    pool.sharesPerGpu = pick([2, 3, 4]);
    pool.shareCapacity = 95;
  }
  const n = 1 + Math.floor(rand() * 5);
  const items: PackItem[] = [];
  for (let i = 0; i < n; i++) {
    const key = `m${i}`;
    if (rand() < 0.2) items.push({ kind: "gpu", key, tp: pick([1, 2]) });
    else if (kind === "mig") items.push({ kind: "mig", key, profile: pick(profiles) });
    else items.push({ kind: "share", key, units: pick([10, 20, 25, 30, 45, 50, 60, 90]) });
  }
  return { pool, items };
}

describe("planner: packing", () => {
  it("equals a brute-force optimum on 200 random small instances", () => {
    const rand = rng(20261127);
    let feasible = 0;
    for (let t = 0; t < 200; t++) {
      const { pool, items } = randomInstance(rand);
      const expected = bruteForce(pool, items);
      const got = packPool(pool, items);
      const label = JSON.stringify({ pool, items });
      if (expected === null) {
        assert.equal(got.feasible, false, `packer placed an infeasible instance: ${label}`);
        assert.ok(got.reason.length > 0);
      } else {
        feasible++;
        assert.ok(got.feasible, `packer failed a feasible instance (${got.reason}): ${label}`);
        assert.equal(got.used, expected, `packer used ${got.used} GPUs, optimum ${expected}: ${label}`);
        assert.ok(got.exact);
        // every item placed exactly once, and each used GPU's MIG geometry is legal
        const placed = got.gpus.flatMap((g) => g.items.map((x) => x.key));
        assert.deepEqual(new Set(placed), new Set(items.map((x) => x.key)));
        for (const g of got.gpus) {
          const mig = g.items.filter((x) => x.kind === "mig").map((x) => (x as { profile: string }).profile);
          if (mig.length > 0) assert.ok(isLegalMigLayout(pool.gpuType, mig).ok);
        }
      }
    }
    assert.ok(feasible > 120, `only ${feasible} of 200 instances were feasible`);
  });

  it("packs 56 × 1g.10gb on 8 × A100-80GB, and refuses a 57th", () => {
    const pool = { gpuType: "A100-80GB", gpus: 8, gpusPerNode: 8 };
    const items = (n: number): PackItem[] =>
      Array.from({ length: n }, (_, i) => ({ kind: "mig", key: `s${i}`, profile: "1g.10gb" }));
    const r = packPool(pool, items(56));
    assert.ok(r.feasible);
    assert.equal(r.used, 8);
    for (const g of r.gpus)
      assert.deepEqual(
        g.mig?.map((s) => s.start),
        [0, 1, 2, 3, 4, 5, 6],
      );
    const over = packPool(pool, items(57));
    assert.equal(over.feasible, false);
    assert.match(over.reason, /at least 9 GPUs .*57 × 1g\.10gb.*the pool has 8/);
  });

  it("3g + 3g + 1g never share a GPU: three 3g and a 1g need two A100s, 4g + 3g one", () => {
    const pool = { gpuType: "A100-80GB", gpus: 4, gpusPerNode: 4 };
    const mig = (profile: string, key: string): PackItem => ({ kind: "mig", key, profile });
    assert.equal(packPool(pool, [mig("3g.40gb", "a"), mig("3g.40gb", "b"), mig("1g.10gb", "c")]).used, 2);
    const r = packPool(pool, [mig("4g.40gb", "a"), mig("3g.40gb", "b")]);
    assert.equal(r.used, 1);
    assert.deepEqual(
      r.gpus[0]?.mig?.map((s) => [s.profile, s.start, s.key]),
      [
        ["4g.40gb", 0, "a"],
        ["3g.40gb", 4, "b"],
      ],
    );
  });

  it("tensor-parallel groups stay on one node", () => {
    const pool = { gpuType: "H100-80GB", gpus: 8, gpusPerNode: 4 };
    const r = packPool(pool, [
      { kind: "gpu", key: "a", tp: 4 },
      { kind: "gpu", key: "b", tp: 2 },
      { kind: "gpu", key: "c", tp: 2 },
    ]);
    assert.equal(r.used, 8);
    const nodesOf = (k: string) =>
      new Set(r.gpus.filter((g) => g.items.some((x) => x.key === k)).map((g) => g.node));
    for (const k of ["a", "b", "c"]) assert.equal(nodesOf(k).size, 1);
    const bad = packPool(pool, [{ kind: "gpu", key: "x", tp: 8 }]);
    assert.equal(bad.feasible, false);
    assert.match(bad.reason, /8 free GPUs on one node; the most left on a node is 4/);
  });
});
