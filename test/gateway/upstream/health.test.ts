import assert from "node:assert/strict";
import { describe, it, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { getEngineAdapter } from "../../../src/engines/index.js";
import { type EndpointState, newEndpoint } from "../../../src/gateway/types.js";
import { HealthChecker } from "../../../src/gateway/upstream/health.js";
import { recordFailure } from "../../../src/gateway/upstream/outlier.js";
import { requireService } from "../../services/harness.js";
import { startLlmdSim } from "../../services/llmd-sim.js";
import { closedPort, startFakeUpstream } from "./helpers.js";

const vllm = getEngineAdapter("vllm");

describe("HealthChecker", () => {
  it("marks an endpoint unhealthy on a non-2xx answer and healthy again on a 2xx", async (t) => {
    const up = await startFakeUpstream({ "/health": { status: 200 } });
    const ep = newEndpoint("p", up.url);
    const events: string[] = [];
    const hc = new HealthChecker({
      adapter: vllm,
      endpoints: () => [ep],
      onChange: (_e, ev) => events.push(ev),
    });
    t.after(async () => {
      await hc.close();
      await up.close();
    });
    await hc.checkNow();
    assert.equal(ep.healthy, true);
    up.set("/health", { status: 503, body: "loading" });
    await hc.checkNow();
    assert.equal(ep.healthy, false);
    up.set("/health", { status: 200 });
    await hc.checkNow();
    assert.equal(ep.healthy, true);
    assert.deepEqual(events, ["unhealthy", "healthy"]);
    assert.ok(up.requests.every((r) => r.path === "/health"));
  });

  it("a hung or refused endpoint fails within the timeout", async (t) => {
    const up = await startFakeUpstream({ "/health": { hang: true } });
    const port = await closedPort();
    const hung = newEndpoint("p", up.url);
    const refused = newEndpoint("p", `http://127.0.0.1:${port}`);
    const reasons: string[] = [];
    const hc = new HealthChecker({
      adapter: vllm,
      endpoints: () => [hung, refused],
      timeoutMs: 150,
      onCheckError: (ep, why) => reasons.push(`${ep === hung ? "hung" : "refused"}: ${why}`),
    });
    t.after(async () => {
      await hc.close();
      await up.close();
    });
    const t0 = performance.now();
    await hc.checkNow();
    const took = performance.now() - t0;
    assert.equal(hung.healthy, false);
    assert.equal(refused.healthy, false);
    assert.ok(took < 1_000, `round took ${took} ms`);
    assert.equal(reasons.length, 2, reasons.join("\n"));
    assert.ok(
      reasons.some((r) => r.startsWith("refused: ") && /ECONNREFUSED/.test(r)),
      reasons.join("\n"),
    );
  });

  it("thresholds: unhealthy after N failures, healthy after M passes", async (t) => {
    const up = await startFakeUpstream({ "/health": { status: 500 } });
    const ep = newEndpoint("p", up.url);
    const hc = new HealthChecker({
      adapter: vllm,
      endpoints: () => [ep],
      unhealthyThreshold: 2,
      healthyThreshold: 2,
    });
    t.after(async () => {
      await hc.close();
      await up.close();
    });
    await hc.checkNow();
    assert.equal(ep.healthy, true);
    await hc.checkNow();
    assert.equal(ep.healthy, false);
    up.set("/health", { status: 200 });
    await hc.checkNow();
    assert.equal(ep.healthy, false);
    await hc.checkNow();
    assert.equal(ep.healthy, true);
  });

  it("returns an ejected endpoint to service once its time has passed and the check passes", async (t) => {
    const up = await startFakeUpstream({ "/health": { status: 200 } });
    let now = 0;
    const eps = [newEndpoint("p", up.url), newEndpoint("p", "http://127.0.0.1:1")];
    const ep = eps[0] as EndpointState;
    const events: string[] = [];
    const hc = new HealthChecker({
      adapter: vllm,
      endpoints: () => [ep],
      now: () => now,
      onChange: (_e, ev) => events.push(ev),
    });
    t.after(async () => {
      await hc.close();
      await up.close();
    });
    const cfg = {
      consecutive5xx: 1,
      baseEjectionTime: 30_000,
      maxEjectionTime: 300_000,
      maxEjectionPercent: 10,
    };
    assert.equal(recordFailure(ep, eps, now, cfg), true);
    ep.consecutiveFailures = 3;
    now = 10_000;
    await hc.checkNow();
    assert.equal(ep.ejectedUntil, 30_000, "still within its ejection: a passing check does not shorten it");
    now = 30_000;
    up.set("/health", { status: 503 });
    await hc.checkNow();
    assert.equal(ep.healthy, false, "time passed but the check failed: it stays out");
    assert.equal(ep.ejectedUntil, 30_000);
    now = 40_000;
    up.set("/health", { status: 200 });
    await hc.checkNow();
    assert.equal(ep.healthy, true);
    assert.equal(ep.ejectedUntil, 0);
    assert.equal(ep.consecutiveFailures, 0);
    assert.deepEqual(events, ["unhealthy", "healthy", "unejected"]);
  });

  it("decays ejection counts of endpoints in service once per interval", async (t) => {
    const up = await startFakeUpstream({ "/health": { status: 200 } });
    let now = 0;
    const ep = newEndpoint("p", up.url);
    ep.ejections = 3;
    const hc = new HealthChecker({
      adapter: vllm,
      endpoints: () => [ep],
      now: () => now,
      intervalMs: 10_000,
    });
    t.after(async () => {
      await hc.close();
      await up.close();
    });
    await hc.checkNow();
    assert.equal(ep.ejections, 2);
    await hc.checkNow(); // same instant: not another interval
    assert.equal(ep.ejections, 2);
    now = 10_000;
    await hc.checkNow();
    assert.equal(ep.ejections, 1);
  });

  it("never overlaps rounds: checkNow during a round joins it", async (t) => {
    const up = await startFakeUpstream({ "/health": { status: 200, delayMs: 100 } });
    const ep = newEndpoint("p", up.url);
    const hc = new HealthChecker({ adapter: vllm, endpoints: () => [ep] });
    t.after(async () => {
      await hc.close();
      await up.close();
    });
    const a = hc.checkNow();
    const b = hc.checkNow();
    assert.equal(a, b);
    await Promise.all([a, b]);
    assert.equal(up.requests.length, 1);
  });

  it("runs periodically when started, with slow checks never overlapping, and stops", async (t) => {
    const up = await startFakeUpstream({ "/health": { status: 200, delayMs: 40 } });
    const ep = newEndpoint("p", up.url);
    const hc = new HealthChecker({ adapter: vllm, endpoints: () => [ep], intervalMs: 10, timeoutMs: 500 });
    t.after(async () => {
      await hc.close();
      await up.close();
    });
    hc.start();
    hc.start(); // idempotent
    await sleep(300);
    hc.stop();
    const n = up.requests.length;
    assert.ok(n >= 3 && n <= 8, `${n} checks in 300 ms with 40 ms checks every 10 ms`);
    assert.equal(up.maxInFlight(), 1);
    await sleep(100);
    assert.ok(up.requests.length <= n + 1, "no checks after stop (one may have been in flight)");
  });

  it("uses the adapter's health path and headers (external provider: /v1/models with the key)", async (t) => {
    const up = await startFakeUpstream({ "/v1/models": { status: 200, body: '{"data":[]}' } });
    const ep = newEndpoint("p", up.url);
    const adapter = getEngineAdapter("openai", undefined, { apiKeyEnv: "UPSTREAM_KEY", pool: "p" });
    const reasons: string[] = [];
    const hc = new HealthChecker({
      adapter,
      endpoints: () => [ep],
      env: { UPSTREAM_KEY: "sk-1" },
      onCheckError: (_e, why) => reasons.push(why),
    });
    const noKey = new HealthChecker({
      adapter,
      endpoints: () => [ep],
      env: {},
      onCheckError: (_e, why) => reasons.push(why),
    });
    t.after(async () => {
      await hc.close();
      await noKey.close();
      await up.close();
    });
    await hc.checkNow();
    assert.equal(ep.healthy, true);
    assert.equal(up.requests[0]?.path, "/v1/models");
    assert.equal(up.requests[0]?.headers.authorization, "Bearer sk-1");
    await noKey.checkNow();
    assert.equal(ep.healthy, false, "a missing key fails the check, naming the variable");
    assert.match(reasons.join("\n"), /UPSTREAM_KEY/);
  });
});

test("HealthChecker against llm-d-inference-sim: healthy while up, unhealthy once stopped", async (t) => {
  const sim = await requireService(t, "llm-d-inference-sim", () => startLlmdSim());
  if (!sim) return;
  const ep = newEndpoint("p", sim.url);
  const hc = new HealthChecker({ adapter: vllm, endpoints: () => [ep], timeoutMs: 1_000 });
  t.after(() => hc.close());
  await hc.checkNow();
  assert.equal(ep.healthy, true);
  await sim.stop();
  await hc.checkNow();
  assert.equal(ep.healthy, false);
});

describe("HealthChecker: unhealthy endpoints", () => {
  it("are probed again soon (unhealthyIntervalMs), not only at the next round", async (t) => {
    const up = await startFakeUpstream({ "/health": { status: 503 } });
    const ep = newEndpoint("p", up.url);
    const hc = new HealthChecker({
      adapter: vllm,
      endpoints: () => [ep],
      intervalMs: 60_000,
      unhealthyIntervalMs: 30,
    });
    t.after(async () => {
      await hc.close();
      await up.close();
    });
    hc.start();
    const until = async (cond: () => boolean) => {
      const deadline = Date.now() + 5_000;
      while (!cond() && Date.now() < deadline) await sleep(10);
    };
    await until(() => !ep.healthy);
    assert.equal(ep.healthy, false);
    up.set("/health", { status: 200 });
    await until(() => ep.healthy);
    assert.equal(ep.healthy, true, "back within the unhealthy interval, long before the 60 s round");
    const probes = up.requests.length;
    await sleep(150);
    assert.equal(up.requests.length, probes, "healthy again: no more early probes");
  });
});
