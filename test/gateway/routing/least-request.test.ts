import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LeastRequestBalancer, twoChoices } from "../../../src/gateway/routing/balancers/index.js";
import { PREFILL_WEIGHT } from "../../../src/gateway/routing/balancers/least-request.js";
import { endpoints, rng } from "./fixtures.js";

const ctx = (all: ReturnType<typeof endpoints>) => ({ all, now: 0 });

describe("least-request (power of two choices)", () => {
  it("of two candidates, always takes the one with fewer in flight", () => {
    const all = endpoints(2);
    (all[0] as (typeof all)[0]).inFlight = 3;
    const b = new LeastRequestBalancer({ random: rng(1) });
    for (let i = 0; i < 200; i++) assert.equal(b.pick(all, ctx(all)).endpoint, all[1]);
  });

  it("draws two distinct candidates: equal loads split about evenly, never the same one twice", () => {
    const all = endpoints(2);
    const b = new LeastRequestBalancer({ random: rng(2) });
    let first = 0;
    for (let i = 0; i < 10_000; i++) if (b.pick(all, ctx(all)).endpoint === all[0]) first++;
    assert.ok(Math.abs(first - 5_000) < 300, `first picked ${first} / 10000`);
  });

  it("an idle endpoint among busy ones wins exactly when drawn: probability 2/n", () => {
    const n = 4;
    const all = endpoints(n);
    for (const e of all) e.inFlight = 10;
    (all[2] as (typeof all)[0]).inFlight = 0;
    const b = new LeastRequestBalancer({ random: rng(3) });
    let idle = 0;
    const picks = 20_000;
    for (let i = 0; i < picks; i++) if (b.pick(all, ctx(all)).endpoint === all[2]) idle++;
    assert.ok(Math.abs(idle / picks - 2 / n) < 0.02, `idle share ${idle / picks}`);
  });

  it("never takes the single busiest endpoint when there are two or more", () => {
    const all = endpoints(5);
    all.forEach((e, i) => {
      e.inFlight = i;
    });
    const b = new LeastRequestBalancer({ random: rng(4) });
    for (let i = 0; i < 5_000; i++) assert.notEqual(b.pick(all, ctx(all)).endpoint, all[4]);
  });

  it("twoChoices works with edge values of the RNG (0 and just under 1)", () => {
    const all = endpoints(3);
    for (const r of [0, 0.999999999]) {
      const e = twoChoices(all, () => r);
      assert.ok(all.includes(e));
    }
    assert.equal(
      twoChoices([all[1] as (typeof all)[0]], () => 0.99),
      all[1],
    );
  });

  it("a request awaiting its first token weighs PREFILL_WEIGHT decoding ones", () => {
    const all = endpoints(2);
    const [a, b] = all as [(typeof all)[0], (typeof all)[0]];
    a.inFlight = PREFILL_WEIGHT; // decoding
    b.inFlight = 1;
    b.awaitingFirstToken = 1; // one prompt in prefill: weighs 1 + PREFILL_WEIGHT
    const lb = new LeastRequestBalancer({ random: rng(5) });
    for (let i = 0; i < 50; i++) assert.equal(lb.pick(all, ctx(all)).endpoint, a);
    b.awaitingFirstToken = 0; // its first token came: now the lighter one
    for (let i = 0; i < 50; i++) assert.equal(lb.pick(all, ctx(all)).endpoint, b);
  });

  it("equal loads: the first candidate rotates, so picks alternate like round-robin", () => {
    const all = endpoints(2);
    const lb = new LeastRequestBalancer({ random: rng(6) });
    const seq = Array.from({ length: 8 }, () => lb.pick(all, ctx(all)).endpoint.id);
    for (let i = 1; i < seq.length; i++) assert.notEqual(seq[i], seq[i - 1]);
  });

  it("defaults to Math.random", () => {
    const all = endpoints(3);
    const b = new LeastRequestBalancer();
    assert.ok(all.includes(b.pick(all, ctx(all)).endpoint));
  });
});
