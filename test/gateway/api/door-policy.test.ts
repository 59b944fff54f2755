// The doors under admission, through one gateway with keys (SQLite store) to Inferplane's
// simulator: a stored Response is seen and continued only by the key that created it, and the
// Anthropic Messages door refuses in Anthropic's error shape (the official SDK's error classes).
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import { type GatewayHandle, startGateway } from "../../../src/gateway/server.js";
import { type SimServerHandle, startSimServer } from "../../../src/sim/server.js";
import { parseSpec } from "../../../src/spec/load.js";
import { ADMIN_TOKEN, fileLogger } from "../policy/test-logs.js";

type Json = Record<string, unknown>;

describe("doors under admission (keys, SQLite) → inferplane sim", () => {
  let sim: SimServerHandle;
  let gw: GatewayHandle;
  const keys: Record<string, string> = {};

  async function createKey(body: Json): Promise<string> {
    const res = await fetch(`${gw.url}/admin/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return ((await res.json()) as { key: string }).key;
  }

  function call(method: string, path: string, key: string | undefined, body?: Json) {
    return fetch(`${gw.url}${path}`, {
      method,
      headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  before(async () => {
    sim = await startSimServer({ model: "llama-3.1-8b", speed: 50, outputLenMean: 8 });
    const db = join(mkdtempSync(join(tmpdir(), "inferplane-door-policy-")), "gateway.db");
    const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - name: llama
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    servedModelName: ${sim.servedModelName}
    endpoints: ["${sim.url}"]
routes:
  - name: assistant
    targets: [{model: llama}]
  - name: other
    targets: [{model: llama}]
gateway:
  auth: {mode: keys, sqlitePath: "${db}"}
`);
    gw = await startGateway(platform, {
      host: "127.0.0.1",
      port: 0,
      logger: fileLogger("door-policy"),
      env: { INFERPLANE_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    keys.a = await createKey({ name: "a" });
    keys.b = await createKey({ name: "b" });
    keys.chatOnly = await createKey({ name: "chat-only", paths: ["/v1/chat/*", "/v1/responses"] });
    keys.otherModel = await createKey({ name: "other-model", models: ["other"] });
    keys.rpm1 = await createKey({ name: "rpm1", rpm: 1 });
  });
  after(async () => {
    await gw?.close();
    await sim?.stop();
  });

  it("GET /v1/responses/{id}: the creating key sees it, streamed or not; others get 404, no key 401", async () => {
    const created = await call("POST", "/v1/responses", keys.a, {
      model: "assistant",
      input: "Hi",
      max_output_tokens: 8,
    });
    assert.equal(created.status, 200, await created.clone().text());
    const r = (await created.json()) as Json;
    assert.match(String(r.id), /^resp_/);
    const mine = await call("GET", `/v1/responses/${r.id}`, keys.a);
    assert.equal(mine.status, 200);
    assert.deepEqual(await mine.json(), r, "the stored response is the one answered");
    assert.ok(mine.headers.get("x-request-id"));

    const theirs = await call("GET", `/v1/responses/${r.id}`, keys.b);
    assert.equal(theirs.status, 404);
    const missing = await call("GET", "/v1/responses/resp_000000000000000000000000", keys.b);
    assert.equal(missing.status, 404);
    assert.deepEqual(await theirs.json(), {
      error: {
        message: `Response with id '${r.id}' not found.`,
        type: "invalid_request_error",
        code: "not_found",
        param: "response_id",
      },
    });
    assert.equal((await call("GET", `/v1/responses/${r.id}`, undefined)).status, 401, "admission applies");
    assert.equal(
      (await call("GET", `/v1/responses/${r.id}`, keys.chatOnly)).status,
      403,
      "a key's paths apply",
    );

    const streamed = await call("POST", "/v1/responses", keys.a, {
      model: "assistant",
      input: "Hi",
      stream: true,
      max_output_tokens: 8,
    });
    assert.equal(streamed.status, 200);
    const text = await streamed.text();
    const done = text
      .split("\n")
      .filter((l) => l.startsWith("data: "))
      .map((l) => JSON.parse(l.slice(6)) as Json)
      .find((e) => e.type === "response.completed") as { response: Json } | undefined;
    assert.ok(done, text.slice(0, 500));
    const again = await call("GET", `/v1/responses/${done.response.id}`, keys.a);
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as Json).id, done.response.id);
    assert.equal((await call("GET", `/v1/responses/${done.response.id}`, keys.b)).status, 404);
  });

  it("previous_response_id: only the creating key continues; another key's and a missing id look alike", async () => {
    const first = (await (
      await call("POST", "/v1/responses", keys.a, { model: "assistant", input: "Hi", max_output_tokens: 8 })
    ).json()) as Json;
    const next = await call("POST", "/v1/responses", keys.a, {
      model: "assistant",
      input: "And?",
      previous_response_id: first.id,
      max_output_tokens: 8,
    });
    assert.equal(next.status, 200, await next.clone().text());
    const asB = await call("POST", "/v1/responses", keys.b, {
      model: "assistant",
      input: "And?",
      previous_response_id: first.id,
    });
    const unknown = await call("POST", "/v1/responses", keys.b, {
      model: "assistant",
      input: "And?",
      previous_response_id: "resp_000000000000000000000000",
    });
    assert.equal(asB.status, 400);
    assert.equal(unknown.status, 400);
    const e = ((await asB.json()) as { error: Json }).error;
    assert.equal(e.param, "previous_response_id");
    assert.match(String(e.message), /not found/);
    const u = ((await unknown.json()) as { error: Json }).error;
    assert.equal(u.param, "previous_response_id");
  });

  it("/v1/messages refusals come in Anthropic's shape, raised as the SDK's error classes", async () => {
    const body = { model: "assistant", max_tokens: 8, messages: [{ role: "user" as const, content: "Hi" }] };
    const noKey = await call("POST", "/v1/messages", undefined, body);
    assert.equal(noKey.status, 401);
    const n = (await noKey.json()) as { type: string; error: Json };
    assert.equal(n.type, "error");
    assert.equal(n.error.type, "authentication_error");
    assert.match(String(n.error.message), /API key/);

    const scoped = await call("POST", "/v1/messages", keys.otherModel, body);
    assert.equal(scoped.status, 403);
    assert.deepEqual(((await scoped.json()) as { type: string; error: Json }).error.type, "permission_error");

    const ok = await call("POST", "/v1/messages", keys.rpm1, body);
    assert.equal(ok.status, 200, await ok.clone().text());
    const limited = await call("POST", "/v1/messages", keys.rpm1, body);
    assert.equal(limited.status, 429);
    assert.ok(limited.headers.get("retry-after"));
    const l = (await limited.json()) as { type: string; error: Json };
    assert.deepEqual([l.type, l.error.type], ["error", "rate_limit_error"]);

    // The official SDK sends x-api-key; it raises the classes its error shape maps to.
    const sdk = (apiKey: string) => new Anthropic({ baseURL: gw.url, apiKey, maxRetries: 0 });
    await assert.rejects(
      sdk("ipk_nope").messages.create(body),
      (e: unknown) => e instanceof Anthropic.AuthenticationError,
    );
    await assert.rejects(
      sdk(keys.otherModel as string).messages.create(body),
      (e: unknown) => e instanceof Anthropic.PermissionDeniedError,
    );
    await assert.rejects(
      sdk(keys.rpm1 as string).messages.create(body),
      (e: unknown) =>
        e instanceof Anthropic.RateLimitError &&
        (e.error as { error?: { type?: string } }).error?.type === "rate_limit_error",
    );
    // The OpenAI doors keep OpenAI's shape for the same refusal.
    const openai = await call("POST", "/v1/responses", undefined, { model: "assistant", input: "x" });
    assert.equal(((await openai.json()) as { error: Json }).error.code, "invalid_api_key");
  });
});
