/**
 * The conformance suite every balancer runs (hono's pattern): the contract of
 * `Balancer.pick`, whatever the policy. Policy-specific behaviour has its own files.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BALANCER_NAMES,
  type BalancerOptions,
  createBalancer,
} from "../../../src/gateway/routing/balancers/index.js";
import type { Balancer, BalancerName, EndpointState, PickContext } from "../../../src/gateway/types.js";
import { endpoints, load, randomKey, rng } from "./fixtures.js";

const NOW = 1_000_000;

/** Gives every endpoint a fresh sample (load-aware would otherwise always fall back). */
function freshen(all: readonly EndpointState[], now: number): void {
  for (const e of all) e.load = load(now, 0, e.inFlight, 0.2);
}

function make(name: BalancerName, seed: number, extra: BalancerOptions = {}): Balancer {
  return createBalancer(name, { random: rng(seed), ...extra });
}

/** Context for a pick; prefix-affinity gets a key from a small set of "sessions". */
function ctx(all: readonly EndpointState[], random: () => number, keys: readonly string[]): PickContext {
  return { all, now: NOW, prefixKey: keys[Math.floor(random() * keys.length)] as string };
}

for (const name of BALANCER_NAMES) {
  describe(`balancer conformance: ${name}`, () => {
    it("has the name it was created under", () => {
      assert.equal(make(name, 1).name, name);
    });

    it("with one candidate, returns it", () => {
      const all = endpoints(5);
      freshen(all, NOW);
      const b = make(name, 2);
      for (const only of all) {
        for (let i = 0; i < 5; i++) {
          const pick = b.pick([only], { all, now: NOW, prefixKey: `key-${i}` });
          assert.equal(pick.endpoint, only);
        }
      }
    });

    it("always returns one of the candidates, never an excluded endpoint", () => {
      const all = endpoints(6);
      freshen(all, NOW);
      const random = rng(3);
      const keys = Array.from({ length: 50 }, () => randomKey(random));
      const b = make(name, 4);
      for (let i = 0; i < 3_000; i++) {
        // A random non-empty subset of `all` is available (the others ejected, unhealthy, tried).
        const candidates = all.filter(() => random() < 0.5);
        if (candidates.length === 0) candidates.push(all[i % all.length] as EndpointState);
        for (const e of all) e.inFlight = Math.floor(random() * 4);
        freshen(all, NOW);
        const pick = b.pick(candidates, ctx(all, random, keys));
        assert.ok(candidates.includes(pick.endpoint), `picked ${pick.endpoint.id}, not a candidate`);
      }
    });

    it("accepts candidates as any readonly array and does not modify it or the endpoints", () => {
      const all = endpoints(4);
      freshen(all, NOW);
      const candidates = Object.freeze(all.slice(1).map((e) => e));
      const before = JSON.stringify(all);
      const b = make(name, 5);
      for (let i = 0; i < 100; i++) b.pick(candidates, { all, now: NOW, prefixKey: `k${i}` });
      assert.equal(JSON.stringify(all), before);
    });

    it("is deterministic with a seeded RNG", () => {
      const run = (): string[] => {
        const all = endpoints(5);
        const random = rng(11);
        const keys = Array.from({ length: 20 }, () => randomKey(random));
        const b = make(name, 12);
        const out: string[] = [];
        for (let i = 0; i < 500; i++) {
          for (const e of all) e.inFlight = Math.floor(random() * 5);
          freshen(all, NOW);
          const candidates = all.filter((_, j) => (i + j) % 5 !== 0);
          const pick = b.pick(candidates, ctx(all, random, keys));
          out.push(`${pick.endpoint.id}|${pick.fallback ?? ""}`);
        }
        return out;
      };
      assert.deepEqual(run(), run());
    });

    it("spreads load: with in-flight counters kept by the caller, nobody is overloaded", () => {
      const n = 4;
      const all = endpoints(n);
      const random = rng(21);
      const keys = Array.from({ length: 64 }, () => randomKey(random));
      const b = make(name, 22);
      const counts = new Map<EndpointState, number>(all.map((e) => [e, 0]));
      const active: EndpointState[] = [];
      const concurrency = 16;
      const picks = 8_000;
      let worstOverBound = 0;
      for (let i = 0; i < picks; i++) {
        freshen(all, NOW);
        const total = all.reduce((s, e) => s + e.inFlight, 0);
        const e = b.pick(all, ctx(all, random, keys)).endpoint;
        e.inFlight++;
        // Bounded loads: after a prefix-affinity pick nobody exceeds ceil(1.25 × mean).
        const bound = Math.ceil((1.25 * (total + 1)) / n);
        worstOverBound = Math.max(worstOverBound, e.inFlight - bound);
        counts.set(e, (counts.get(e) ?? 0) + 1);
        active.push(e);
        // Requests finish in random order, independent of the endpoint.
        while (active.length > concurrency) {
          const j = Math.floor(random() * active.length);
          const done = active[j] as EndpointState;
          active[j] = active[active.length - 1] as EndpointState;
          active.pop();
          done.inFlight--;
        }
      }
      const fair = picks / n;
      if (name === "prefix-affinity") {
        // Affinity trades evenness of counts for cache hits; the guarantee is the load bound.
        assert.ok(worstOverBound <= 0, `an endpoint went ${worstOverBound} over the load bound`);
        for (const [e, c] of counts) assert.ok(c > 0, `${e.id} got nothing`);
      } else {
        for (const [e, c] of counts) {
          assert.ok(c <= fair * 1.15, `${e.id} got ${c} of ${picks} (fair share ${fair})`);
          assert.ok(c >= fair * 0.85, `${e.id} got only ${c} of ${picks} (fair share ${fair})`);
        }
      }
    });
  });
}
