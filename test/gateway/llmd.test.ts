// The gateway in front of llm-d-inference-sim, an independent vLLM simulator, driven by the
// official OpenAI SDK, unchanged.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import OpenAI from "openai";
import { type GatewayHandle, startGateway } from "../../src/gateway/server.js";
import { parseSpec } from "../../src/spec/load.js";
import { requireService } from "../services/harness.js";
import { type LlmdSimService, startLlmdSim } from "../services/llmd-sim.js";

describe("gateway → llm-d-inference-sim through the openai SDK", () => {
  let sim: LlmdSimService | undefined;
  let gw: GatewayHandle;
  let client: OpenAI;

  after(async () => {
    await gw?.close();
  });

  it("chat (plain and streaming), completions and models, unchanged", async (t) => {
    sim = await requireService(t, "llm-d-inference-sim", () =>
      startLlmdSim({
        model: "meta-llama/Llama-3.1-8B-Instruct",
        timeToFirstToken: "5ms",
        interTokenLatency: "1ms",
      }),
    );
    if (!sim) return;
    const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - name: llama
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    endpoints: ["${sim.url}"]
routes:
  - name: chat
    targets: [{model: llama}]
`);
    gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: () => {} });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });

    const models = await client.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      ["chat"],
    );
    const chat = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "hello there gateway" }],
      max_tokens: 8,
    });
    assert.equal(chat.object, "chat.completion");
    assert.ok((chat.choices[0]?.message.content ?? "").length > 0);
    assert.ok((chat.usage?.completion_tokens ?? 0) > 0);

    const stream = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "stream me some words please" }],
      max_tokens: 8,
      stream: true,
    });
    let text = "";
    let sawUsage = false;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) sawUsage = true;
    }
    assert.ok(text.length > 0);
    assert.equal(
      sawUsage,
      false,
      "the usage chunk the gateway asked for is stripped: the client did not ask",
    );

    const withUsage = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "count tokens" }],
      max_tokens: 4,
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of withUsage) usage = chunk.usage ?? usage;
    assert.ok(usage && usage.completion_tokens > 0, "asked-for usage passes through");

    const completion = await client.completions.create({
      model: "chat",
      prompt: "once upon a time",
      max_tokens: 5,
    });
    assert.equal(completion.object, "text_completion");

    const raw = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }),
    });
    assert.equal(raw.status, 200);
    assert.match(raw.headers.get("x-inferplane-overhead-ms") ?? "", /^\d+\.\d{3}$/);
  });
});
