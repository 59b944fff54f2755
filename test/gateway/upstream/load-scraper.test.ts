import assert from "node:assert/strict";
import { describe, it, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { getEngineAdapter } from "../../../src/engines/index.js";
import { newEndpoint } from "../../../src/gateway/types.js";
import { LoadScraper } from "../../../src/gateway/upstream/load-scraper.js";
import { TGI_3, VLLM_0_8, VLLM_0_12_DP2 } from "../../engines/fixtures.js";
import { requireService } from "../../services/harness.js";
import { startLlmdSim } from "../../services/llmd-sim.js";
import { startFakeUpstream } from "./helpers.js";

const vllm = getEngineAdapter("vllm");

describe("LoadScraper", () => {
  it("sets ep.load from the engine's metrics, stamped with the scraper's clock", async (t) => {
    const up = await startFakeUpstream({ "/metrics": { body: VLLM_0_12_DP2 } });
    const ep = newEndpoint("p", up.url);
    let now = 100;
    const s = new LoadScraper({ adapter: vllm, endpoints: () => [ep], now: () => now });
    t.after(async () => {
      await s.close();
      await up.close();
    });
    await s.scrapeNow();
    assert.deepEqual(ep.load, { running: 8, waiting: 1, kvUsage: 0.375, at: 100 });
    up.set("/metrics", { body: VLLM_0_8 });
    now = 300;
    await s.scrapeNow();
    assert.deepEqual(ep.load, { running: 7, waiting: 2, kvUsage: 0.4213, at: 300 });
  });

  it("a failed scrape keeps the old sample, which then ages (stale)", async (t) => {
    const up = await startFakeUpstream({ "/metrics": { body: TGI_3 } });
    const ep = newEndpoint("p", up.url);
    let now = 0;
    const errors: string[] = [];
    const s = new LoadScraper({
      adapter: getEngineAdapter("tgi"),
      endpoints: () => [ep],
      now: () => now,
      timeoutMs: 150,
      onError: (_e, why) => errors.push(why),
    });
    t.after(async () => {
      await s.close();
      await up.close();
    });
    await s.scrapeNow();
    const first = ep.load;
    assert.deepEqual(first, { running: 12, waiting: 3, at: 0 });
    now = 1_000;
    up.set("/metrics", { status: 500, body: "oops" });
    await s.scrapeNow();
    up.set("/metrics", { hang: true });
    await s.scrapeNow();
    up.set("/metrics", { body: "<html>not metrics</html>" });
    await s.scrapeNow();
    assert.equal(ep.load, first, "the same sample object, still stamped at 0");
    assert.equal(errors.length, 2, errors.join("\n"));
    assert.match(errors[0] ?? "", /HTTP 500/);
  });

  it("refuses a metrics text over maxBytes", async (t) => {
    const up = await startFakeUpstream({ "/metrics": { body: VLLM_0_12_DP2 } });
    const ep = newEndpoint("p", up.url);
    const errors: string[] = [];
    const s = new LoadScraper({
      adapter: vllm,
      endpoints: () => [ep],
      maxBytes: 100,
      onError: (_e, w) => errors.push(w),
    });
    t.after(async () => {
      await s.close();
      await up.close();
    });
    await s.scrapeNow();
    assert.equal(ep.load, undefined);
    assert.match(errors[0] ?? "", /larger than 100 bytes/);
  });

  it("reuses one keep-alive connection per endpoint across scrapes", async (t) => {
    const a = await startFakeUpstream({ "/metrics": { body: VLLM_0_12_DP2 } });
    const b = await startFakeUpstream({ "/metrics": { body: VLLM_0_12_DP2 } });
    const eps = [newEndpoint("p", a.url), newEndpoint("p", b.url)];
    const s = new LoadScraper({ adapter: vllm, endpoints: () => eps });
    t.after(async () => {
      await s.close();
      await a.close();
      await b.close();
    });
    for (let i = 0; i < 10; i++) await s.scrapeNow();
    assert.equal(a.requests.length, 10);
    assert.equal(a.connections(), 1);
    assert.equal(b.connections(), 1);
  });

  it("scrapes periodically when started, never two rounds at once, and stops", async (t) => {
    const up = await startFakeUpstream({ "/metrics": { body: VLLM_0_12_DP2, delayMs: 30 } });
    const ep = newEndpoint("p", up.url);
    const s = new LoadScraper({ adapter: vllm, endpoints: () => [ep], intervalMs: 5 });
    t.after(async () => {
      await s.close();
      await up.close();
    });
    s.start();
    await sleep(300);
    s.stop();
    const n = up.requests.length;
    assert.ok(n >= 4, `${n} scrapes in 300 ms`);
    assert.equal(up.maxInFlight(), 1);
    assert.ok(ep.load !== undefined);
    await sleep(80);
    assert.ok(up.requests.length <= n + 1);
  });

  it("follows the endpoint set between rounds", async (t) => {
    const a = await startFakeUpstream({ "/metrics": { body: VLLM_0_8 } });
    const b = await startFakeUpstream({ "/metrics": { body: VLLM_0_12_DP2 } });
    const ea = newEndpoint("p", a.url);
    const eb = newEndpoint("p", b.url);
    let eps = [ea];
    const s = new LoadScraper({ adapter: vllm, endpoints: () => eps });
    t.after(async () => {
      await s.close();
      await a.close();
      await b.close();
    });
    await s.scrapeNow();
    eps = [eb];
    await s.scrapeNow();
    assert.equal(a.requests.length, 1);
    assert.equal(b.requests.length, 1);
    assert.equal(eb.load?.running, 8);
  });

  it("is a no-op for engines without metrics (Ollama)", async (t) => {
    const up = await startFakeUpstream({ "/metrics": { body: VLLM_0_12_DP2 } });
    const ep = newEndpoint("p", up.url);
    const s = new LoadScraper({ adapter: getEngineAdapter("ollama"), endpoints: () => [ep], intervalMs: 5 });
    t.after(async () => {
      await s.close();
      await up.close();
    });
    assert.equal(s.enabled, false);
    s.start();
    await s.scrapeNow();
    await sleep(30);
    assert.equal(up.requests.length, 0);
    assert.equal(ep.load, undefined);
  });
});

test("LoadScraper against llm-d-inference-sim: real vLLM metrics through keep-alive scrapes", async (t) => {
  const sim = await requireService(t, "llm-d-inference-sim", () =>
    startLlmdSim({ maxNumSeqs: 1, timeToFirstToken: "10ms", interTokenLatency: "40ms" }),
  );
  if (!sim) return;
  const ep = newEndpoint("p", sim.url);
  const samples: { running: number; waiting: number }[] = [];
  const s = new LoadScraper({
    adapter: vllm,
    endpoints: () => [ep],
    intervalMs: 20,
    onSample: (_e, load) => {
      if (load) samples.push({ running: load.running, waiting: load.waiting });
    },
  });
  t.after(() => s.close());
  s.start();
  const body = JSON.stringify({ model: sim.model, messages: [{ role: "user", content: "a b c d e f g h" }] });
  const requests = Array.from({ length: 3 }, () =>
    fetch(`${sim.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(20_000),
    }).then((r) => r.text()),
  );
  await Promise.all(requests);
  await sleep(100);
  s.stop();
  assert.ok(samples.length >= 5, `${samples.length} samples`);
  assert.ok(samples.every((x) => x.running >= 0 && x.waiting >= 0 && x.running <= 1));
  assert.ok(
    samples.some((x) => x.waiting >= 1),
    "three requests on one slot queue up at some point",
  );
  const last = samples.at(-1);
  assert.deepEqual(last, { running: 0, waiting: 0 });
  assert.ok(ep.load !== undefined && ep.load.kvUsage !== undefined);
});
