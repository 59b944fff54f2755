import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KvCache } from "../../src/sim/model/kv-cache.js";

describe("KvCache", () => {
  it("allocates until full and refuses without taking anything", () => {
    const kv = new KvCache(4);
    const a = kv.allocate(3);
    assert.deepEqual(a, [0, 1, 2]);
    assert.equal(kv.allocate(2), null);
    assert.equal(kv.freeBlocks, 1);
    assert.equal(kv.usage, 0.75);
  });

  it("a released, registered block is found again by its hash until it is reused", () => {
    const kv = new KvCache(2);
    const [b] = kv.allocate(1) ?? [];
    assert.equal(b, 0);
    kv.register(0, "h0");
    kv.release([0]);
    assert.equal(kv.usage, 0); // cached-but-free counts as free, as vLLM's usage gauge
    assert.equal(kv.peekHits(["h0", "h1"]), 1);
    assert.deepEqual(kv.takeHits(["h0"]), [0]);
    assert.equal(kv.freeBlocks, 1);
    kv.release([0]);
    // LRU: block 1 (never used) is older in the free queue than block 0... both are free; take both
    kv.allocate(2);
    assert.equal(kv.peekHits(["h0"]), 0, "reuse evicts the hash");
  });

  it("evicts the least recently freed block first", () => {
    const kv = new KvCache(3);
    kv.allocate(3);
    kv.register(0, "a");
    kv.register(1, "b");
    kv.register(2, "c");
    kv.release([0]);
    kv.release([1]);
    kv.release([2]);
    kv.allocate(1); // evicts "a"
    assert.equal(kv.peekHits(["a"]), 0);
    assert.equal(kv.peekHits(["b"]), 1);
    // touching "b" moves it to the back of the queue
    kv.takeHits(["b"]);
    kv.release([1]);
    kv.allocate(1); // evicts "c", not "b"
    assert.equal(kv.peekHits(["c"]), 0);
    assert.equal(kv.peekHits(["b"]), 1);
  });

  it("shares a block between two holders and frees it only when both release", () => {
    const kv = new KvCache(2);
    kv.allocate(1);
    kv.register(0, "x");
    kv.takeHits(["x"]);
    kv.release([0]);
    assert.equal(kv.freeBlocks, 1);
    kv.release([0]);
    assert.equal(kv.freeBlocks, 2);
    assert.throws(() => kv.release([0]), /released twice/);
  });
});
