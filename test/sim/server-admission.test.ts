// Sliced admission (src/sim/slices.ts) and the event-loop lateness reading (/sim/loop-lateness).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LatenessReading } from "../../src/sim/loop-lateness.js";
import type { SimRequestInput } from "../../src/sim/model/engine.js";
import { startSimServer } from "../../src/sim/server.js";
import { SlicedQueue } from "../../src/sim/slices.js";
import { post, sseData } from "./server-helpers.js";

const turn = () => new Promise((r) => setImmediate(r));

async function lateness(url: string, reset?: "window" | "all"): Promise<LatenessReading> {
  const res =
    reset === undefined
      ? await fetch(`${url}/sim/loop-lateness`)
      : await fetch(`${url}/sim/loop-lateness/reset${reset === "all" ? "?scope=all" : ""}`, {
          method: "POST",
        });
  assert.equal(res.status, 200);
  return (await res.json()) as LatenessReading;
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 1));
}

describe("sim: sliced work", () => {
  it("a SlicedQueue runs every task once, first in first out, at most perTurn per turn", async () => {
    const q = new SlicedQueue(1_000, 8);
    const ran: number[] = [];
    const perTurn: number[] = [];
    let lastTurn = -1;
    for (let i = 0; i < 100; i++)
      q.push(() => {
        if (q.turns !== lastTurn) {
          perTurn.push(0);
          lastTurn = q.turns;
        }
        perTurn[perTurn.length - 1] = (perTurn.at(-1) ?? 0) + 1;
        ran.push(i);
      });
    assert.equal(ran.length, 0, "nothing runs in the turn that queued it");
    await until(() => q.pending === 0);
    assert.deepEqual(
      ran,
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.equal(perTurn.length, 13, "100 tasks at 8 per turn take 13 turns");
    assert.ok(perTurn.every((n) => n <= 8));
  });

  it("a task that throws is reported and the rest still run", async () => {
    const q = new SlicedQueue(1_000);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    const ran: string[] = [];
    q.push(() => ran.push("a"));
    q.push(() => {
      throw new Error("boom");
    });
    q.push(() => ran.push("c"));
    await until(() => q.pending === 0);
    await turn(); // warnings are emitted on the next tick
    process.off("warning", onWarning);
    assert.deepEqual(ran, ["a", "c"]);
    assert.ok(warnings.some((m) => m.includes("boom")));
  });

  it("a burst of streamed requests is admitted to the engine in arrival order, each complete", async (t) => {
    const sim = await startSimServer({ model: "llama-3.1-8b", speed: 50, maxNumSeqs: 512 });
    t.after(() => sim.stop());
    const engine = sim.engine;
    assert.ok(engine);
    const added: number[] = [];
    const add = engine.add.bind(engine);
    engine.add = (input: SimRequestInput) => {
      added.push(input.tokenIds?.[0] ?? -1);
      return add(input);
    };
    const n = 200;
    const tp = (i: number) => `00-${i.toString(16).padStart(32, "0")}-${"1".repeat(16)}-01`;
    const replies = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        post(
          `${sim.url}/v1/completions`,
          {
            model: sim.servedModelName,
            prompt: [1000 + i, 11, 12],
            max_tokens: 4,
            ignore_eos: true,
            stream: true,
          },
          { traceparent: tp(i) },
          30_000,
        ).then(async (r) => ({ status: r.status, text: await r.text() })),
      ),
    );
    for (const r of replies) {
      assert.equal(r.status, 200);
      const data = sseData(r.text);
      assert.equal(data.at(-1), "[DONE]");
      assert.equal(
        data.filter((d) => d !== "[DONE]" && (JSON.parse(d).choices?.[0]?.text ?? "") !== "").length,
        4,
      );
    }
    // The order the server read the requests in (their traceparents) is the order the engine got them.
    const arrival = sim.traceparents.map((h) => Number.parseInt(h.split("-")[1] ?? "", 16) + 1000);
    assert.equal(arrival.length, n);
    assert.deepEqual(added, arrival);
  });
});

describe("sim: /sim/loop-lateness", () => {
  it("reads how late a 1 ms timer fires, less the 1 ms, by window and in total; reset closes the window", async (t) => {
    const sim = await startSimServer({ model: "llama-3.1-8b", speed: 20 });
    t.after(() => sim.stop());
    const first = await lateness(sim.url);
    assert.equal(first.resolutionMs, 1);
    for (const scope of ["window", "total"] as const)
      for (const k of ["samples", "spanMs", "p50Ms", "p90Ms", "p99Ms", "p999Ms", "maxMs", "meanMs"]) {
        const v = (first[scope] as unknown as Record<string, unknown>)[k];
        assert.ok(typeof v === "number" && Number.isFinite(v) && v >= 0, `${scope}.${k} = ${v}`);
      }
    // A turn that blocks the loop for 30 ms shows up as a tick at least ~29 ms late.
    const end = performance.now() + 30;
    while (performance.now() < end);
    await new Promise((r) => setTimeout(r, 20));
    const closed = await lateness(sim.url, "window");
    assert.ok(closed.window.samples > 0);
    assert.ok(closed.window.maxMs >= 25, `max ${closed.window.maxMs} ms after a 30 ms block`);
    assert.ok(closed.window.p50Ms <= closed.window.p99Ms && closed.window.p99Ms <= closed.window.maxMs);
    const after = await lateness(sim.url);
    assert.ok(after.window.maxMs < closed.window.maxMs, "the reset started a new window");
    assert.ok(after.total.maxMs >= 25, "the total keeps the block");
    const all = await lateness(sim.url, "all");
    assert.ok(all.total.maxMs >= 25);
    const fresh = await lateness(sim.url);
    assert.ok(fresh.total.maxMs < 25, "scope=all reset the total too");

    const bad = await fetch(`${sim.url}/sim/loop-lateness/reset?scope=everything`, { method: "POST" });
    assert.equal(bad.status, 400);
    const body = (await bad.json()) as { error: { param: string; message: unknown } };
    assert.equal(body.error.param, "scope");
    assert.equal(typeof body.error.message, "string");
  });
});
