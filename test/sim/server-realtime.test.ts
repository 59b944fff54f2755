// The real-time driver under the server: virtual clock × speed, and its cost at 1,000 streams.
import assert from "node:assert/strict";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { describe, it } from "node:test";
import { engineConfig } from "../../src/sim/model/config.js";
import { EngineCore, RequestRejected } from "../../src/sim/model/engine.js";
import { RealtimeEngine, type RequestListener } from "../../src/sim/realtime.js";

function collector() {
  const times: number[] = [];
  let done: (t: number) => void = () => {};
  const finished = new Promise<number>((r) => {
    done = r;
  });
  const listener: RequestListener = {
    onScheduled: () => {},
    onToken: (_i, t) => times.push(t),
    onFinished: (t) => done(t),
  };
  return { times, finished, listener };
}

describe("sim realtime driver", () => {
  it("runs the virtual clock at `speed` × real time and delivers tokens when they happen", async () => {
    const cfg = engineConfig({ model: "llama-3.1-8b", gpu: "H100-80GB" });
    for (const speed of [1, 10]) {
      const rt = new RealtimeEngine(new EngineCore(cfg), { speed });
      const c = collector();
      const wall0 = performance.now();
      const v0 = rt.now();
      rt.submit({ id: "a", promptTokens: 500, maxTokens: 40 }, c.listener);
      const end = await c.finished;
      const wall = performance.now() - wall0;
      rt.close();
      const virtualMs = (end - v0) * 1000;
      assert.equal(c.times.length, 40);
      assert.ok(
        c.times.every((t, i) => i === 0 || t > (c.times[i - 1] ?? 0)),
        "token times increase",
      );
      // ~40 decode steps of ~8 ms: 330 ms virtual; wall = virtual / speed, give or take timer slack.
      assert.ok(virtualMs > 200, `virtual e2e ${virtualMs.toFixed(1)} ms`);
      const expected = virtualMs / speed;
      assert.ok(
        wall >= expected * 0.9 - 2 && wall <= expected * 1.3 + 15,
        `speed ${speed}: wall ${wall.toFixed(1)} ms vs virtual/speed ${expected.toFixed(1)} ms`,
      );
    }
  });

  it("rejects what the engine rejects, before queueing, and forgets aborted requests", async () => {
    const rt = new RealtimeEngine(
      new EngineCore(engineConfig({ model: "llama-3.1-8b", gpu: "H100-80GB", maxModelLen: 100 })),
      {
        speed: 50,
      },
    );
    const c = collector();
    assert.throws(
      () => rt.submit({ id: "long", promptTokens: 100, maxTokens: 1 }, c.listener),
      RequestRejected,
    );
    assert.equal(rt.inFlight, 0);
    let tokens = 0;
    rt.submit(
      { id: "b", promptTokens: 10, maxTokens: 50 },
      {
        onScheduled: () => {},
        onToken: () => {
          tokens++;
          if (tokens === 3) rt.abort("b");
        },
        onFinished: () => assert.fail("an aborted request hears nothing more"),
      },
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(tokens, 3);
    assert.equal(rt.inFlight, 0);
    assert.equal(rt.engine.numRunning, 0);
    rt.close();
  });

  // Timing targets (lag p99 ≤ 5 ms, ~12 ms between tokens) are measured in bench/sim-concurrency.ts,
  // not asserted here: this test checks that 1,000 concurrent streams all complete, in order.
  it("1,000 concurrent streams at a 12 ms step all complete with every token", async (t) => {
    const cfg = engineConfig({ model: "llama-3.1-8b", gpu: "H100-80GB", maxNumSeqs: 1024 });
    // A decode step of 1,000 sequences takes ~84 ms virtual: run the clock so that it is 12 ms of wall time.
    const probe = new EngineCore(cfg);
    for (let i = 0; i < 1000; i++) probe.add({ id: `p${i}`, promptTokens: 16, maxTokens: 100 });
    let v = 0;
    let step = 0;
    for (let k = 0; k < 3; k++) {
      const r = probe.step(v);
      assert.ok(r);
      v = r.end;
      step = r.duration;
    }
    const speed = (step * 1000) / 12;
    const rt = new RealtimeEngine(new EngineCore(cfg), { speed });
    let tokens = 0;
    let finished = 0;
    const gaps: number[] = [];
    const lastWall = new Float64Array(1000);
    const all = new Promise<void>((resolve) => {
      for (let i = 0; i < 1000; i++) {
        rt.submit(
          { id: `s${i}`, promptTokens: 16, maxTokens: 120 },
          {
            onScheduled: () => {},
            onToken: (index) => {
              tokens++;
              const now = performance.now();
              if (index > 0 && i % 50 === 0) gaps.push(now - (lastWall[i] ?? now));
              lastWall[i] = now;
            },
            onFinished: () => {
              finished++;
              if (finished === 1000) resolve();
            },
          },
        );
      }
    });
    // Measure once every stream is decoding.
    await new Promise((r) => setTimeout(r, 150));
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    await all;
    h.disable();
    rt.close();
    const p99 = h.percentile(99) / 1e6;
    gaps.sort((a, b) => a - b);
    const itl = gaps[Math.floor(gaps.length / 2)] ?? 0;
    t.diagnostic(
      `speed ${speed.toFixed(2)}: lag p99 ${p99.toFixed(2)} ms, wall ITL p50 ${itl.toFixed(2)} ms, steps ${rt.steps}, late skips ${rt.lateSkips}`,
    );
    assert.equal(tokens, 1000 * 120);
    assert.equal(finished, 1000);
  });
});
