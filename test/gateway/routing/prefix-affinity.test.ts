import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PrefixAffinityBalancer } from "../../../src/gateway/routing/balancers/index.js";
import type { EndpointState } from "../../../src/gateway/types.js";
import { endpoints, randomKey, rng } from "./fixtures.js";

const keysOf = (n: number, seed = 1): string[] => {
  const random = rng(seed);
  return Array.from({ length: n }, () => randomKey(random, 150));
};

/** Where each key goes with nobody loaded. */
function mapping(
  b: PrefixAffinityBalancer,
  all: readonly EndpointState[],
  keys: readonly string[],
  cands = all,
) {
  return keys.map((k) => {
    const pick = b.pick(cands, { all, now: 0, prefixKey: k });
    assert.equal(pick.fallback, undefined);
    return pick.endpoint.id;
  });
}

describe("prefix-affinity (consistent hashing with bounded loads)", () => {
  it("sends the same prefix to the same endpoint; only the first prefixCharLength chars count", () => {
    const all = endpoints(4);
    const b = new PrefixAffinityBalancer();
    const key = `${"You are a helpful assistant. ".repeat(4)}`; // 116 chars
    const first = b.pick(all, { all, now: 0, prefixKey: key }).endpoint;
    for (let i = 0; i < 20; i++) {
      assert.equal(b.pick(all, { all, now: 0, prefixKey: `${key.slice(0, 100)}turn ${i}` }).endpoint, first);
    }
    // A second balancer (another gateway replica) agrees: the ring is a pure function of the ids.
    assert.equal(
      new PrefixAffinityBalancer().pick(all, { all, now: 0, prefixKey: key }).endpoint.id,
      first.id,
    );
    // With a shorter prefixCharLength, keys differing after that length still agree.
    const short = new PrefixAffinityBalancer({ prefixCharLength: 10 });
    const a = short.pick(all, { all, now: 0, prefixKey: "0123456789-a" }).endpoint;
    assert.equal(short.pick(all, { all, now: 0, prefixKey: "0123456789-zzzz" }).endpoint, a);
  });

  it("a new key whose endpoint is busy in prefill goes to the fewest prefills; once seen, it keeps its endpoint", () => {
    const all = endpoints(4);
    const b = new PrefixAffinityBalancer();
    const home = new PrefixAffinityBalancer().pick(all, { all, now: 0, prefixKey: "new key" }).endpoint;
    for (const e of all) e.awaitingFirstToken = 2;
    home.awaitingFirstToken = 1;
    const idle = all.find((e) => e !== home) as EndpointState;
    idle.awaitingFirstToken = 0;
    assert.equal(b.pick(all, { all, now: 0, prefixKey: "new key" }).endpoint, idle, "cold key, busy home");
    assert.equal(b.pick(all, { all, now: 0, prefixKey: "new key" }).endpoint, home, "seen key: its endpoint");
    // A new key whose endpoint has no prefill in flight stays there.
    home.awaitingFirstToken = 0;
    idle.awaitingFirstToken = 2;
    assert.equal(b.pick(all, { all, now: 0, prefixKey: "new key" }).endpoint, home);
  });

  it("spreads different prefixes roughly evenly (16 over 4; 4,000 over 4)", () => {
    const all = endpoints(4);
    const b = new PrefixAffinityBalancer();
    const count = (keys: string[]) => {
      const m = new Map<string, number>();
      for (const id of mapping(b, all, keys)) m.set(id, (m.get(id) ?? 0) + 1);
      return all.map((e) => m.get(e.id) ?? 0);
    };
    const sixteen = count(keysOf(16));
    for (const c of sixteen) assert.ok(c >= 1 && c <= 8, `16 prefixes: ${sixteen.join(", ")}`);
    const many = count(keysOf(4_000, 2));
    for (const c of many) assert.ok(Math.abs(c - 1_000) < 150, `4000 prefixes: ${many.join(", ")}`);
  });

  it("adding an endpoint moves about 1/N of the keys, all of them to the new one", () => {
    const four = endpoints(4);
    const five = [...four, ...endpoints(1, "p", 5)];
    const keys = keysOf(4_000, 3);
    const b = new PrefixAffinityBalancer();
    const before = mapping(b, four, keys);
    const after = mapping(b, five, keys);
    let moved = 0;
    for (let i = 0; i < keys.length; i++) {
      if (before[i] === after[i]) continue;
      moved++;
      assert.equal(after[i], five[4]?.id, "a key moved between two old endpoints");
    }
    assert.ok(Math.abs(moved / keys.length - 1 / 5) < 0.05, `moved ${moved / keys.length}`);
  });

  it("when an endpoint leaves, keys of the others keep their endpoint", () => {
    const all = endpoints(5);
    const keys = keysOf(2_000, 4);
    const b = new PrefixAffinityBalancer();
    const before = mapping(b, all, keys);
    const gone = all[2] as EndpointState;
    const rest = all.filter((e) => e !== gone);
    const after = mapping(b, rest, keys);
    for (let i = 0; i < keys.length; i++) {
      if (before[i] !== gone.id) assert.equal(after[i], before[i]);
      else assert.notEqual(after[i], gone.id);
    }
  });

  it("an ejected endpoint (still in ctx.all) keeps its keys for when it comes back", () => {
    const all = endpoints(4);
    const keys = keysOf(500, 5);
    const b = new PrefixAffinityBalancer();
    const before = mapping(b, all, keys);
    const ejected = all[1] as EndpointState;
    const during = mapping(
      b,
      all,
      keys,
      all.filter((e) => e !== ejected),
    );
    for (let i = 0; i < keys.length; i++) {
      if (before[i] !== ejected.id) assert.equal(during[i], before[i]);
      else assert.notEqual(during[i], ejected.id);
    }
    assert.deepEqual(mapping(b, all, keys), before);
    // Reordering ctx.all (same ids, new array) changes nothing either.
    assert.deepEqual(mapping(b, [...all].reverse(), keys), before);
  });

  it("spills past an endpoint over the load bound, to the next one on the ring, consistently", () => {
    const all = endpoints(4);
    const b = new PrefixAffinityBalancer();
    const key = "system: you are a code reviewer";
    const home = b.pick(all, { all, now: 0, prefixKey: key }).endpoint;
    // 6 in flight at home, 0 elsewhere: bound = ceil(1.25 × 7 / 4) = 3; 6 + 1 > 3.
    home.inFlight = 6;
    const spill = b.pick(all, { all, now: 0, prefixKey: key });
    assert.equal(spill.fallback, undefined);
    assert.notEqual(spill.endpoint, home);
    for (let i = 0; i < 10; i++)
      assert.equal(b.pick(all, { all, now: 0, prefixKey: key }).endpoint, spill.endpoint);
    // Within the bound it stays home: 2 in flight everywhere → bound ceil(1.25 × 9 / 4) = 3, 2 + 1 ≤ 3.
    for (const e of all) e.inFlight = 2;
    assert.equal(b.pick(all, { all, now: 0, prefixKey: key }).endpoint, home);
  });

  it("falls back to least-request: no key → no-key; nobody within the bound → load-bound", () => {
    const all = endpoints(4);
    const b = new PrefixAffinityBalancer({ random: rng(9) });
    assert.equal(b.pick(all, { all, now: 0 }).fallback, "no-key");
    assert.equal(b.pick(all, { all, now: 0, prefixKey: "" }).fallback, "no-key");
    // meanLoadFactor below 1 can leave no endpoint within the bound.
    const strict = new PrefixAffinityBalancer({ random: rng(9), meanLoadFactor: 0.5 });
    for (const e of all) e.inFlight = 2;
    const pick = strict.pick(all, { all, now: 0, prefixKey: "k" });
    assert.equal(pick.fallback, "load-bound");
    assert.ok(all.includes(pick.endpoint));
    // Candidates the ring does not know (not in ctx.all) cannot be reached by the walk.
    const stranger = endpoints(1, "p", 77);
    const odd = b.pick(stranger, { all, now: 0, prefixKey: "k" });
    assert.equal(odd.endpoint, stranger[0]);
    assert.equal(odd.fallback, "load-bound");
  });
});
