// The retry budget on its own: a floor per second for quiet gateways, a share of recent
// requests beyond it, a ten-second window that forgets.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RetryBudget } from "../../../src/gateway/proxy/retry-budget.js";

function take(b: RetryBudget, at: number, n: number): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (b.tryRetry(at)) ok++;
  return ok;
}

describe("RetryBudget", () => {
  it("a quiet gateway may still retry up to the floor (per second, over the window)", () => {
    const b = new RetryBudget(20, 5);
    assert.equal(take(b, 1_000, 100), 50, "5/s × 10 s");
  });

  it("beyond the floor, retries are a share of recent requests", () => {
    const b = new RetryBudget(20, 0);
    for (let i = 0; i < 1_000; i++) b.recordRequest(5_000);
    assert.equal(take(b, 5_000, 500), 200, "20 % of 1000");
    const none = new RetryBudget(0, 0);
    none.recordRequest(5_000);
    assert.equal(take(none, 5_000, 3), 0, "0 % allows nothing");
  });

  it("the window forgets requests and retries older than ten seconds", () => {
    const b = new RetryBudget(50, 0);
    for (let i = 0; i < 100; i++) b.recordRequest(0);
    assert.equal(take(b, 0, 100), 50);
    assert.equal(take(b, 9_999, 1), 0, "still inside the window");
    assert.equal(take(b, 10_500, 1), 0, "requests forgotten too: nothing to share");
    for (let i = 0; i < 10; i++) b.recordRequest(10_500);
    assert.equal(take(b, 10_500, 10), 5);
  });
});
