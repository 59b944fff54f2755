/**
 * The client measures what the server does: against servers whose latencies are fixed by
 * construction (TTFT 100 ms, ITL 10 ms), in their own processes, the measured p50s land within
 * 2 ms (TTFT) and 1 ms (ITL) of the truth. Our simulator in constant-latency mode, and
 * llm-d-inference-sim with --time-to-first-token / --inter-token-latency. Each check gets up to
 * three measurements (see withinBounds): other jobs on a shared machine stall every client alike.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { TargetReport } from "../../src/bench/report.js";
import { type BenchOptions, runBench } from "../../src/bench/run.js";
import { startSimChild, type ZeroLatencySim } from "../../src/bench/self-test.js";
import { requireService } from "../services/harness.js";
import { startLlmdSim } from "../services/llmd-sim.js";

const OUTPUT = 20;

function options(url: string, model: string, over: Partial<BenchOptions> = {}): BenchOptions {
  return {
    urls: [url],
    model,
    api: "completions",
    stream: true,
    ignoreEos: true,
    headers: {},
    extraBody: {},
    timeoutMs: 30_000,
    load: { concurrency: 2 },
    requests: 40,
    warmup: { sessions: 4 },
    workload: {
      kind: "random",
      input: { kind: "fixed", value: 64 },
      output: { kind: "fixed", value: OUTPUT },
    },
    seed: 1,
    records: true,
    ...over,
  };
}

/**
 * JIT warm-up of both processes (client and server code paths), at a concurrency that makes it
 * quick: fresh processes answer their first hundred requests measurably slower.
 */
async function warmUp(url: string, model: string): Promise<void> {
  for (const api of ["completions", "chat"] as const) {
    await runBench(
      options(url, model, {
        api,
        load: { concurrency: 32 },
        requests: 128,
        warmup: { sessions: 0 },
        records: false,
        workload: {
          kind: "random",
          input: { kind: "fixed", value: 64 },
          output: { kind: "fixed", value: 3 },
        },
      }),
    );
  }
}

/**
 * A measurement with, where the server reports it, how late its own timers ran meanwhile
 * (`/sim/loop-lateness` of our simulator, p50 of the window): on a busy machine the server
 * really does answer that much late, and the client is judged against what the server did.
 */
interface Measured {
  report: TargetReport;
  serverLateMs: number;
}

async function resetLateness(url: string): Promise<number> {
  const r = await fetch(`${url}/sim/loop-lateness/reset`, { method: "POST" });
  assert.equal(r.status, 200);
  return ((await r.json()) as { window: { p50Ms: number } }).window.p50Ms;
}

/** Runs `measure` between two resets of the simulator's lateness window. */
async function withLateness(url: string, measure: () => Promise<TargetReport>): Promise<Measured> {
  await resetLateness(url);
  const report = await measure();
  return { report, serverLateMs: Math.max(0, await resetLateness(url)) };
}

function assertConstantLatency(m: Measured, what: string, ctx?: { diagnostic(m: string): void }): void {
  const t = m.report;
  const ttft = 100 + m.serverLateMs;
  ctx?.diagnostic(
    `${what}: TTFT p50 ${t.ttftMs.p50.toFixed(3)} ms, ITL p50 ${t.itlMs.p50.toFixed(3)} ms, TPOT p50 ${t.tpotMs.p50.toFixed(3)} ms (${t.requests.ok} requests); server timers late p50 ${m.serverLateMs.toFixed(3)} ms`,
  );
  assert.equal(t.requests.failed, 0, `${what}: ${t.requests.firstError}`);
  assert.ok(
    Math.abs(t.ttftMs.p50 - ttft) <= 2,
    `${what}: TTFT p50 ${t.ttftMs.p50.toFixed(3)} ms is not within 2 ms of ${ttft.toFixed(3)} (100 + the server's own lateness)`,
  );
  assert.ok(
    Math.abs(t.itlMs.p50 - 10) <= 1,
    `${what}: ITL p50 ${t.itlMs.p50.toFixed(3)} ms is not within 1 ms of 10`,
  );
  assert.equal(t.itlMs.count, t.requests.ok * (OUTPUT - 1), `${what}: one gap per token after the first`);
  assert.equal(t.totalOutputTokens, t.requests.ok * OUTPUT);
}

/**
 * Up to three measurements, each of fresh requests: the bounds must hold in one of them. On a
 * shared 2-core machine another job can hold both cores for seconds, and every latency measured
 * then (by any client) carries the wait; a client that is off by more than the bounds fails all
 * three. Every attempt's figures are printed.
 */
