import assert from "node:assert/strict";
import { test } from "node:test";
import { requireService } from "./harness.js";
import { startLlmdSim } from "./llmd-sim.js";

interface ChatCompletion {
  object: string;
  model: string;
  choices: { message: { role: string; content: string }; finish_reason: string }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}
interface ChatChunk {
  object: string;
  choices: { delta: { role?: string; content?: string }; finish_reason: string | null }[];
  usage: { completion_tokens: number } | null;
}

/** Parse `name{labels} value` lines of Prometheus text into name -> summed value. */
function metricTotals(text: string): Map<string, number> {
  const totals = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m?.[1] && m[2]) totals.set(m[1], (totals.get(m[1]) ?? 0) + Number(m[2]));
  }
  return totals;
}

test("llm-d-inference-sim: OpenAI chat (plain + SSE), models and vLLM metrics", async (t) => {
  const sim = await requireService(t, "llm-d-inference-sim", () =>
    startLlmdSim({ mode: "echo", timeToFirstToken: "5ms", interTokenLatency: "2ms", maxNumSeqs: 4 }),
  );
  if (!sim) return;
  const post = (body: unknown) =>
    fetch(`${sim.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  const messages = [{ role: "user", content: "the quick brown fox" }];

  await t.test("GET /v1/models lists the served model", async () => {
    const res = await fetch(`${sim.url}/v1/models`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { data: { id: string }[] };
    assert.deepEqual(
      body.data.map((m) => m.id),
      [sim.model],
    );
  });

  await t.test("non-streaming chat completion echoes the prompt", async () => {
    const res = await post({ model: sim.model, messages, max_tokens: 32 });
    assert.equal(res.status, 200);
    const body = (await res.json()) as ChatCompletion;
    assert.equal(body.object, "chat.completion");
    assert.equal(body.model, sim.model);
    assert.equal(body.choices[0]?.message.role, "assistant");
    assert.equal(body.choices[0]?.message.content, "the quick brown fox");
    assert.equal(body.choices[0]?.finish_reason, "stop");
    assert.ok(body.usage.completion_tokens > 0);
    assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens);
  });

  await t.test("streaming chat completion arrives as SSE chunks ending in [DONE]", async () => {
    const res = await post({
      model: sim.model,
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/event-stream/);
    const events = (await res.text())
      .split("\n")
      .filter((l) => l.startsWith("data: "))
      .map((l) => l.slice("data: ".length));
    assert.equal(events.at(-1), "[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as ChatChunk);
    assert.ok(chunks.length >= 3, `expected several chunks, got ${chunks.length}`);
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk"));
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    assert.equal(text, "the quick brown fox");
    assert.ok(chunks.some((c) => c.choices[0]?.finish_reason === "stop"));
    assert.ok((chunks.at(-1)?.usage?.completion_tokens ?? 0) > 0, "include_usage should add a usage chunk");
  });

  await t.test("GET /metrics exposes vLLM metrics reflecting the two requests", async () => {
    const res = await fetch(`${sim.url}/metrics`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^# TYPE vllm:num_requests_running gauge$/m);
    const m = metricTotals(text);
    assert.equal(m.get("vllm:num_requests_running"), 0, "nothing in flight after both requests finished");
    assert.equal(m.get("vllm:num_requests_waiting"), 0);
    assert.equal(m.get("vllm:request_success_total"), 2);
    assert.equal(m.get("vllm:e2e_request_latency_seconds_count"), 2);
    assert.ok((m.get("vllm:generation_tokens_total") ?? 0) >= 2 * 4);
    assert.ok((m.get("vllm:prompt_tokens_total") ?? 0) > 0);
  });
});
