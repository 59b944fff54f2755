// The pool on its own: in-flight caps, the bounded queue, exclusions, endpoint changes that keep
// state, and panic routing when every endpoint is out of service.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { adapterForPool } from "../../../src/engines/index.js";
import { isInferplaneError } from "../../../src/errors.js";
import { createBalancer } from "../../../src/gateway/routing/balancers/index.js";
import type { PoolInfo } from "../../../src/gateway/types.js";
import { DEFAULT_LIMITS, UpstreamPool } from "../../../src/gateway/upstream/pool.js";

const info: PoolInfo = { name: "p", engine: "vllm", upstreamModel: "m" };

function pool(urls: string[], limits: Partial<typeof DEFAULT_LIMITS> = {}): UpstreamPool {
  const p = new UpstreamPool(info, createBalancer("round-robin"), adapterForPool(info), {
    ...DEFAULT_LIMITS,
    ...limits,
  });
  p.setEndpoints(urls);
  return p;
}

const code = (c: string) => (err: unknown) => isInferplaneError(err) && err.code === c;

describe("UpstreamPool", () => {
  it("counts in flight, skips excluded endpoints and frees on release", async () => {
    const p = pool(["http://a", "http://b"]);
    const a = await p.acquire(new Set(), undefined);
    const b = await p.acquire(new Set([a.id]), undefined);
    assert.notEqual(a.id, b.id);
    assert.equal(a.inFlight + b.inFlight, 2);
    await assert.rejects(p.acquire(new Set([a.id, b.id]), undefined), code("no_healthy_upstream"));
    p.release(a);
    p.release(b);
    assert.equal(a.inFlight + b.inFlight, 0);
    await p.close();
  });

  it("queues at the cap, hands freed capacity over in order, answers 429 when the queue is full", async () => {
    const p = pool(["http://a"], { maxInFlightPerEndpoint: 1, maxQueued: 1 });
    const first = await p.acquire(new Set(), undefined);
    const waiting = p.acquire(new Set(), undefined);
    assert.equal(p.queued, 1);
    await assert.rejects(p.acquire(new Set(), undefined), code("pool_queue_full"));
    p.release(first);
    assert.equal((await waiting).id, first.id);
    await p.close();
  });

  it("a queued request gives up after maxQueueWait", async () => {
    const p = pool(["http://a"], { maxInFlightPerEndpoint: 1, maxQueueWaitMs: 20 });
    await p.acquire(new Set(), undefined);
    await assert.rejects(p.acquire(new Set(), undefined), code("pool_queue_full"));
    await p.close();
  });

  it("new endpoint lists keep the state of endpoints that stay", async () => {
    const p = pool(["http://a", "http://b"]);
    const a = p.endpoints[0];
    assert.ok(a);
    a.consecutiveFailures = 3;
    p.setEndpoints(["http://a/", "http://c"]);
    assert.deepEqual(
      p.endpoints.map((e) => e.url),
      ["http://a", "http://c"],
    );
    assert.equal(p.endpoints[0], a, "same state object");
    await p.close();
  });

  it("ejected or unhealthy endpoints are skipped while another can serve", async () => {
    const p = pool(["http://a", "http://b"]);
    const [a, b] = p.endpoints as [(typeof p.endpoints)[0], (typeof p.endpoints)[0]];
    a.healthy = false;
    for (let i = 0; i < 4; i++) {
      const ep = await p.acquire(new Set(), undefined);
      assert.equal(ep, b);
      p.release(ep);
    }
    await p.close();
  });

  it("panic: with every endpoint out of service, untried ones are still offered", async () => {
    const p = pool(["http://a", "http://b"]);
    let panics = 0;
    p.onPanic = () => panics++;
    for (const e of p.endpoints) e.healthy = false;
    const first = await p.acquire(new Set(), undefined);
    const second = await p.acquire(new Set([first.id]), undefined);
    assert.notEqual(first.id, second.id);
    assert.equal(panics, 2);
    await assert.rejects(p.acquire(new Set([first.id, second.id]), undefined), code("no_healthy_upstream"));
    await p.close();
  });
});
