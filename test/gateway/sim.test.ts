// The gateway in front of Inferplane's own simulator: the official OpenAI SDK unchanged, bad
// input, weighted and fallback routing, overhead header.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { type GatewayHandle, startGateway } from "../../src/gateway/server.js";
import { type SimServerHandle, startSimServer } from "../../src/sim/server.js";
import { parseSpec } from "../../src/spec/load.js";

const quiet = () => {};

describe("gateway → inferplane sim through the openai SDK", () => {
  let chat: SimServerHandle;
  let embed: SimServerHandle;
  let gw: GatewayHandle;
  let client: OpenAI;

  before(async () => {
    chat = await startSimServer({ model: "llama-3.1-8b", gpu: "H100-80GB", speed: 20 });
    embed = await startSimServer({ model: "bge-m3", gpu: "L4", speed: 20 });
    const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - name: llama
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    servedModelName: ${chat.servedModelName}
    endpoints: ["${chat.url}"]
  - name: embedder
    source: hf://BAAI/bge-m3
    servedModelName: ${embed.servedModelName}
    endpoints: ["${embed.url}"]
routes:
  - name: chat
    aliases: [gpt-4o-mini]
    targets: [{model: llama}]
  - name: embed
    targets: [{model: embedder}]
`);
    gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: quiet });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    await gw?.close();
    await chat?.stop();
    await embed?.stop();
  });

  it("lists the public names", async () => {
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id).sort(), ["chat", "embed", "gpt-4o-mini"]);
  });

  it("retrieves one model; an unknown one is a 404 in OpenAI's shape", async () => {
    const m = await client.models.retrieve("gpt-4o-mini");
    assert.equal(m.id, "gpt-4o-mini");
    assert.equal(m.object, "model");
    await assert.rejects(client.models.retrieve("nope"), (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.equal((err.error as { code?: string }).code, "model_not_found");
      return true;
    });
  });

  it("/health answers like /healthz, with a request id", async () => {
    for (const path of ["/health", "/healthz"]) {
      const res = await fetch(`${gw.url}${path}`, { headers: { "x-request-id": "probe-1" } });
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: "ok" });
      assert.equal(res.headers.get("x-request-id"), "probe-1", "a sane incoming id is kept");
    }
  });

  it("chat, plain: rewrites the model for the upstream and passes unknown fields through", async () => {
    const { data: res, response } = await client.chat.completions
      .create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "Say something." }],
        max_tokens: 7,
        // vLLM's extension: unknown to OpenAI, must reach the engine untouched
        ignore_eos: true,
      } as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .withResponse();
    assert.equal(res.usage?.completion_tokens, 7, "ignore_eos reached the engine");
    assert.equal(res.model, "gpt-4o-mini", "the model is the name the client asked for");
    assert.equal(response.headers.get("x-inferplane-served-model"), chat.servedModelName);
    assert.match(response.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
  });

  it("chat, streaming: every token arrives, usage only when asked", async () => {
    const stream = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "Count to ten." }],
      max_tokens: 12,
      stream: true,
      ignore_eos: true,
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    let pieces = 0;
    let usage = 0;
    const models = new Set<string>();
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content) pieces++;
      if (chunk.usage) usage++;
      models.add(chunk.model);
    }
    assert.equal(pieces, 12);
    assert.deepEqual([...models], ["chat"], "every chunk names the model the client asked for");
    assert.equal(usage, 0);
    const asked = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "Count to ten." }],
      max_tokens: 5,
      stream: true,
      stream_options: { include_usage: true },
      ignore_eos: true,
    } as OpenAI.ChatCompletionCreateParamsStreaming);
    let completion = 0;
    for await (const chunk of asked) completion = chunk.usage?.completion_tokens ?? completion;
    assert.equal(completion, 5);
  });

  it("completions and embeddings", async () => {
    const c = await client.completions.create({
      model: "chat",
      prompt: "The capital of France is",
      max_tokens: 3,
    });
    assert.equal(c.object, "text_completion");
    assert.ok(c.choices[0]?.text);
    const e = await client.embeddings.create({ model: "embed", input: ["a GPU", "a cat"] });
    assert.equal(e.data.length, 2);
    assert.equal(e.data[0]?.embedding.length, 1024);
  });

  it("answers bad input with OpenAI-shaped 4xx and keeps serving", async () => {
    const post = (body: string, type = "application/json") =>
      fetch(`${gw.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": type }, body });
    const malformed = await post("{not json");
    assert.equal(malformed.status, 400);
    assert.equal(((await malformed.json()) as { error: { code: string } }).error.code, "invalid_json");
    const array = await post("[1,2]");
    assert.equal(array.status, 400);
    const unknown = await post(JSON.stringify({ model: "nope", messages: [] }));
    assert.equal(unknown.status, 404);
    assert.match(
      unknown.headers.get("x-inferplane-overhead-ms") ?? "",
      /^\d+\.\d{3}$/,
      "errors carry the overhead too",
    );
    assert.match(malformed.headers.get("x-inferplane-overhead-ms") ?? "", /^\d+\.\d{3}$/);
    assert.deepEqual(
      ((await unknown.json()) as { error: { code: string; type: string } }).error.code,
      "model_not_found",
    );
    const noModel = await post(JSON.stringify({ messages: [] }));
    assert.equal(noModel.status, 400);
    const big = await post(
      JSON.stringify({ model: "chat", messages: [{ role: "user", content: "x".repeat(9 * 2 ** 20) }] }),
    );
    assert.equal(big.status, 413);
    const tooLong = await post(
      JSON.stringify({
        model: "chat",
        messages: [{ role: "user", content: "word ".repeat(200_000) }],
        max_tokens: 1,
      }),
    );
    assert.equal(tooLong.status, 400, "the engine's context-length error is relayed");
    const path = await fetch(`${gw.url}/v1/nothing`);
    assert.equal(path.status, 404);
    // still serving
    const ok = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 2,
    });
    assert.equal(ok.choices.length, 1);
  });

  it("reports its own time in x-inferplane-overhead-ms and in /metrics", async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }),
    });
    await res.arrayBuffer();
    const overhead = Number(res.headers.get("x-inferplane-overhead-ms"));
    assert.ok(overhead >= 0 && overhead < 1000, String(overhead));
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(text, /inferplane_gateway_overhead_seconds_count \d+/);
    assert.match(text, /inferplane_gateway_requests_total\{route="chat",pool="llama",code="200"\} \d+/);
    assert.match(text, /nodejs_eventloop_lag_p99_seconds/);
  });

  it("readiness follows the required routes' endpoints", async () => {
    assert.equal((await fetch(`${gw.url}/readyz`)).status, 200);
    assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
  });
});

