// Front-door wiring with a small test door (the real translators live in src/gateway/api):
// the door's body is what admission and the dispatch see, its answers and its errors take the
// door's shape, JSON and SSE, and a door request runs through the same forwarder as chat.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { InferplaneError } from "../../src/errors.js";
import type { DoorStream, FrontDoor } from "../../src/gateway/api/door.js";
import { doors } from "../../src/gateway/api/index.js";
import { generateKey } from "../../src/gateway/policy/keys.js";
import { type GatewayHandle, startGateway } from "../../src/gateway/server.js";
import { type SimServerHandle, startSimServer } from "../../src/sim/server.js";
import { parseSpec } from "../../src/spec/load.js";

/** `/test/echo`: `{ask, words, stream}` → chat; answers `{said, tokens}`; errors `{oops}`. */
const echoDoor: FrontDoor = {
  path: "/test/echo",
  op: "chat",
  translate(body) {
    const b = body as { ask?: unknown; words?: unknown; stream?: unknown; model?: unknown };
    if (typeof b.ask !== "string")
      throw new InferplaneError("invalid_request", "`ask` must be a string", { param: "ask" });
    const stream = b.stream === true;
    return {
      op: "chat",
      stream,
      body: {
        model: b.model,
        messages: [{ role: "user", content: b.ask }],
        max_tokens: Number(b.words ?? 3),
        ignore_eos: true,
        stream,
      },
      response(upstream) {
        const u = upstream as {
          model: string;
          choices: { message: { content: string } }[];
          usage: { completion_tokens: number };
        };
        return { said: u.choices[0]?.message.content, tokens: u.usage.completion_tokens, model: u.model };
      },
      streamTranslator(): DoorStream {
        let pieces = 0;
        return {
          event(data) {
            if (data === "[DONE]") return [];
            const d = data as { choices?: { delta?: { content?: string } }[] };
            if (d.choices?.[0]?.delta?.content) pieces++;
            return d.choices?.[0]?.delta?.content
              ? [`event: piece\ndata: ${JSON.stringify({ n: pieces })}\n\n`]
              : [];
          },
          end: () => [`event: end\ndata: ${JSON.stringify({ pieces })}\n\n`],
          fail: (err) => [`event: oops\ndata: ${JSON.stringify({ oops: err.message })}\n\n`],
        };
      },
    };
  },
  errorBody: (err) => ({ oops: err.message, kind: err.code }),
};

describe("front doors through the gateway", () => {
  let sim: SimServerHandle;
  let gw: GatewayHandle;
  before(async () => {
    doors.push(echoDoor);
    sim = await startSimServer({ model: "llama-3.1-8b", gpu: "H100-80GB", servedModelName: "m", speed: 20 });
    const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - {name: llama, source: hf://meta-llama/Llama-3.1-8B-Instruct, servedModelName: m, endpoints: ["${sim.url}"]}
routes:
  - {name: chat, targets: [{model: llama}]}
`);
    gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: () => {} });
  });
  after(async () => {
    doors.splice(doors.indexOf(echoDoor), 1);
    await gw?.close();
    await sim?.stop();
  });

  const post = (body: unknown) =>
    fetch(`${gw.url}/test/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("JSON: translated both ways, the asked model, the served one in a header", async () => {
    const res = await post({ model: "chat", ask: "hello", words: 4 });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-inferplane-served-model"), "m");
    assert.ok(res.headers.get("x-request-id"));
    const body = (await res.json()) as { said: string; tokens: number; model: string };
    assert.equal(body.tokens, 4);
    assert.equal(body.model, "chat");
    assert.ok(body.said.length > 0);
  });

  it("SSE: the door's events, frame by frame, and its closing frame", async () => {
    const res = await post({ model: "chat", ask: "hello", words: 5, stream: true });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.equal((text.match(/event: piece/g) ?? []).length, 5);
    assert.match(text, /event: end\ndata: \{"pieces":5\}/);
    assert.ok(!text.includes("chat.completion.chunk"), "nothing of the upstream's shape leaks");
  });

  it("errors take the door's shape: a translation error and an unknown model", async () => {
    const bad = await post({ model: "chat", ask: 3 });
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), { oops: "`ask` must be a string", kind: "invalid_request" });
    const unknown = await post({ model: "nope", ask: "hi" });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { kind: string }).kind, "model_not_found");
  });
});

describe("front doors: admission applies as to chat", () => {
  let sim: SimServerHandle;
  let gw: GatewayHandle;
  const key = generateKey();
  before(async () => {
    doors.push(echoDoor);
    sim = await startSimServer({ model: "llama-3.1-8b", gpu: "H100-80GB", servedModelName: "m", speed: 20 });
    const db = join(mkdtempSync(join(tmpdir(), "inferplane-doors-")), "gw.db");
    const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - {name: llama, source: hf://meta-llama/Llama-3.1-8B-Instruct, servedModelName: m, endpoints: ["${sim.url}"]}
routes:
  - {name: chat, targets: [{model: llama}]}
  - {name: other, targets: [{model: llama}]}
gateway:
  auth:
    mode: keys
    sqlitePath: "${db}"
    keys: [{name: team, hash: "${key.hash}", models: [chat]}]
`);
    gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: () => {}, env: {} });
  });
  after(async () => {
    doors.splice(doors.indexOf(echoDoor), 1);
    await gw?.close();
    await sim?.stop();
  });

  const post = (body: unknown, apiKey?: string) =>
    fetch(`${gw.url}/test/echo`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      },
      body: JSON.stringify(body),
    });

  it("no key: 401; a key outside its models: 403; a good key: 200", async () => {
    assert.equal((await post({ model: "chat", ask: "hi" })).status, 401);
    assert.equal((await post({ model: "other", ask: "hi" }, key.key)).status, 403);
    const ok = await post({ model: "chat", ask: "hi", words: 2 }, key.key);
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { tokens: number }).tokens, 2);
  });
});
