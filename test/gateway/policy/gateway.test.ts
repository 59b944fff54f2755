// The policy inside one gateway (SQLite key store, in-memory limits): keys and scopes, RPM and
// TPM with OpenAI's headers (streamed tokens counted from the real usage), monthly budgets,
// usage through the admin API and the CLI, durable across a graceful restart.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { type GatewayHandle, startGateway } from "../../../src/gateway/server.js";
import { type SimServerHandle, startSimServer } from "../../../src/sim/server.js";
import { parseSpec } from "../../../src/spec/load.js";
import { ADMIN_TOKEN, fileLogger, PROMPT_CANARY } from "./test-logs.js";

function spec(sim: SimServerHandle, db: string, extra = "") {
  return parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - name: llama
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    servedModelName: ${sim.servedModelName}
    endpoints: ["${sim.url}"]
routes:
  - name: chat-small
    aliases: [gpt-4o-mini]
    targets: [{model: llama}]
  - name: other
    targets: [{model: llama}]
gateway:
  auth: {mode: keys, sqlitePath: "${db}"}
  usage: {flushInterval: 200}
${extra}`).platform;
}

const env = { INFERPLANE_ADMIN_TOKEN: ADMIN_TOKEN };

async function admin(gw: GatewayHandle, method: string, path: string, body?: unknown) {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function chat(gw: GatewayHandle, key: string | undefined, body: Record<string, unknown>) {
  return fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify({ messages: [{ role: "user", content: `hello ${PROMPT_CANARY}` }], ...body }),
  });
}

describe("gateway policy (one gateway, SQLite)", () => {
  let sim: SimServerHandle;
  let gw: GatewayHandle;
  let db: string;
  const logger = fileLogger("policy-gateway");

  before(async () => {
    sim = await startSimServer({ model: "llama-3.1-8b", gpu: "H100-80GB", speed: 50 });
    db = join(mkdtempSync(join(tmpdir(), "inferplane-policy-")), "gateway.db");
    gw = await startGateway(spec(sim, db), { host: "127.0.0.1", port: 0, logger, env });
  });
  after(async () => {
    await gw?.close();
    await sim?.stop();
  });

  it("401 without a key or with an unknown one; the admin API needs its token", async () => {
    const none = await chat(gw, undefined, { model: "chat-small" });
    assert.equal(none.status, 401);
    const e = (await none.json()) as { error: { code: string; type: string } };
    assert.deepEqual([e.error.code, e.error.type], ["invalid_api_key", "invalid_request_error"]);
    const fake = await chat(gw, `ipk_AAAAAAAAAAAA_${"x".repeat(43)}`, { model: "chat-small" });
    assert.equal(fake.status, 401);
    const garbage = await chat(gw, "sk-not-ours", { model: "chat-small" });
    assert.equal(garbage.status, 401);
    const noAdmin = await fetch(`${gw.url}/admin/keys`, { headers: { authorization: "Bearer wrong" } });
    assert.equal(noAdmin.status, 401);
    assert.equal(((await noAdmin.json()) as { error: { code: string } }).error.code, "invalid_api_key");
  });

  it("scopes: models by route name or alias, paths; 403 permission_denied outside them", async () => {
    const created = await admin(gw, "POST", "/admin/keys", {
      name: "team-a",
      models: ["chat-*"],
      paths: ["/v1/chat/*"],
    });
    assert.equal(created.status, 201);
    const key = created.body.key as string;
    assert.match(key, /^ipk_[A-Za-z0-9]+_[A-Za-z0-9_-]{43}$/);
    assert.equal(created.body.hash, undefined, "the hash is never shown");
    const ok = await chat(gw, key, { model: "gpt-4o-mini", max_tokens: 5 });
    assert.equal(ok.status, 200, await ok.clone().text());
    const other = await chat(gw, key, { model: "other", max_tokens: 5 });
    assert.equal(other.status, 403);
    const err = (await other.json()) as { error: { code: string; param: string } };
    assert.deepEqual([err.error.code, err.error.param], ["permission_denied", "model"]);
    const emb = await fetch(`${gw.url}/v1/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "chat-small", prompt: "x" }),
    });
    assert.equal(emb.status, 403, "the path is outside the key's paths");
    // The official SDK sees the same errors.
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 });
    await assert.rejects(
      client.chat.completions.create({
        model: "other",
        messages: [{ role: "user", content: PROMPT_CANARY }],
      }),
      (e: unknown) => e instanceof OpenAI.PermissionDeniedError,
    );
  });

  it("RAG routes: a key is needed, and collections outside its scope are 403", async () => {
    const { body } = await admin(gw, "POST", "/admin/keys", { name: "kb-only", collections: ["kb-*"] });
    const key = body.key as string;
    const get = (path: string, k?: string) =>
      fetch(`${gw.url}${path}`, { headers: k ? { authorization: `Bearer ${k}` } : {} });
    assert.equal((await get("/v1/rag/collections/kb-docs")).status, 401);
    const other = await get("/v1/rag/collections/hr", key);
    assert.equal(other.status, 403);
    assert.deepEqual(((await other.json()) as { error: { param: string } }).error.param, "collection");
    const create = await fetch(`${gw.url}/v1/rag/collections`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "payroll" }),
    });
    assert.equal(create.status, 403, "creating a collection outside the scope");
  });

  it("RPM: the 4th request in a minute is 429 rate_limit_exceeded with Retry-After and x-ratelimit headers", async () => {
    const { body } = await admin(gw, "POST", "/admin/keys", { name: "rpm3", rpm: 3 });
    const key = body.key as string;
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 5; i++) {
      last = await chat(gw, key, { model: "chat-small", max_tokens: 2 });
      statuses.push(last.status);
      if (i === 0) {
        assert.equal(last.headers.get("x-ratelimit-limit-requests"), "3");
        assert.equal(last.headers.get("x-ratelimit-remaining-requests"), "2");
        assert.match(last.headers.get("x-ratelimit-reset-requests") ?? "", /^\d+(\.\d)?s$|^\dm\d+s$/);
      }
      await last.arrayBuffer();
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    const retry = Number(last?.headers.get("retry-after"));
    assert.ok(
      retry >= 55 && retry <= 60,
      `Retry-After ${retry} s: the oldest request leaves the window in about a minute`,
    );
    assert.equal(last?.headers.get("x-ratelimit-remaining-requests"), "0");
    const again = await chat(gw, key, { model: "chat-small" });
    const e = (await again.json()) as { error: { code: string; type: string } };
    assert.deepEqual([e.error.code, e.error.type], ["rate_limit_exceeded", "requests"]);
  });

  it("TPM: reserves prompt + max_tokens, then books the real usage of a streamed answer", async () => {
    const { body } = await admin(gw, "POST", "/admin/keys", { name: "tpm", tpm: 2000 });
    const key = body.key as string;
    const res = await chat(gw, key, { model: "chat-small", max_tokens: 1500, stream: true });
    assert.equal(res.status, 200);
    // Reserved: prompt estimate (a few tokens) + 1500.
    const remainingAtAdmission = Number(res.headers.get("x-ratelimit-remaining-tokens"));
    assert.ok(remainingAtAdmission < 500, `remaining ${remainingAtAdmission} after reserving 1500+`);
    const text = await res.text();
    assert.match(text, /data: \[DONE\]/);
    assert.doesNotMatch(text, /"usage"/, "the usage chunk the gateway asked for is not relayed");
    // The sim stops at its own sampled length; settlement replaces the reservation by the real usage.
    await new Promise((r) => setTimeout(r, 50));
    const usage = await admin(gw, "GET", "/admin/usage?group_by=key");
    const row = (usage.body.data as { key: string; promptTokens: number; completionTokens: number }[]).find(
      (r) => r.key === body.id,
    );
    assert.ok(row, "usage has the key");
    assert.ok(row.completionTokens > 0, "the streamed completion tokens were counted");
    const streamed = row.promptTokens + row.completionTokens;
    const probe = await chat(gw, key, { model: "chat-small", max_tokens: 1 });
    const remaining = Number(probe.headers.get("x-ratelimit-remaining-tokens"));
    await probe.arrayBuffer();
    // The probe reserves its prompt estimate (ceil(30 characters / 4) = 8, + 4 for the message) + max_tokens 1.
    assert.equal(remaining, 2000 - streamed - 13, `the minute holds the stream's ${streamed} real tokens`);
    // A request that cannot fit even in an empty minute.
    const huge = await chat(gw, key, { model: "chat-small", max_tokens: 5000 });
    assert.equal(huge.status, 429);
    assert.equal(((await huge.json()) as { error: { type: string } }).error.type, "tokens");
  });

  it("budget: once the month's tokens are spent, 429 insufficient_quota", async () => {
    const { body } = await admin(gw, "POST", "/admin/keys", { name: "budget", budgetTokens: 40 });
    const key = body.key as string;
    const first = await chat(gw, key, { model: "chat-small", max_tokens: 30 });
    assert.equal(first.status, 200);
    await first.arrayBuffer();
    let res: Response | undefined;
    for (let i = 0; i < 5; i++) {
      res = await chat(gw, key, { model: "chat-small", max_tokens: 30 });
      if (res.status !== 200) break;
      await res.arrayBuffer();
    }
    assert.equal(res?.status, 429);
    const e = (await res?.json()) as { error: { code: string; type: string } };
    assert.deepEqual([e.error.code, e.error.type], ["insufficient_quota", "insufficient_quota"]);
  });

  it("revoke and rotate through the admin API take effect at once", async () => {
    const { body } = await admin(gw, "POST", "/admin/keys", { name: "rot" });
    const key = body.key as string;
    const first = await chat(gw, key, { model: "chat-small", max_tokens: 1 });
    assert.equal(first.status, 200, await first.text());
    const rotated = await admin(gw, "POST", `/admin/keys/${body.id}/rotate`);
    assert.equal(rotated.status, 200);
    assert.equal(
      (await chat(gw, key, { model: "chat-small", max_tokens: 1 })).status,
      401,
      "the old secret is dead",
    );
    const fresh = rotated.body.key as string;
    assert.equal((await chat(gw, fresh, { model: "chat-small", max_tokens: 1 })).status, 200);
    assert.equal((await admin(gw, "POST", `/admin/keys/${body.id}/revoke`)).status, 200);
    assert.equal((await chat(gw, fresh, { model: "chat-small", max_tokens: 1 })).status, 401);
    assert.equal((await admin(gw, "POST", "/admin/keys/nope1234/revoke")).status, 404);
    const listed = await admin(gw, "GET", "/admin/keys");
    const rec = (listed.body.data as { id: string; revokedAt?: string }[]).find((k) => k.id === body.id);
    assert.ok(rec?.revokedAt);
    const bad = await admin(gw, "POST", "/admin/keys", { name: "x", rpm: "many" });
    assert.equal(bad.status, 400);
    assert.equal((bad.body.error as { param: string }).param, "rpm");
  });

  it("usage survives a graceful restart; /admin/usage groups by key and model", async () => {
    const { body } = await admin(gw, "POST", "/admin/keys", { name: "durable" });
    const key = body.key as string;
    for (let i = 0; i < 3; i++)
      await (await chat(gw, key, { model: "chat-small", max_tokens: 3 })).arrayBuffer();
    await (await chat(gw, key, { model: "nope" })).arrayBuffer(); // 404 → scope passes ("*"), an error row
    await gw.close(); // graceful: flushes what the interval has not written yet
    gw = await startGateway(spec(sim, db), { host: "127.0.0.1", port: 0, logger, env });
    const usage = await admin(gw, "GET", "/admin/usage?group_by=key,model&from=2020-01-01");
    assert.equal(usage.status, 200);
    const rows = (
      usage.body.data as { key: string; model: string; requests: number; errors: number; key_name: string }[]
    ).filter((r) => r.key === body.id);
    const total = rows.reduce((n, r) => n + r.requests, 0);
    const errors = rows.reduce((n, r) => n + r.errors, 0);
    assert.equal(total, 4);
    assert.equal(errors, 1);
    assert.ok(rows.some((r) => r.model === "llama" && r.requests === 3 && r.key_name === "durable"));
    const bad = await admin(gw, "GET", "/admin/usage?group_by=colour");
    assert.equal(bad.status, 400);
  });
});