describe("routing between pools", () => {
  const sims: SimServerHandle[] = [];
  let gw: GatewayHandle | undefined;
  after(async () => {
    await gw?.close();
    await Promise.all(sims.map((s) => s.stop()));
  });

  it("splits by weight, falls back on 5xx before the first byte, and reads readiness", async () => {
    const a = await startSimServer({ model: "llama-3.1-8b", speed: 50, servedModelName: "m" });
    const b = await startSimServer({ model: "llama-3.1-8b", speed: 50, servedModelName: "m" });
    const broken = await startSimServer({
      model: "llama-3.1-8b",
      speed: 50,
      servedModelName: "m",
      faults: { failRate: 1, failCodes: [503] },
    });
    sims.push(a, b, broken);
    const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - {name: stable, source: "hf://meta-llama/Llama-3.1-8B-Instruct", servedModelName: m, endpoints: ["${a.url}"]}
  - {name: canary, source: "hf://meta-llama/Llama-3.1-8B-Instruct", servedModelName: m, endpoints: ["${b.url}"]}
  - {name: flaky, source: "hf://meta-llama/Llama-3.1-8B-Instruct", servedModelName: m, endpoints: ["${broken.url}"]}
routes:
  - name: split
    targets: [{model: stable, weight: 80}, {model: canary, weight: 20}]
  - name: withfallback
    targets: [{model: flaky}]
    fallbacks: [split]
    required: false
gateway:
  retries: {attempts: 1}
`);
    gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: quiet });
    const send = (model: string) =>
      fetch(`${gw?.url}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model, prompt: "x", max_tokens: 1 }),
      });
    for (let i = 0; i < 200; i++) assert.equal((await send("split")).status, 200);
    const served = (s: SimServerHandle) => s.engine?.counters.requestSuccess ?? 0;
    const share = served(b) / (served(a) + served(b));
    assert.ok(share > 0.12 && share < 0.28, `canary share ${share}`);
    // The flaky pool answers 503 every time: the fallback route serves.
    for (let i = 0; i < 5; i++) {
      const r = await send("withfallback");
      assert.equal(r.status, 200, await r.text());
    }
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /inferplane_gateway_fallbacks_total\{route="withfallback",to="split"\} 5/);
  });
});

