// The same client code against our simulator and llm-d-inference-sim (a Go vLLM simulator):
// what a gateway relies on must hold for both.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import OpenAI from "openai";
import { startSimServer } from "../../src/sim/server.js";
import { requireService } from "../services/harness.js";
import { startLlmdSim } from "../services/llmd-sim.js";
import { parseMetrics, scrape } from "./server-helpers.js";

interface Observed {
  reply: string;
  replyUsage: OpenAI.CompletionUsage | undefined;
  streamed: string;
  streamedChunks: number;
  streamUsage: OpenAI.CompletionUsage | undefined;
  finish: string | null;
  running: { value: number; model: string | undefined }[];
  success: number;
}

/** One chat (plain), one chat (streamed, with usage), then the running-requests gauge from /metrics. */
async function chatAndLoad(baseUrl: string, model: string): Promise<Observed> {
  const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: "sim", maxRetries: 0, timeout: 10_000 });
  const messages = [{ role: "user" as const, content: "the quick brown fox jumps over the lazy dog" }];
  const plain = await client.chat.completions.create({ model, messages, max_tokens: 12 });
  const stream = await client.chat.completions.create({
    model,
    messages,
    max_tokens: 12,
    stream: true,
    stream_options: { include_usage: true },
  });
  let streamed = "";
  let streamedChunks = 0;
  let streamUsage: OpenAI.CompletionUsage | undefined;
  let finish: string | null = null;
  for await (const chunk of stream) {
    streamUsage = chunk.usage ?? streamUsage;
    const c = chunk.choices[0];
    if (!c) continue;
    if (c.delta.content) {
      streamed += c.delta.content;
      streamedChunks++;
    }
    finish = c.finish_reason ?? finish;
  }
  const samples = parseMetrics(await scrape(baseUrl));
  return {
    reply: plain.choices[0]?.message.content ?? "",
    replyUsage: plain.usage,
    streamed,
    streamedChunks,
    streamUsage,
    finish,
    running: samples
      .filter((s) => s.name === "vllm:num_requests_running")
      .map((s) => ({ value: s.value, model: s.labels.model_name })),
    success: samples.filter((s) => s.name === "vllm:request_success_total").reduce((a, s) => a + s.value, 0),
  };
}

function check(o: Observed, model: string): void {
  assert.ok(o.reply.length > 0, "plain reply has content");
  assert.ok((o.replyUsage?.completion_tokens ?? 0) >= 1);
  assert.equal(
    o.replyUsage?.total_tokens,
    (o.replyUsage?.prompt_tokens ?? 0) + (o.replyUsage?.completion_tokens ?? 0),
  );
  assert.ok(o.streamed.length > 0 && o.streamedChunks >= 1, "streamed reply has content");
  assert.ok(o.finish === "stop" || o.finish === "length", `finish reason ${o.finish}`);
  assert.ok((o.streamUsage?.completion_tokens ?? 0) >= 1, "include_usage gives a usage chunk");
  assert.ok(o.running.length >= 1, "vllm:num_requests_running is exposed");
  assert.ok(
    o.running.some((r) => r.model === model),
    "labelled with model_name",
  );
  assert.equal(
    o.running.reduce((a, r) => a + r.value, 0),
    0,
    "nothing running after both requests",
  );
  assert.ok(o.success >= 2, `vllm:request_success_total counts both requests (${o.success})`);
}

describe("sim server: same client code as against llm-d-inference-sim", () => {
  it("our simulator", async (t) => {
    const sim = await startSimServer({ model: "llama-3.1-8b", speed: 20, outputLenMean: 8 });
    t.after(() => sim.stop());
    const o = await chatAndLoad(sim.url, sim.servedModelName);
    check(o, sim.servedModelName);
    // Ours also counts streamed chunks exactly.
    assert.equal(o.streamUsage?.completion_tokens, o.streamedChunks);
  });

  it("llm-d-inference-sim", async (t) => {
    const llmd = await requireService(t, "llm-d-inference-sim", () =>
      startLlmdSim({ mode: "echo", timeToFirstToken: "5ms", interTokenLatency: "2ms" }),
    );
    if (!llmd) return;
    check(await chatAndLoad(llmd.url, llmd.model), llmd.model);
  });
});
