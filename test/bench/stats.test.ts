import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mean, percentile, percentileSorted, summarize } from "../../src/bench/stats.js";
import { rng } from "../../src/sim/model/workload.js";

const close = (a: number, b: number, tol: number, what = "") =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} is not within ${tol} of ${b}`);

describe("percentiles (linear interpolation, NumPy's default)", () => {
  it("match NumPy on small samples", () => {
    // numpy.percentile([1, 2, 3, 4], [0, 25, 50, 90, 100]) = [1, 1.75, 2.5, 3.7, 4]
    const xs = [4, 1, 3, 2];
    assert.deepEqual(
      [0, 25, 50, 90, 100].map((p) => Number(percentile(xs, p).toFixed(10))),
      [1, 1.75, 2.5, 3.7, 4],
    );
    // numpy.percentile(range(1, 101), [50, 90, 95, 99]) = [50.5, 90.1, 95.05, 99.01]
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.deepEqual(
      [50, 90, 95, 99].map((p) => Number(percentile(hundred, p).toFixed(10))),
      [50.5, 90.1, 95.05, 99.01],
    );
    assert.equal(percentile([7], 99), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
    assert.throws(() => percentileSorted([1, 2], 101), RangeError);
  });

  it("recover the quantiles of known distributions from 200,000 seeded samples", () => {
    const rand = rng(42);
    const n = 200_000;
    const uniform = Array.from({ length: n }, () => rand());
    const expo = Array.from({ length: n }, () => -Math.log(1 - rand()));
    const normal = Array.from({ length: n }, () => {
      const u = Math.max(rand(), 1e-12);
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
    });
    const u = summarize(uniform);
    close(u.p50, 0.5, 0.005, "uniform p50");
    close(u.p90, 0.9, 0.005, "uniform p90");
    close(u.p99, 0.99, 0.002, "uniform p99");
    close(u.mean, 0.5, 0.003, "uniform mean");
    close(u.std, Math.sqrt(1 / 12), 0.003, "uniform std");
    const e = summarize(expo);
    close(e.p50, Math.LN2, 0.01, "exponential p50");
    close(e.p90, Math.log(10), 0.03, "exponential p90");
    close(e.p95, Math.log(20), 0.04, "exponential p95");
    close(e.p99, Math.log(100), 0.08, "exponential p99");
    close(e.mean, 1, 0.01, "exponential mean");
    const g = summarize(normal);
    close(g.p50, 0, 0.01, "normal p50");
    close(g.p90, 1.2815515655, 0.015, "normal p90");
    close(g.p95, 1.644853627, 0.02, "normal p95");
    close(g.p99, 2.326347874, 0.03, "normal p99");
    close(g.std, 1, 0.01, "normal std");
  });

  it("summarize gives count, extremes and NaNs for an empty sample", () => {
    const s = summarize([3, 1, 2]);
    assert.equal(s.count, 3);
    assert.equal(s.min, 1);
    assert.equal(s.max, 3);
    assert.equal(s.mean, 2);
    close(s.std, Math.sqrt(2 / 3), 1e-12);
    const empty = summarize([]);
    assert.equal(empty.count, 0);
    assert.ok(Number.isNaN(empty.p50) && Number.isNaN(empty.mean) && Number.isNaN(empty.max));
    assert.ok(Number.isNaN(mean([])));
  });
});
