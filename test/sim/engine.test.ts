import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getGpu, getModel } from "../../src/catalog/index.js";
import { engineConfig, memoryBreakdown } from "../../src/sim/model/config.js";
import { EngineCore, type EngineEvent, RequestRejected } from "../../src/sim/model/engine.js";
import { simulateFleet, type WorkloadRequest } from "../../src/sim/model/fleet.js";

const base = { model: "llama-3.1-8b", gpu: "H100-80GB" } as const;

/** Runs an engine until idle; returns every event. */
function drain(engine: EngineCore, start = 0): { events: EngineEvent[]; end: number; batches: number[] } {
  const events: EngineEvent[] = [];
  const batches: number[] = [];
  let t = start;
  for (let guard = 0; guard < 1e6; guard++) {
    const r = engine.step(t);
    if (!r) break;
    events.push(...r.events);
    batches.push(r.batch.prefillTokens + r.batch.decodeTokens);
    t = r.end;
  }
  return { events, end: t, batches };
}

describe("KV capacity from the catalog", () => {
  it("Llama-3.1-8B BF16 on one H100-80GB at 0.9 holds about 450k tokens", () => {
    const cfg = engineConfig(base);
    const tokens = cfg.numGpuBlocks * cfg.blockSize;
    // 0.9 × 79.6 GiB − 16.06 GB weights − ~1.9 GB activations/non-torch ≈ 59 GB at 128 KiB/token
    assert.ok(tokens > 420_000 && tokens < 480_000, `${tokens}`);
  });

  it("uses KV heads, quantized weights and tensor parallelism", () => {
    const m = getModel("llama-3.1-70b");
    const gpu = getGpu("H100-80GB");
    const o = {
      kvDtypeBytes: 2,
      gpuMemoryUtilization: 0.9,
      maxNumBatchedTokens: 8192,
      maxNumSeqs: 256,
      blockSize: 16,
    };
    const tp2 = memoryBreakdown(m, gpu, { ...o, tp: 2, weightFormat: "none" });
    const tp4 = memoryBreakdown(m, gpu, { ...o, tp: 4, weightFormat: "none" });
    assert.equal(tp2.bytesPerBlock, 327_680 * 16);
    assert.ok(tp4.numGpuBlocks > 2 * tp2.numGpuBlocks, "TP4 has more than twice TP2's KV room");
    assert.throws(() => engineConfig({ model: "llama-3.1-70b", gpu: "H100-80GB", tp: 1 }), /does not fit/);
    const awq = engineConfig({ model: "llama-3.1-70b", gpu: "H100-80GB", tp: 1, weightFormat: "awq" });
    assert.ok(awq.numGpuBlocks > 0);
  });
});

describe("scheduler", () => {
  it("generates exactly maxTokens tokens per request, first token after the whole prompt", () => {
    const e = new EngineCore(engineConfig(base));
    e.add({ id: "a", promptTokens: 100, maxTokens: 5 });
    const { events } = drain(e);
    const tokens = events.filter((x) => x.type === "token" && x.id === "a");
    assert.equal(tokens.length, 5);
    assert.deepEqual(
      tokens.map((t) => (t.type === "token" ? t.index : -1)),
      [0, 1, 2, 3, 4],
    );
    assert.equal(e.counters.promptTokens, 100);
    assert.equal(e.counters.generationTokens, 5);
    assert.equal(e.counters.requestSuccess, 1);
    assert.equal(e.kvUsage, 0);
  });

  it("chunks long prefills under max_num_batched_tokens and mixes decodes into the same steps", () => {
    const e = new EngineCore(engineConfig({ ...base, maxNumBatchedTokens: 512 }));
    e.add({ id: "short", promptTokens: 10, maxTokens: 50 });
    e.step(0); // prefill of "short"
    e.add({ id: "long", promptTokens: 2000, maxTokens: 2 });
    const r = e.step(1);
    assert.ok(r);
    assert.equal(r.batch.decodeTokens, 1, "the running decode goes first");
    assert.equal(r.batch.prefillTokens, 511, "the long prompt fills the rest of the budget");
    const { batches } = drain(e, r.end);
    assert.ok(batches.every((b) => b <= 512));
  });

  it("caps the batch at max_num_seqs and serves FCFS", () => {
    const e = new EngineCore(engineConfig({ ...base, maxNumSeqs: 4 }));
    for (let i = 0; i < 10; i++) e.add({ id: `r${i}`, promptTokens: 20, maxTokens: 3 });
    const r = e.step(0);
    assert.equal(r?.batch.seqs, 4);
    assert.equal(e.numRunning, 4);
    assert.equal(e.numWaiting, 6);
    const order = drain(e, r?.end)
      .events.filter((x) => x.type === "scheduled")
      .map((x) => x.id);
    assert.deepEqual(order, ["r4", "r5", "r6", "r7", "r8", "r9"]);
  });

  it("preempts the newest running request by recompute when blocks run out, and still finishes all", () => {
    // 40 blocks × 16 = 640 tokens of KV; 4 requests of 150-token prompts growing by 100 tokens each
    const e = new EngineCore(engineConfig({ ...base, numGpuBlocks: 40, enablePrefixCaching: false }));
    for (let i = 0; i < 4; i++) e.add({ id: `r${i}`, promptTokens: 150, maxTokens: 100 });
    const { events } = drain(e);
    const preempted = events.filter((x) => x.type === "preempted").map((x) => x.id);
    assert.ok(e.counters.preemptions > 0);
    assert.ok(!preempted.includes("r0"), "the oldest request is never the victim while others run");
    assert.equal(e.counters.requestSuccess, 4);
    for (let i = 0; i < 4; i++) {
      assert.equal(events.filter((x) => x.type === "token" && x.id === `r${i}`).length, 100);
    }
    assert.equal(e.kv.freeBlocks, 40);
  });

  it("rejects prompts longer than the context and aborts cleanly", () => {
    const e = new EngineCore(engineConfig({ ...base, maxModelLen: 1000 }));
    assert.throws(() => e.add({ id: "x", promptTokens: 1000, maxTokens: 1 }), RequestRejected);
    e.add({ id: "y", promptTokens: 500, maxTokens: 100 });
    e.step(0);
    assert.ok(e.kvUsage > 0);
    assert.equal(e.abort("y", 1), true);
    assert.equal(e.kvUsage, 0);
    const r = e.step(1);
    assert.deepEqual(r?.events, [{ type: "finished", id: "y", time: 1, reason: "abort" }]);
    assert.equal(e.hasWork(), false);
  });
});

