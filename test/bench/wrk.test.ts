/**
 * Non-streaming throughput agrees with wrk's on the same endpoint: `inferplane sim` in
 * constant-latency mode (200 ms per request) in its own process, 32 connections, closed loop,
 * the same request body. The endpoint is latency-bound, so both clients should see 32 / 200 ms.
 * (Long requests keep a busy 2-core machine's scheduling delays small against them.)
 * (bench/client.ts also compares CPU-bound endpoints; there the faster client wins.)
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { TargetReport } from "../../src/bench/report.js";
import { runBench } from "../../src/bench/run.js";
import { startSimChild } from "../../src/bench/self-test.js";
import { runWrk } from "../../src/bench/wrk.js";
import { ensureBinary, makeDataDir, requireService } from "../services/harness.js";

test("non-streaming throughput agrees with wrk within 10% (latency-bound endpoint)", async (t) => {
  const ready = await requireService(t, "wrk", async () => {
    await ensureBinary("wrk", "wrk");
    return { stop: async () => {} };
  });
  if (!ready) return;
  const sim = await startSimChild(["--time-to-first-token", "200ms", "--inter-token-latency", "0ms"]);
  try {
    const prompt = "the quick brown fox jumps";
    const dir = await makeDataDir("bench-wrk");
    const dataset = join(dir, "prompt.jsonl");
    writeFileSync(dataset, `${JSON.stringify({ prompt, max_tokens: 4 })}\n`);
    const body = JSON.stringify({ model: sim.model, prompt, max_tokens: 4, ignore_eos: true });
    // Three alternating rounds, compared by their medians: on a shared 2-core machine a whole
    // burst of requests sometimes stalls together (another process holds the cores), whichever
    // client is running.
    const wrk: number[] = [];
    const ours: number[] = [];
    for (let round = 0; round < 3; round++) {
      const w = await runWrk({
        url: `${sim.url}/v1/completions`,
        headers: {},
        body,
        connections: 32,
        durationS: 3,
      });
      assert.equal(w.non2xx + w.socketErrors, 0);
      wrk.push(w.rps);
      const { report } = await runBench({
        urls: [sim.url],
        model: sim.model,
        api: "completions",
        stream: false,
        ignoreEos: true,
        headers: {},
        extraBody: {},
        timeoutMs: 10_000,
        load: { concurrency: 32 },
        durationMs: 3_000,
        warmup: { ms: 500 },
        workload: { kind: "jsonl", path: dataset, output: { kind: "fixed", value: 4 } },
        seed: 1,
        records: false,
      });
      const b = report.targets[0] as TargetReport;
      assert.equal(b.requests.failed, 0);
      ours.push(b.requestThroughput);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1] as number;
    const ratio = median(ours) / median(wrk);
    t.diagnostic(
      `wrk ${wrk.map((x) => x.toFixed(1)).join(", ")} req/s; inferplane bench ${ours.map((x) => x.toFixed(1)).join(", ")} req/s; median ratio ${ratio.toFixed(3)}`,
    );
    assert.ok(
      median(wrk) > 32 / 0.23 && median(wrk) < 32 / 0.2,
      `wrk ${median(wrk)} req/s: the endpoint is not what it should be`,
    );
    assert.ok(Math.abs(ratio - 1) <= 0.1, `bench ${median(ours)} vs wrk ${median(wrk)} req/s`);
  } finally {
    await sim.stop();
  }
});
