// The official openai SDK against the simulator: chat, completions, embeddings, models, bad input.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI, { APIError } from "openai";
import type { ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import { type SimServerHandle, startSimServer } from "../../src/sim/server.js";
import { countTokens } from "../../src/sim/text.js";
import { post } from "./server-helpers.js";

// vLLM extension, sent through the SDK as an undocumented body parameter.
type WithIgnoreEos = ChatCompletionCreateParamsNonStreaming & { ignore_eos: boolean };

describe("sim server: OpenAI API through the official SDK", () => {
  let sim: SimServerHandle;
  let client: OpenAI;
  let model: string;

  before(async () => {
    // speed 20: an 8B model on an H100 decodes a token in ~8 ms virtual, 0.4 ms here.
    sim = await startSimServer({ model: "llama-3.1-8b", gpu: "H100-80GB", speed: 20, outputLenMean: 24 });
    model = sim.servedModelName;
    client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: "sim", maxRetries: 0, timeout: 10_000 });
  });
  after(() => sim.stop());

  it("lists the served model (the catalog model's HF repo) under /v1/models", async () => {
    assert.equal(model, "meta-llama/Llama-3.1-8B-Instruct");
    const page = await client.models.list();
    assert.deepEqual(
      page.data.map((m) => m.id),
      [model],
    );
  });

  it("answers a chat with usage that counts the chat template and the reply", async () => {
    const messages = [
      { role: "system" as const, content: "You are terse." },
      { role: "user" as const, content: "Name three colours." },
    ];
    const r = await client.chat.completions.create({ model, messages, max_tokens: 16 });
    assert.equal(r.object, "chat.completion");
    assert.equal(r.model, model);
    const choice = r.choices[0];
    assert.ok(choice);
    assert.equal(choice.message.role, "assistant");
    assert.ok((choice.message.content ?? "").length > 0);
    assert.ok(["stop", "length"].includes(choice.finish_reason));
    // 5 template tokens per message + 5 per prompt (begin-of-text, assistant header).
    const expected = countTokens("You are terse.") + countTokens("Name three colours.") + 2 * 5 + 5;
    assert.equal(r.usage?.prompt_tokens, expected);
    assert.ok((r.usage?.completion_tokens ?? 0) >= 1 && (r.usage?.completion_tokens ?? 0) <= 16);
    assert.equal(r.usage?.total_tokens, (r.usage?.prompt_tokens ?? 0) + (r.usage?.completion_tokens ?? 0));
    // The pseudo-text is exactly as many (cl100k) tokens as the usage says.
    assert.equal(countTokens(choice.message.content ?? ""), r.usage?.completion_tokens);
  });

  it("streams a chat: role chunk, one chunk per token, finish reason, usage chunk matching the stream", async () => {
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Tell me a story." }],
      max_tokens: 40,
      stream: true,
      stream_options: { include_usage: true },
    });
    let role = "";
    let tokens = 0;
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      assert.equal(chunk.object, "chat.completion.chunk");
      if (chunk.usage) usage = chunk.usage;
      const c = chunk.choices[0];
      if (!c) continue;
      if (c.delta.role) role = c.delta.role;
      else if (c.delta.content !== undefined && c.delta.content !== null) {
        tokens++;
        text += c.delta.content;
      }
      if (c.finish_reason) finish = c.finish_reason;
    }
    assert.equal(role, "assistant");
    assert.ok(finish === "stop" || finish === "length");
    assert.ok(usage, "include_usage adds a final usage chunk");
    assert.equal(usage.completion_tokens, tokens);
    assert.equal(countTokens(text), tokens);
    assert.equal(usage.total_tokens, usage.prompt_tokens + tokens);
  });

  it("ignore_eos (vLLM extension, via the SDK's extra body) generates exactly max_tokens", async () => {
    const params: WithIgnoreEos = {
      model,
      messages: [{ role: "user", content: "Count." }],
      max_tokens: 77,
      ignore_eos: true,
    };
    const r = await client.chat.completions.create(params);
    assert.equal(r.usage?.completion_tokens, 77);
    assert.equal(r.choices[0]?.finish_reason, "length");

    // max_completion_tokens is honoured too, streamed.
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Count." }],
      max_completion_tokens: 9,
      stream: true,
      stream_options: { include_usage: true },
      ...({ ignore_eos: true } as object),
    });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) usage = chunk.usage ?? usage;
    assert.equal(usage?.completion_tokens, 9);
  });

  it("without ignore_eos reply lengths vary and stop early with finish_reason stop", async () => {
    const lengths: number[] = [];
    const reasons = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const r = await client.chat.completions.create({
        model,
        messages: [{ role: "user", content: `q${i}` }],
      });
      lengths.push(r.usage?.completion_tokens ?? 0);
      reasons.add(r.choices[0]?.finish_reason ?? "");
    }
    assert.ok(new Set(lengths).size > 1, `lengths should vary: ${lengths.join(",")}`);
    assert.deepEqual([...reasons], ["stop"]);
    const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
    assert.ok(mean > 5 && mean < 80, `mean ${mean} should be near --output-len-mean 24`);
  });

  it("the same seed gives the same reply; a stop string cuts it with finish_reason stop", async () => {
    const ask = (extra: object) =>
      client.completions.create({ model, prompt: "Once upon a time", max_tokens: 60, seed: 42, ...extra });
    const a = await ask({});
    const b = await ask({});
    assert.equal(a.choices[0]?.text, b.choices[0]?.text);
    const words = (a.choices[0]?.text ?? "").split(" ");
    assert.ok(words.length > 4, "the seeded reply is long enough to cut");
    const stop = ` ${words[3]}`;
    const cut = await ask({ stop: [stop] });
    const full = a.choices[0]?.text ?? "";
    assert.equal(cut.choices[0]?.text, full.slice(0, full.indexOf(stop)));
    assert.equal(cut.choices[0]?.finish_reason, "stop");
    assert.ok((cut.usage?.completion_tokens ?? 0) < (a.usage?.completion_tokens ?? 0));
  });

  it("answers text completions, plain and streamed", async () => {
    const r = await client.completions.create({ model, prompt: "The capital of France is", max_tokens: 5 });
    assert.equal(r.object, "text_completion");
    assert.equal(r.usage?.prompt_tokens, countTokens("The capital of France is") + 1); // + begin-of-text
    const stream = await client.completions.create({
      model,
      prompt: "Hello",
      max_tokens: 6,
      stream: true,
      stream_options: { include_usage: true },
      ...({ ignore_eos: true } as object),
    });
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) {
      if (c.choices[0]) chunks++;
      usage = c.usage ?? usage;
    }
    assert.equal(chunks, 6);
    assert.equal(usage?.completion_tokens, 6);
  });

  it("serves deterministic unit-norm embeddings, float and base64, marked simulated", async () => {
    const r = await client.embeddings.create({ model, input: ["red apples", "red apples", "blue sky"] });
    assert.equal(r.data.length, 3);
    const [a, b, c] = r.data.map((d) => d.embedding);
    assert.ok(a && b && c);
    assert.equal(a.length, 1024);
    assert.deepEqual(a, b);
    const norm = Math.sqrt(a.reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(norm - 1) < 1e-5);
    assert.notDeepEqual(a, c);
    assert.ok((r.usage?.prompt_tokens ?? 0) > 0);
    // base64 carries the same float32 values, little-endian.
    const b64 = await client.embeddings.create({ model, input: "red apples", encoding_format: "base64" });
    const encoded = b64.data[0]?.embedding as unknown;
    assert.equal(typeof encoded, "string");
    const buf = Buffer.from(encoded as string, "base64");
    const floats = Array.from({ length: buf.length / 4 }, (_, i) => buf.readFloatLE(i * 4));
    assert.deepEqual(floats, a);
    const raw = await post(`${sim.url}/v1/embeddings`, { model, input: "red apples" });
    assert.equal(raw.headers.get("x-sim-simulated"), "true");
    assert.equal(((await raw.json()) as { simulated: boolean }).simulated, true);
  });

  it("reranks by lexical overlap at /v1/rerank and /rerank (Cohere/Jina shape), marked simulated", async () => {
    const body = {
      model,
      query: "red apple pie",
      documents: ["a blue sky", "red apple pie recipe", "an apple"],
      top_n: 2,
    };
    for (const path of ["/v1/rerank", "/rerank"]) {
      const res = await post(`${sim.url}${path}`, body);
      assert.equal(res.status, 200);
      const r = (await res.json()) as {
        simulated: boolean;
        results: { index: number; relevance_score: number; document?: { text: string } }[];
      };
      assert.equal(r.simulated, true);
      assert.deepEqual(
        r.results.map((x) => x.index),
        [1, 2],
      );
      assert.ok((r.results[0]?.relevance_score ?? 0) > (r.results[1]?.relevance_score ?? 1));
      assert.equal(r.results[0]?.document?.text, "red apple pie recipe");
    }
  });

  it("rejects bad input in the OpenAI error shape and keeps serving", async () => {
    // Malformed JSON → 400 with a JSON body.
    const bad = await post(`${sim.url}/v1/chat/completions`, '{"model": "x", "messages": [');
    assert.equal(bad.status, 400);
    assert.match(bad.headers.get("content-type") ?? "", /application\/json/);
    const badBody = (await bad.json()) as { error: { type: string; message: string } };
    assert.equal(badBody.error.type, "invalid_request_error");
    assert.match(badBody.error.message, /JSON/);

    // Unknown model → 404 model_not_found.
    await assert.rejects(
      client.chat.completions.create({ model: "gpt-17", messages: [{ role: "user", content: "hi" }] }),
      (err: unknown) => err instanceof APIError && err.status === 404 && err.code === "model_not_found",
    );

    // Too long a prompt → 400 context_length_exceeded with vLLM's message.
    const maxLen = sim.config.maxModelLen;
    await assert.rejects(
      client.chat.completions.create({
        model,
        messages: [{ role: "user", content: "hi" }],
        max_tokens: maxLen,
      }),
      (err: unknown) =>
        err instanceof APIError &&
        err.status === 400 &&
        err.code === "context_length_exceeded" &&
        err.type === "invalid_request_error" &&
        /maximum context length is \d+ tokens/.test(err.message),
    );

    // Missing messages, bad max_tokens.
    const noMessages = await post(`${sim.url}/v1/chat/completions`, { model });
    assert.equal(noMessages.status, 400);
    const zero = await post(`${sim.url}/v1/chat/completions`, {
      model,
      messages: [{ role: "user", content: "x" }],
      max_tokens: 0,
    });
    assert.equal(zero.status, 400);

    // Still serving.
    const r = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 3,
    });
    assert.ok((r.usage?.completion_tokens ?? 0) >= 1);
  });

  it("rejects a prompt longer than max-model-len with 400 context_length_exceeded", async () => {
    const small = await startSimServer({ model: "llama-3.1-8b", maxModelLen: 256, speed: 20 });
    try {
      const res = await post(`${small.url}/v1/completions`, {
        model: small.servedModelName,
        prompt: "word ".repeat(400),
        max_tokens: 4,
      });
      assert.equal(res.status, 400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, "context_length_exceeded");
      assert.match(body.error.message, /maximum context length is 256 tokens/);
      const ok = await post(`${small.url}/v1/completions`, {
        model: small.servedModelName,
        prompt: "hi",
        max_tokens: 4,
      });
      assert.equal(ok.status, 200);
    } finally {
      await small.stop();
    }
  });
});