describe("limits, engines and context fallback", () => {
  const sims: SimServerHandle[] = [];
  const gws: GatewayHandle[] = [];
  after(async () => {
    await Promise.all(gws.map((g) => g.close()));
    await Promise.all(sims.map((s) => s.stop()));
  });

  it("a full pool answers 429 with Retry-After instead of queueing without bound", async () => {
    const slow = await startSimServer({ model: "llama-3.1-8b", servedModelName: "m", speed: 1 });
    sims.push(slow);
    const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - {name: llama, source: "hf://meta-llama/Llama-3.1-8B-Instruct", servedModelName: m, endpoints: ["${slow.url}"]}
gateway:
  maxInFlightPerEndpoint: 2
  maxQueuedPerPool: 2
`);
    const gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: quiet });
    gws.push(gw);
    const send = () =>
      fetch(`${gw.url}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "llama", prompt: "x", max_tokens: 60, ignore_eos: true }),
      });
    const responses = await Promise.all(Array.from({ length: 7 }, send));
    const statuses = responses.map((r) => r.status).sort();
    assert.deepEqual(
      statuses,
      [200, 200, 200, 200, 429, 429, 429],
      "2 in flight + 2 queued, the rest refused",
    );
    const refused = responses.find((r) => r.status === 429);
    assert.ok(refused);
    assert.equal(refused.headers.get("retry-after"), "1");
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, "pool_queue_full");
  });

  it("speaks to TGI and Ollama through their own paths", async () => {
    const tgi = await startSimServer({
      engine: "tgi",
      model: "llama-3.1-8b",
      servedModelName: "m",
      speed: 50,
    });
    const ollama = await startSimServer({
      engine: "ollama",
      model: "llama-3.1-8b",
      servedModelName: "m",
      speed: 50,
    });
    sims.push(tgi, ollama);
    const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - {name: tgi, engine: tgi, source: "hf://meta-llama/Llama-3.1-8B-Instruct", servedModelName: m, endpoints: ["${tgi.url}"]}
  - {name: ollama, engine: ollama, source: "ollama://m", endpoints: ["${ollama.url}"]}
`);
    const gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: quiet });
    gws.push(gw);
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
    for (const model of ["tgi", "ollama"]) {
      const res = await client.chat.completions.create({
        model,
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 3,
      });
      assert.ok(res.choices[0]?.message.content, model);
      const stream = await client.chat.completions.create({
        model,
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 3,
        stream: true,
      });
      let text = "";
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
      assert.ok(text.length > 0, model);
    }
  });

  it("sends a prompt too long for a route to its contextFallback", async () => {
    const short = await startSimServer({
      model: "llama-3.1-8b",
      servedModelName: "m",
      maxModelLen: 1024,
      speed: 50,
    });
    const long = await startSimServer({
      model: "llama-3.1-8b",
      servedModelName: "m",
      maxModelLen: 32768,
      speed: 50,
    });
    sims.push(short, long);
    const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - {name: small, source: "hf://meta-llama/Llama-3.1-8B-Instruct", servedModelName: m, endpoints: ["${short.url}"]}
  - {name: large, source: "hf://meta-llama/Llama-3.1-8B-Instruct", servedModelName: m, endpoints: ["${long.url}"]}
routes:
  - {name: chat, targets: [{model: small}], contextFallback: chat-long}
  - {name: chat-long, targets: [{model: large}]}
`);
    const gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: quiet });
    gws.push(gw);
    const res = await fetch(`${gw.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", prompt: "word ".repeat(3000), max_tokens: 2 }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(long.engine?.counters.requestSuccess, 1);
    assert.equal(short.engine?.counters.requestSuccess ?? 0, 0);
  });
});