describe("gateway hardening with the policy off (auth.mode none)", () => {
  let sim: SimServerHandle;
  let gw: GatewayHandle;
  before(async () => {
    sim = await startSimServer({ model: "llama-3.1-8b", gpu: "H100-80GB", speed: 50 });
    const platform = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - {name: llama, source: hf://meta-llama/Llama-3.1-8B-Instruct, servedModelName: ${sim.servedModelName}, endpoints: ["${sim.url}"]}
routes:
  - {name: chat, targets: [{model: llama}]}
gateway:
  http: {cors: {origins: ["https://app.example.com"]}}
`).platform;
    gw = await startGateway(platform, { host: "127.0.0.1", port: 0, logger: fileLogger("policy-off") });
  });
  after(async () => {
    await gw?.close();
    await sim?.stop();
  });

  it("no key needed; field checks still name the parameter; no admin API", async () => {
    const ok = await chat(gw, undefined, { model: "chat", max_tokens: 2 });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("x-ratelimit-limit-requests"), null, "no limits without keys");
    const bad = await chat(gw, undefined, { model: "chat", max_tokens: "2" });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { param: string } }).error.param, "max_tokens");
    assert.equal((await fetch(`${gw.url}/admin/keys`)).status, 404);
  });

  it("security headers on every response, streams and errors included", async () => {
    const stream = await chat(gw, undefined, { model: "chat", max_tokens: 2, stream: true });
    const error = await chat(gw, undefined, { model: "nope" });
    for (const res of [stream, error, await fetch(`${gw.url}/v1/models`)]) {
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      assert.equal(res.headers.get("x-frame-options"), "DENY");
      assert.equal(res.headers.get("referrer-policy"), "no-referrer");
      assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'none'/);
      await res.arrayBuffer();
    }
  });

  it("CORS only for the configured origins; preflights answered", async () => {
    const allowed = await fetch(`${gw.url}/v1/models`, { headers: { origin: "https://app.example.com" } });
    assert.equal(allowed.headers.get("access-control-allow-origin"), "https://app.example.com");
    assert.match(
      allowed.headers.get("access-control-expose-headers") ?? "",
      /x-ratelimit-remaining-requests/,
    );
    const other = await fetch(`${gw.url}/v1/models`, { headers: { origin: "https://evil.example" } });
    assert.equal(other.headers.get("access-control-allow-origin"), null);
    const pre = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    assert.equal(pre.status, 204);
    assert.match(pre.headers.get("access-control-allow-headers") ?? "", /authorization/);
    assert.match(pre.headers.get("access-control-allow-methods") ?? "", /POST/);
    const denied = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    assert.equal(denied.status, 404);
  });
});
