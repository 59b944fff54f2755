import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LoadAwareBalancer } from "../../../src/gateway/routing/balancers/index.js";
import type { EndpointState } from "../../../src/gateway/types.js";
import { endpoints, indexOf, load, rng } from "./fixtures.js";

const NOW = 50_000;

/** Endpoints with the given samples: [waiting, running, kvUsage] each. */
function pool(samples: [number, number, number | undefined][]): EndpointState[] {
  const all = endpoints(samples.length);
  samples.forEach(([w, r, kv], i) => {
    (all[i] as EndpointState).load = load(NOW, w, r, kv);
  });
  return all;
}

const pickIndex = (b: LoadAwareBalancer, all: EndpointState[]) => {
  const pick = b.pick(all, { all, now: NOW });
  assert.equal(pick.fallback, undefined);
  return indexOf(all, pick.endpoint);
};

describe("load-aware", () => {
  it("prefers the shortest waiting queue (KV equal)", () => {
    const all = pool([
      [5, 8, 0.5],
      [0, 8, 0.5],
      [3, 8, 0.5],
    ]);
    assert.equal(pickIndex(new LoadAwareBalancer({ random: rng(1) }), all), 1);
  });

  it("prefers the lowest KV-cache usage (queues equal)", () => {
    const all = pool([
      [2, 8, 0.9],
      [2, 8, 0.2],
      [2, 8, 0.5],
    ]);
    assert.equal(pickIndex(new LoadAwareBalancer({ random: rng(1) }), all), 1);
  });

  it("weighs the two scorers: queue against KV", () => {
    // #0: empty queue, nearly full cache; #1: longest queue, empty cache; #2 in between.
    const all = pool([
      [0, 8, 0.95],
      [10, 8, 0.05],
      [4, 8, 0.3],
    ]);
    // Defaults (1, 1): #0 → 1 + 0.05, #1 → 0 + 0.95, #2 → 0.6 + 0.7 = 1.3.
    assert.equal(pickIndex(new LoadAwareBalancer({ random: rng(1) }), all), 2);
    assert.equal(pickIndex(new LoadAwareBalancer({ random: rng(1), kvWeight: 0 }), all), 0);
    assert.equal(pickIndex(new LoadAwareBalancer({ random: rng(1), queueWeight: 0 }), all), 1);
  });

  it("counts its own in-flight requests as queue: a burst between two scrapes spreads", () => {
    const all = pool([
      [0, 0, 0.1],
      [0, 0, 0.1],
      [0, 0, 0.1],
    ]);
    const b = new LoadAwareBalancer({ random: rng(2) });
    const counts = [0, 0, 0];
    for (let i = 0; i < 30; i++) {
      const e = b.pick(all, { all, now: NOW }).endpoint;
      e.inFlight++;
      const j = indexOf(all, e);
      counts[j] = (counts[j] ?? 0) + 1;
    }
    assert.deepEqual(counts, [10, 10, 10]);
  });

  it("counts requests awaiting their first token heavily, and rotates among exact ties", () => {
    const all = pool([
      [0, 8, 0.5],
      [0, 8, 0.5],
    ]);
    const b = new LoadAwareBalancer({ random: rng(7) });
    const seq = Array.from({ length: 6 }, () => pickIndex(b, all));
    for (let i = 1; i < seq.length; i++) assert.notEqual(seq[i], seq[i - 1], `ties rotate: ${seq}`);
    (all[0] as EndpointState).inFlight = 1;
    (all[0] as EndpointState).awaitingFirstToken = 1;
    (all[1] as EndpointState).inFlight = 3; // decoding
    for (let i = 0; i < 4; i++) assert.equal(pickIndex(b, all), 1);
  });

  it("breaks ties by fewer in flight", () => {
    // Same queue term (waiting + inFlight = 3), same KV: fewer of ours in flight wins.
    const all = pool([
      [0, 4, 0.4],
      [2, 4, 0.4],
      [1, 4, 0.4],
    ]);
    (all[0] as EndpointState).inFlight = 3;
    (all[1] as EndpointState).inFlight = 1;
    (all[2] as EndpointState).inFlight = 2;
    assert.equal(pickIndex(new LoadAwareBalancer({ random: rng(3) }), all), 1);
  });

  it("the running-batch term counts only when weighted", () => {
    const all = pool([
      [1, 30, 0.4],
      [1, 2, 0.4],
    ]);
    const plain = new LoadAwareBalancer({ random: rng(4) });
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) seen.add(pickIndex(plain, all));
    assert.deepEqual([...seen].sort(), [0, 1], "without the term the two tie (random among them)");
    assert.equal(pickIndex(new LoadAwareBalancer({ random: rng(4), runningWeight: 1 }), all), 1);
  });

  it("drops the KV term when an engine does not export it (TGI)", () => {
    const all = pool([
      [3, 8, undefined],
      [1, 8, undefined],
      [2, 8, undefined],
    ]);
    assert.equal(pickIndex(new LoadAwareBalancer({ random: rng(5) }), all), 1);
    // One candidate without KV usage: the term goes for everyone (it cannot be compared).
    const mixed = pool([
      [1, 8, 0.9],
      [1, 8, undefined],
      [2, 8, 0.0],
    ]);
    const idx = pickIndex(new LoadAwareBalancer({ random: rng(5) }), mixed);
    assert.ok(idx === 0 || idx === 1, `picked ${idx}`);
  });

  it("falls back to least-request on stale or missing metrics (fail open)", () => {
    const all = pool([
      [0, 0, 0.1],
      [9, 9, 0.9],
      [0, 0, 0.1],
    ]);
    const b = new LoadAwareBalancer({ random: rng(6) });
    (all[1] as EndpointState).load = load(NOW - 1_001, 9, 9, 0.9);
    const stale = b.pick(all, { all, now: NOW });
    assert.equal(stale.fallback, "stale-metrics");
    assert.ok(all.includes(stale.endpoint));
    // Exactly staleMs old is still fresh.
    (all[1] as EndpointState).load = load(NOW - 1_000, 9, 9, 0.9);
    assert.equal(b.pick(all, { all, now: NOW }).fallback, undefined);
    // Missing sample.
    delete (all[1] as EndpointState).load;
    assert.equal(b.pick(all, { all, now: NOW }).fallback, "stale-metrics");
    // The fallback is least-request: the busier of two is never taken.
    (all[0] as EndpointState).inFlight = 5;
    for (let i = 0; i < 100; i++) {
      const p = new LoadAwareBalancer({ random: rng(i) }).pick(all.slice(0, 2), { all, now: NOW });
      assert.equal(p.endpoint, all[1]);
    }
  });

  it("staleMs is configurable; only candidates' samples matter", () => {
    const all = pool([
      [0, 0, 0.1],
      [1, 0, 0.1],
    ]);
    (all[0] as EndpointState).load = load(NOW - 1_500, 0, 0, 0.1);
    assert.equal(new LoadAwareBalancer({ staleMs: 2_000 }).pick(all, { all, now: NOW }).fallback, undefined);
    const cands = [all[1] as EndpointState];
    assert.equal(new LoadAwareBalancer().pick(cands, { all, now: NOW }).fallback, undefined);
  });
});
