// Fault injection, start-up delay and the admin stop/restart of the simulator.
import assert from "node:assert/strict";
import { createConnection } from "node:net";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import OpenAI, { APIError } from "openai";
import { startSimFleet, startSimServer } from "../../src/sim/server.js";
import { metric, post, scrape, sseData } from "./server-helpers.js";

const chat = (model: string, extra: object = {}) => ({
  model,
  messages: [{ role: "user", content: "hello" }],
  max_tokens: 10,
  ignore_eos: true,
  ...extra,
});

/** Whether a new TCP connection to the replica is refused. */
function refused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code === "ECONNREFUSED"));
  });
}

describe("sim server: faults", () => {
  it("x-sim-fault 429 / 503 answer that status with an OpenAI error body (the SDK sees them)", async (t) => {
    const sim = await startSimServer({ model: "llama-3.1-8b", speed: 20 });
    t.after(() => sim.stop());
    for (const status of [429, 503, 500]) {
      const res = await post(`${sim.url}/v1/chat/completions`, chat(sim.servedModelName), {
        "x-sim-fault": String(status),
      });
      assert.equal(res.status, status);
      const body = (await res.json()) as { error: { message: string; type: string; code: string } };
      assert.equal(typeof body.error.message, "string");
      assert.equal(typeof body.error.type, "string");
      if (status === 429) assert.equal(body.error.code, "rate_limit_exceeded");
      if (status !== 500) assert.equal(res.headers.get("retry-after"), "1");
    }
    const client = new OpenAI({
      baseURL: `${sim.url}/v1`,
      apiKey: "sim",
      maxRetries: 0,
      defaultHeaders: { "x-sim-fault": "429" },
    });
    await assert.rejects(
      client.chat.completions.create({
        model: sim.servedModelName,
        messages: [{ role: "user", content: "x" }],
      }),
      (err: unknown) => err instanceof APIError && err.status === 429,
    );
    // An unknown fault name is a clear 400.
    const bad = await post(`${sim.url}/v1/chat/completions`, chat(sim.servedModelName), {
      "x-sim-fault": "explode",
    });
    assert.equal(bad.status, 400);
    // No request was counted as served.
    assert.equal(metric(await scrape(sim.url), "vllm:request_success_total"), 0);
  });

  it("cut drops a stream mid-reply: tokens arrive, then the connection dies without [DONE]", async (t) => {
    const sim = await startSimServer({ model: "llama-3.1-8b", speed: 20 });
    t.after(() => sim.stop());
    const res = await post(`${sim.url}/v1/chat/completions`, chat(sim.servedModelName, { stream: true }), {
      "x-sim-fault": "cut",
    });
    assert.equal(res.status, 200);
    let text = "";
    let failed = false;
    try {
      const reader = res.body?.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const r = await reader?.read();
        if (!r || r.done) break;
        text += decoder.decode(r.value, { stream: true });
      }
    } catch {
      failed = true;
    }
    const data = sseData(text);
    assert.ok(!data.includes("[DONE]"), "no [DONE] after a cut");
    assert.ok(failed, "the client sees a broken (unterminated) stream");
    const tokens = data.filter((d) => d.includes('"content":"') && !d.includes('"role"')).length;
    assert.equal(tokens, 5, "about half of the 10 tokens arrive before the cut");
    // The SDK reports it as an error too, and the server keeps serving.
    const client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: "sim", maxRetries: 0 });
    await assert.rejects(async () => {
      const stream = await client.chat.completions.create(
        {
          model: sim.servedModelName,
          messages: [{ role: "user", content: "x" }],
          max_tokens: 10,
          stream: true,
        },
        { headers: { "x-sim-fault": "cut" } },
      );
      for await (const _ of stream) {
        // drain
      }
    });
    const ok = await post(`${sim.url}/v1/chat/completions`, chat(sim.servedModelName));
    assert.equal(ok.status, 200);
    const text2 = await scrape(sim.url);
    assert.equal(metric(text2, "vllm:request_success_total", { finished_reason: "abort" }), 2);
    assert.equal(metric(text2, "vllm:num_requests_running"), 0, "cut requests leave the engine");
  });

  it("hang never answers (the client times out) and slow delays the reply", async (t) => {
    const sim = await startSimServer({ model: "llama-3.1-8b", speed: 20, faults: { slowMs: 300 } });
    t.after(() => sim.stop());
    await assert.rejects(
      post(`${sim.url}/v1/chat/completions`, chat(sim.servedModelName), { "x-sim-fault": "hang" }, 300),
      (err: unknown) => (err as Error).name === "TimeoutError",
    );
    const start = performance.now();
    const slow = await post(`${sim.url}/v1/chat/completions`, chat(sim.servedModelName), {
      "x-sim-fault": "slow",
    });
    assert.equal(slow.status, 200);
    await slow.json();
    assert.ok(performance.now() - start >= 290, "slow waits --slow-ms before the engine");
    const ok = await post(`${sim.url}/v1/chat/completions`, chat(sim.servedModelName));
    assert.equal(ok.status, 200);
  });

  it("random faults follow --fail-rate with seeded, repeatable dice", async (t) => {
    const statuses = async (seed: number) => {
      const sim = await startSimServer({
        model: "llama-3.1-8b",
        speed: 50,
        faults: { failRate: 0.5, failCodes: [429, 503], seed },
      });
      t.after(() => sim.stop());
      const out: number[] = [];
      for (let i = 0; i < 16; i++) {
        const r = await post(`${sim.url}/v1/completions`, {
          model: sim.servedModelName,
          prompt: "x",
          max_tokens: 1,
        });
        await r.arrayBuffer();
        out.push(r.status);
      }
      return out;
    };
    const a = await statuses(7);
    const b = await statuses(7);
    assert.deepEqual(a, b);
    assert.ok(a.includes(200) && (a.includes(429) || a.includes(503)), a.join(","));
    assert.ok(a.every((s) => [200, 429, 503].includes(s)));
  });

  it("--startup-delay: health and requests answer 503 until the model is 'loaded'", async (t) => {
    const sim = await startSimServer({ model: "llama-3.1-8b", speed: 20, startupDelayMs: 400 });
    t.after(() => sim.stop());
    const health = await fetch(`${sim.url}/health`);
    assert.equal(health.status, 503);
    const early = await post(`${sim.url}/v1/chat/completions`, chat(sim.servedModelName));
    assert.equal(early.status, 503);
    // The simulated endpoints check the same readiness as generation.
    const embed = { model: sim.servedModelName, input: "x" };
    const rerank = { model: sim.servedModelName, query: "q", documents: ["d"] };
    assert.equal((await post(`${sim.url}/v1/embeddings`, embed)).status, 503);
    assert.equal((await post(`${sim.url}/v1/rerank`, rerank)).status, 503);
    await sleep(450);
    assert.equal((await fetch(`${sim.url}/health`)).status, 200);
    assert.equal((await post(`${sim.url}/v1/chat/completions`, chat(sim.servedModelName))).status, 200);
    assert.equal((await post(`${sim.url}/v1/embeddings`, embed)).status, 200);
    assert.equal((await post(`${sim.url}/v1/rerank`, rerank)).status, 200);
  });

  it("admin stop refuses connections (dropping streams in flight); restart serves again with a fresh engine", async (t) => {
    const fleet = await startSimFleet({ model: "llama-3.1-8b", replicas: 2, speed: 2 });
    t.after(() => fleet.stop());
    const [a, b] = fleet.replicas;
    assert.ok(a && b);
    assert.notEqual(a.port, b.port);
    const port = a.port;
    assert.equal(
      (await post(`${a.url}/v1/completions`, { model: a.servedModelName, prompt: "x", max_tokens: 2 }))
        .status,
      200,
    );

    // A long stream is in flight when the replica is killed.
    const streaming = post(`${a.url}/v1/completions`, {
      model: a.servedModelName,
      prompt: "x",
      max_tokens: 2000,
      ignore_eos: true,
      stream: true,
    })
      .then(async (r) => {
        await r.text();
        return "completed";
      })
      .catch(() => "dropped");
    await sleep(100);
    await a.kill();
    assert.equal(a.running, false);
    assert.ok(await refused(`${a.url}/health`), "connection refused while stopped");
    const outcome = await Promise.race([streaming, sleep(2_000, "still running")]);
    assert.equal(outcome, "dropped");
    assert.equal((await fetch(`${b.url}/health`)).status, 200, "the other replica is unaffected");

    await a.restart();
    assert.equal(a.port, port, "same port after restart");
    assert.equal((await fetch(`${a.url}/health`)).status, 200);
    assert.equal(
      metric(await scrape(a.url), "vllm:request_success_total"),
      0,
      "fresh engine, fresh counters",
    );

    // Over HTTP: stop with an automatic restart, and restart.
    const stop = await post(`${a.url}/admin/stop`, { restartAfterMs: 300 });
    assert.equal(stop.status, 202);
    await sleep(50);
    assert.ok(await refused(`${a.url}/health`));
    await sleep(500);
    assert.equal((await fetch(`${a.url}/health`)).status, 200, "back after restartAfterMs");
    const restart = await post(`${a.url}/admin/restart`, {});
    assert.equal(restart.status, 202);
    await sleep(100);
    assert.equal((await fetch(`${a.url}/health`)).status, 200);
  });
});
