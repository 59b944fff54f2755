import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fmix32, hash32, hash53, unitInterval } from "../../../src/gateway/routing/hash.js";

describe("routing hashes", () => {
  it("hash32 is stable: every gateway replica and release maps keys alike", () => {
    // Golden values: changing them remaps every prefix ring and sticky session.
    assert.equal(hash32(""), 2872998923);
    assert.equal(hash32("a"), 444641715);
    assert.equal(hash32("http://10.0.0.1:8000-0"), 1766097772);
    assert.equal(hash32("user-42", 7), 3117168937);
    assert.equal(hash32(""), fmix32(0x811c9dc5));
  });

  it("hash53 is cyrb53", () => {
    assert.equal(hash53("a"), 7929297801672961);
    const h = hash53("hello world");
    assert.ok(Number.isSafeInteger(h) && h >= 0);
  });

  it("`end` hashes a prefix without slicing; `seed` gives another family", () => {
    const s = "The quick brown fox jumps over the lazy dog";
    assert.equal(hash32(s, 0, 9), hash32(s.slice(0, 9)));
    assert.equal(hash32(s, 0, 1_000), hash32(s));
    assert.equal(hash53(s, 0, 9), hash53(s.slice(0, 9)));
    assert.notEqual(hash32(s, 1), hash32(s));
    assert.ok(hash32(s) >= 0 && hash32(s) <= 0xffffffff && Number.isInteger(hash32(s)));
  });

  it("spreads similar keys evenly over buckets", () => {
    const buckets = new Array<number>(16).fill(0);
    const n = 32_000;
    for (let i = 0; i < n; i++) {
      const b = hash32(`http://10.0.0.${i % 256}:8000-${i}`) % 16;
      buckets[b] = (buckets[b] ?? 0) + 1;
    }
    for (const b of buckets) assert.ok(Math.abs(b - n / 16) < (n / 16) * 0.06, buckets.join(", "));
  });

  it("a one-character change flips about half the bits", () => {
    let flipped = 0;
    const trials = 2_000;
    for (let i = 0; i < trials; i++) {
      let x = (hash32(`key-${i}`) ^ hash32(`key-${i + 1}`)) >>> 0;
      while (x) {
        flipped += x & 1;
        x >>>= 1;
      }
    }
    assert.ok(Math.abs(flipped / trials - 16) < 0.5, `mean bits flipped ${flipped / trials}`);
  });

  it("unitInterval lies strictly inside (0, 1)", () => {
    assert.ok(unitInterval(0) > 0);
    assert.ok(unitInterval(0xffffffff) < 1);
  });
});