async function withinBounds(
  what: string,
  ctx: { diagnostic(m: string): void },
  measure: () => Promise<Measured>,
): Promise<TargetReport> {
  const misses: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const m = await measure();
    const t = m.report;
    try {
      assertConstantLatency(m, `${what} (attempt ${attempt})`, ctx);
      return t;
    } catch (err) {
      if (t.requests.failed > 0) throw err;
      misses.push((err as Error).message);
    }
  }
  throw new assert.AssertionError({ message: misses.join("; ") });
}

describe("accuracy against inferplane sim in constant-latency mode (TTFT 100 ms, ITL 10 ms)", () => {
  let sim: ZeroLatencySim;
  before(async () => {
    sim = await startSimChild(["--time-to-first-token", "100ms", "--inter-token-latency", "10ms"]);
    await warmUp(sim.url, sim.model);
  });
  after(() => sim?.stop());

  it("streamed completions: TTFT p50 within 2 ms of 100, ITL p50 within 1 ms of 10", async (ctx) => {
    let records = 0;
    const t = await withinBounds("sim completions", ctx, () =>
      withLateness(sim.url, async () => {
        const { report } = await runBench(options(sim.url, sim.model));
        records = report.records?.length ?? 0;
        return report.targets[0] as TargetReport;
      }),
    );
    assert.equal(t.requests.sent, 40);
    // TPOT = (E2E - TTFT) / 19 per request.
    assert.ok(Math.abs(t.tpotMs.p50 - 10) <= 1, `TPOT p50 ${t.tpotMs.p50}`);
    assert.equal(records, 44, "warm-up requests are recorded but not measured");
  });

  it("streamed chat, open loop at 8 req/s: the same figures", async (ctx) => {
    const t = await withinBounds("sim chat", ctx, () =>
      withLateness(sim.url, async () => {
        const { report } = await runBench(
          options(sim.url, sim.model, { api: "chat", load: { rate: 8, arrivals: "poisson" }, requests: 40 }),
        );
        return report.targets[0] as TargetReport;
      }),
    );
    assert.ok(t.sendLagMs && t.sendLagMs.p50 < 5, `send lag p50 ${t.sendLagMs?.p50}`);
  });

  it("non-streaming: E2E p50 within 3 ms of 100 + 19 × 10", async (ctx) => {
    let t: TargetReport | undefined;
    const seen: number[] = [];
    let want = 290;
    for (let attempt = 0; attempt < 3; attempt++) {
      // The whole answer is written when its last token is due: late by the server's own lateness.
      const m = await withLateness(sim.url, async () => {
        const { report } = await runBench(options(sim.url, sim.model, { stream: false, requests: 30 }));
        return report.targets[0] as TargetReport;
      });
      t = m.report;
      want = 290 + m.serverLateMs;
      assert.equal(t.requests.failed, 0);
      seen.push(t.e2eMs.p50);
      if (Math.abs(t.e2eMs.p50 - want) <= 3) break;
    }
    ctx.diagnostic(`E2E p50 per attempt: ${seen.map((x) => x.toFixed(3)).join(", ")} ms`);
    t = t as TargetReport;
    assert.ok(Math.abs(t.e2eMs.p50 - want) <= 3, `E2E p50 ${seen.join(", ")} against ${want.toFixed(3)}`);
    assert.equal(t.itlMs.count, 0);
    assert.equal(t.totalOutputTokens, 30 * OUTPUT);
  });
});

describe("accuracy against llm-d-inference-sim (TTFT 100 ms, ITL 10 ms)", () => {
  it("streamed completions and chat: TTFT p50 within 2 ms of 100, ITL p50 within 1 ms of 10", async (t) => {
    const llmd = await requireService(t, "llm-d-inference-sim", () =>
      startLlmdSim({ mode: "random", timeToFirstToken: "100ms", interTokenLatency: "10ms", maxNumSeqs: 64 }),
    );
    if (!llmd) return;
    await warmUp(llmd.url, llmd.model);
    for (const api of ["completions", "chat"] as const) {
      // One at a time: llm-d's own first byte already comes ~1 ms late (curl sees p50 101.0–101.5 ms
      // here), and on this 2-core machine concurrent requests add scheduling delay to that.
      // llm-d reports no lateness of its own: judged against the nominal figures.
      await withinBounds(`llm-d ${api}`, t, async () => {
        const { report } = await runBench(
          options(llmd.url, llmd.model, { api, load: { concurrency: 1 }, requests: 30 }),
        );
        return { report: report.targets[0] as TargetReport, serverLateMs: 0 };
      });
    }
  });
});
