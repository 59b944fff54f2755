import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RoundRobinBalancer } from "../../../src/gateway/routing/balancers/index.js";
import type { EndpointState } from "../../../src/gateway/types.js";
import { endpoints, indexOf, rng } from "./fixtures.js";

describe("round-robin", () => {
  it("cycles through a stable set in order", () => {
    const all = endpoints(3);
    const b = new RoundRobinBalancer();
    const seq = Array.from({ length: 9 }, () => indexOf(all, b.pick(all, { all, now: 0 }).endpoint));
    assert.deepEqual(seq, [0, 1, 2, 0, 1, 2, 0, 1, 2]);
  });

  it("an endpoint that was unavailable gets its turn back; the others keep their rotation", () => {
    const all = endpoints(3);
    const [a, b, c] = all as [EndpointState, EndpointState, EndpointState];
    const rr = new RoundRobinBalancer();
    const pick = (cands: EndpointState[]) => indexOf(all, rr.pick(cands, { all, now: 0 }).endpoint);
    assert.deepEqual([pick(all), pick(all), pick(all)], [0, 1, 2]);
    // b is ejected for a while: a and c alternate.
    assert.deepEqual([pick([a, c]), pick([a, c]), pick([a, c]), pick([a, c])], [0, 2, 0, 2]);
    // b is back: it is the least recently picked, so it goes first, then the cycle resumes.
    assert.deepEqual([pick(all), pick(all), pick(all), pick(all)], [1, 0, 2, 1]);
    // A new endpoint joins at once.
    const d = endpoints(1, "p", 9)[0] as EndpointState;
    assert.equal(rr.pick([a, b, c, d], { all: [...all, d], now: 0 }).endpoint, d);
  });

  it("stays fair when the candidate set changes at random", () => {
    const all = endpoints(5);
    const random = rng(7);
    const rr = new RoundRobinBalancer();
    const counts = new Map<EndpointState, number>();
    const offered = new Map<EndpointState, number>();
    for (let i = 0; i < 20_000; i++) {
      const cands = all.filter(() => random() < 0.8);
      if (cands.length === 0) continue;
      for (const e of cands) offered.set(e, (offered.get(e) ?? 0) + 1);
      const e = rr.pick(cands, { all, now: 0 }).endpoint;
      counts.set(e, (counts.get(e) ?? 0) + 1);
    }
    const values = all.map((e) => counts.get(e) ?? 0);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    for (const v of values) assert.ok(Math.abs(v - mean) / mean < 0.02, `counts ${values.join(", ")}`);
  });
});