describe("prefix caching", () => {
  const shared = (i: number, arrival: number): WorkloadRequest => ({
    id: `s${i}`,
    arrival,
    promptTokens: 1_000 + 24,
    maxTokens: 4,
    prefix: { id: "system", tokens: 1_000 },
  });

  it("later requests sharing a 1,000-token prefix skip its prefill: TTFT drops by about its prefill time", () => {
    const cfg = engineConfig({ ...base, gpu: "A100-80GB" });
    const res = simulateFleet(
      [0, 1, 2, 3].map((i) => shared(i, i)),
      { engine: cfg },
    );
    const [first, ...rest] = res.requests;
    assert.ok(first);
    assert.equal(first.cachedTokens, 0);
    for (const r of rest) assert.equal(r.cachedTokens, 992, "62 full blocks of 16 tokens hit");
    const alone = simulateFleet([{ id: "p", arrival: 0, promptTokens: 1_000, maxTokens: 1 }], {
      engine: cfg,
    });
    const prefixPrefill = alone.requests[0]?.ttft ?? 0;
    const saved = first.ttft - (rest[0]?.ttft ?? 0);
    assert.ok(
      saved > 0.7 * prefixPrefill && saved < 1.1 * prefixPrefill,
      `saved ${saved} vs prefill ${prefixPrefill}`,
    );
    assert.equal(res.counters[0]?.prefixHits, 3 * 992);
    assert.equal(res.counters[0]?.prefixQueries, 4 * 1024);
  });

  it("real token ids hash to the same blocks only when the tokens agree", () => {
    const e = new EngineCore(engineConfig(base));
    const ids = Array.from({ length: 64 }, (_, i) => i + 1);
    e.add({ id: "a", promptTokens: 64, maxTokens: 1, tokenIds: ids });
    drain(e);
    const other = [...ids];
    other[20] = 999; // differs inside block 1
    e.add({ id: "b", promptTokens: 64, maxTokens: 1, tokenIds: other });
    const r = e.step(100);
    const sched = r?.events.find((x) => x.type === "scheduled");
    assert.equal(
      sched?.type === "scheduled" ? sched.cachedTokens : -1,
      16,
      "block 0 hits, block 1 differs, the chain stops",
    );
  });

  it("is off when disabled", () => {
    const cfg = engineConfig({ ...base, enablePrefixCaching: false });
    const res = simulateFleet(
      [0, 1].map((i) => shared(i, i)),
      { engine: cfg },
    );
    assert.deepEqual(
      res.requests.map((r) => r.cachedTokens),
      [0, 0],
    );
  });
});

describe("step time", () => {
  it("grows with batch size: decode is memory-bound when small, compute-bound when large", () => {
    const cfg = engineConfig(base);
    const e = new EngineCore(cfg);
    const timeFor = (n: number) => {
      const eng = new EngineCore(cfg);
      for (let i = 0; i < n; i++) eng.add({ id: `r${i}`, promptTokens: 16, maxTokens: 3 });
      eng.step(0);
      return eng.step(1)?.duration ?? 0;
    };
    assert.ok(e);
    const t1 = timeFor(1);
    const t8 = timeFor(8);
    const t256 = timeFor(256);
    assert.ok(t8 < 1.2 * t1, `small batches cost about the same: ${t1} vs ${t8}`);
    assert.ok(t256 > 2 * t1, `large batches cost more: ${t1} vs ${t256}`);
  });
});
