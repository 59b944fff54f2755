// The Limiter contract (src/gateway/policy/limiter.ts), run against each implementation: the same
// requests get the same decisions, whether one gateway decides in memory or every replica in Redis.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it, type TestContext } from "node:test";
import type { AdmitRequest, Decision, Limiter } from "../../src/gateway/policy/limiter.js";
import { WINDOW_MS } from "../../src/gateway/policy/limiter.js";
import { assertImplements, LIMITER_METHODS } from "./methods.js";

/** A fresh limiter for one test (closed by the suite); undefined skips the test. */
export type LimiterFactory = (t: TestContext) => Promise<Limiter | undefined>;

const MONTH = "2026-11";

function admitted(d: Decision): Extract<Decision, { ok: true }> {
  assert.ok(d.ok, `refused: ${JSON.stringify(d)}`);
  return d;
}

function refused(d: Decision, reason: "rpm" | "tpm" | "budget"): Extract<Decision, { ok: false }> {
  assert.ok(!d.ok, `admitted, expected ${reason}: ${JSON.stringify(d)}`);
  assert.equal(d.reason, reason);
  assert.ok(d.retryAfterMs >= 1 && d.retryAfterMs <= WINDOW_MS, `retryAfterMs ${d.retryAfterMs}`);
  return d;
}

export function limiterConformance(open: LimiterFactory): void {
  const fixture = async (t: TestContext) => {
    const l = await open(t);
    if (l) t.after(() => l.close());
    // Each test its own key: a shared store (Redis) keeps other tests' counts.
    return (
      l && {
        l,
        req: (r: Partial<AdmitRequest>): AdmitRequest => ({ keyId: key, estimate: 0, month: MONTH, ...r }),
      }
    );
  };
  let key = "";
  const fresh = () => {
    key = randomUUID();
    return key;
  };

  it("implements every Limiter method", async (t) => {
    const f = await fixture(t);
    if (f) assertImplements(f.l, LIMITER_METHODS, f.l.constructor.name);
  });

  it("without limits every request is admitted, with a ticket for what it reserved", async (t) => {
    fresh();
    const f = await fixture(t);
    if (!f) return;
    for (let i = 0; i < 5; i++) {
      const d = admitted(await f.l.admit(f.req({ estimate: 100 })));
      assert.equal(d.ticket.reserved, 100);
      assert.equal(d.ticket.keyId, key);
      assert.equal(d.requests, undefined);
      assert.equal(d.tokens, undefined);
    }
  });

  it("RPM admits the limit in a window, then refuses with the wait until the oldest leaves", async (t) => {
    fresh();
    const f = await fixture(t);
    if (!f) return;
    const remaining: number[] = [];
    for (let i = 0; i < 3; i++) {
      const d = admitted(await f.l.admit(f.req({ rpm: 3 })));
      remaining.push(d.requests?.remaining ?? -1);
      assert.equal(d.requests?.limit, 3);
    }
    assert.deepEqual(remaining, [2, 1, 0]);
    const d = refused(await f.l.admit(f.req({ rpm: 3 })), "rpm");
    assert.ok(d.retryAfterMs > WINDOW_MS - 10_000, `the oldest admission left just now: ${d.retryAfterMs}`);
    assert.equal(d.requests?.remaining, 0);
  });

  it("keys are counted apart", async (t) => {
    fresh();
    const f = await fixture(t);
    if (!f) return;
    const a = key;
    admitted(await f.l.admit(f.req({ rpm: 1 })));
    refused(await f.l.admit(f.req({ rpm: 1 })), "rpm");
    fresh();
    admitted(await f.l.admit(f.req({ rpm: 1 })));
    refused(await f.l.admit({ keyId: a, rpm: 1, estimate: 0, month: MONTH }), "rpm");
  });

  it("TPM reserves the estimate; settlement books the real tokens instead", async (t) => {
    fresh();
    const f = await fixture(t);
    if (!f) return;
    const first = admitted(await f.l.admit(f.req({ tpm: 100, estimate: 60 })));
    assert.deepEqual([first.tokens?.limit, first.tokens?.remaining], [100, 40]);
    refused(await f.l.admit(f.req({ tpm: 100, estimate: 60 })), "tpm");
    await f.l.settle(first.ticket, 10); // the answer was short
    const second = admitted(await f.l.admit(f.req({ tpm: 100, estimate: 60 })));
    assert.equal(second.tokens?.remaining, 30);
    await f.l.settle(second.ticket, 60); // as reserved: nothing changes
    refused(await f.l.admit(f.req({ tpm: 100, estimate: 31 })), "tpm");
    admitted(await f.l.admit(f.req({ tpm: 100, estimate: 30 })));
  });

  it("a monthly budget admits until spent, counts settlements, and renews with the month", async (t) => {
    fresh();
    const f = await fixture(t);
    if (!f) return;
    const first = admitted(await f.l.admit(f.req({ budget: 100, estimate: 60 })));
    assert.equal(first.spent, 60);
    assert.equal(admitted(await f.l.admit(f.req({ budget: 100, estimate: 60 }))).spent, 120);
    assert.equal(refused(await f.l.admit(f.req({ budget: 100, estimate: 1 })), "budget").spent, 120);
    await f.l.settle(first.ticket, 0); // the request failed: nothing was used
    assert.equal(admitted(await f.l.admit(f.req({ budget: 100, estimate: 1 }))).spent, 61);
    assert.equal(admitted(await f.l.admit(f.req({ budget: 100, estimate: 1, month: "2026-12" }))).spent, 1);
  });
}
