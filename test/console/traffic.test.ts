// Per-route traffic from cumulative counters: Prometheus-style quantiles and window deltas.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type Buckets,
  histogramQuantile,
  type RouteTotals,
  TrafficWindow,
} from "../../src/gateway/console/traffic.js";

const INF = Number.POSITIVE_INFINITY;

function totals(
  requests: number,
  errors: number,
  ttft: Buckets,
  itl: Buckets = [],
): Map<string, RouteTotals> {
  return new Map([["chat", { requests, errors, ttft, itl }]]);
}

describe("histogramQuantile", () => {
  it("interpolates inside the bucket holding the rank, as Prometheus does", () => {
    const b = [
      { le: 0.1, count: 50 },
      { le: 0.5, count: 90 },
      { le: 1, count: 100 },
      { le: INF, count: 100 },
    ];
    assert.equal(histogramQuantile(0.5, b), 0.1);
    assert.ok(Math.abs((histogramQuantile(0.7, b) ?? 0) - 0.3) < 1e-9); // 0.1 + 0.4 × 20/40
    assert.ok(Math.abs((histogramQuantile(0.95, b) ?? 0) - 0.75) < 1e-9); // 0.5 + 0.5 × 5/10
  });
  it("answers the +Inf bucket with its lower bound, nothing without observations", () => {
    assert.equal(
      histogramQuantile(0.99, [
        { le: 1, count: 1 },
        { le: INF, count: 10 },
      ]),
      1,
    );
    assert.equal(histogramQuantile(0.5, [{ le: 1, count: 0 }]), undefined);
    assert.equal(histogramQuantile(0.5, []), undefined);
  });
});

describe("TrafficWindow", () => {
  it("needs two samples; then rates, error share and percentiles of what happened between them", () => {
    const w = new TrafficWindow(60_000, 1_000);
    w.add({
      at: 0,
      epoch: 0,
      routes: totals(10, 1, [
        { le: 0.1, count: 10 },
        { le: INF, count: 10 },
      ]),
    });
    assert.equal(w.traffic("chat"), undefined);
    w.add({
      at: 20_000,
      epoch: 20_000,
      routes: totals(
        50,
        5,
        [
          { le: 0.1, count: 10 },
          { le: INF, count: 10 },
        ].map((b, i) => ({ le: b.le, count: b.count + (i === 0 ? 0 : 40) })),
      ),
    });
    const t = w.traffic("chat");
    assert.ok(t);
    assert.equal(t.windowSeconds, 20);
    assert.equal(t.requestsPerSecond, 2); // 40 requests in 20 s
    assert.equal(t.errorRate, 0.1); // 4 of 40
    // The 40 new first tokens all came above 100 ms: the old ones do not count.
    assert.equal(t.ttftMs?.p50, 100);
    assert.equal(t.itlMs, undefined);
    assert.equal(w.traffic("other"), undefined);
  });

  it("keeps samples closer than the gap out and slides past the window", () => {
    const w = new TrafficWindow(10_000, 1_000);
    assert.ok(w.due(0));
    w.add({ at: 0, epoch: 0, routes: totals(0, 0, []) });
    assert.ok(!w.due(500));
    w.add({ at: 500, epoch: 500, routes: totals(1000, 0, []) }); // dropped: too close
    w.add({ at: 5_000, epoch: 5_000, routes: totals(10, 0, []) });
    assert.equal(w.traffic("chat")?.requestsPerSecond, 2);
    w.add({ at: 15_000, epoch: 15_000, routes: totals(30, 0, []) });
    w.add({ at: 25_000, epoch: 25_000, routes: totals(50, 0, []) });
    const t = w.traffic("chat");
    assert.equal(t?.windowSeconds, 10); // 15 s → 25 s: older samples gone
    assert.equal(t?.requestsPerSecond, 2);
  });

  it("keeps a history longer than the window: one point per interval, figures of that interval only", () => {
    const w = new TrafficWindow(10_000, 5_000, 60_000);
    const b = (fast: number, slow: number) => [
      { le: 0.05, count: fast },
      { le: 0.5, count: fast + slow },
      { le: INF, count: fast + slow },
    ];
    w.add({ at: 0, epoch: 1_000_000, routes: totals(0, 0, b(0, 0)) });
    w.add({ at: 2_000, epoch: 1_002_000, routes: totals(99, 0, b(0, 0)) }); // under the gap: dropped
    w.add({ at: 5_000, epoch: 1_005_000, routes: totals(10, 0, b(10, 0)) });
    w.add({ at: 10_000, epoch: 1_010_000, routes: totals(20, 5, b(10, 10)) });
    w.add({ at: 15_000, epoch: 1_015_000, routes: totals(20, 5, b(10, 10)) });
    const s = w.series("chat");
    assert.deepEqual(
      s.map((p) => [p.at, p.requestsPerSecond, p.errorRate]),
      [
        [new Date(1_005_000).toISOString(), 2, 0],
        [new Date(1_010_000).toISOString(), 2, 0.5],
        [new Date(1_015_000).toISOString(), 0, 0],
      ],
    );
    assert.ok((s[0]?.ttftMs?.p99 ?? 0) <= 50, "the first interval's tokens all came under 50 ms");
    assert.ok((s[1]?.ttftMs?.p50 ?? 0) > 50, "the second's above: earlier ones do not count");
    assert.equal(s[2]?.ttftMs, undefined, "no token in the last interval");
    // The summary covers the last 10 s only (5 s → 15 s): 10 requests, 5 errors.
    assert.deepEqual([w.traffic("chat")?.windowSeconds, w.traffic("chat")?.errorRate], [10, 0.5]);
    assert.deepEqual(w.series("other"), []);
  });
});
