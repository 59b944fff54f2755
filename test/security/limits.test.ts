// Attack classes "limit bypasses", "auth forms" and "listings": token accounting that cannot be
// outrun at admission (every completion-limit field, sequences, the ceiling when none is set,
// tools, tool calls and non-text parts counted), listings scoped to the key, /metrics behind a
// key when the spec says so, and usage labels that unknown model names cannot grow.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PROMPT_CANARY } from "../gateway/policy/test-logs.js";
import { ADMIN, call, leakedSecrets, makeKey, type Stack, startStack, usageByRoute } from "./stack.js";

const user = [{ role: "user", content: `hello ${PROMPT_CANARY}` }];

describe("security: limits, listings and labels", () => {
  let s: Stack;
  let url: string;
  const keys: string[] = [];
  const key = async (spec: Record<string, unknown>) => {
    const k = await makeKey(url, { name: `l${keys.length}`, ...spec });
    keys.push(k.key);
    return k;
  };
  const chat = (k: string, body: Record<string, unknown>) =>
    call(url, "POST", "/v1/chat/completions", k, { model: "chat", messages: user, ...body });

  before(async () => {
    s = await startStack({ name: "security-limits", auth: "protectMetrics: true" });
    url = s.gw.url;
  });
  after(async () => {
    await s?.stop();
  });

  it("auth forms: no key, a malformed one, a well-formed unknown one, Basic: all 401", async () => {
    const forms: Record<string, string>[] = [
      {},
      { authorization: "Bearer sk-not-ours" },
      { authorization: `Bearer ipk_AAAAAAAAAAAA_${"x".repeat(43)}` },
      { authorization: "Basic Zm9vOmJhcg==" },
      { "x-api-key": "ipk_short_x" },
    ];
    for (const headers of forms) {
      const r = await call(
        url,
        "POST",
        "/v1/chat/completions",
        undefined,
        { model: "chat", messages: user },
        headers,
      );
      assert.equal(r.status, 401, JSON.stringify(headers));
    }
  });

  it("the engine's other limit field cannot outrun the reservation (max_tokens 1, max_completion_tokens 6000)", async () => {
    const k = await key({ tpm: 1000 });
    const r = await chat(k.key, { max_tokens: 1, max_completion_tokens: 6000 });
    assert.equal(r.status, 429, r.text);
    assert.equal((r.json.error as { type: string }).type, "tokens");
  });

  it("n and best_of multiply the reservation", async () => {
    const k = await key({ tpm: 1000 });
    const r = await chat(k.key, { max_tokens: 100, n: 50 });
    assert.equal(r.status, 429, r.text);
    const c = await call(url, "POST", "/v1/completions", k.key, {
      model: "chat",
      prompt: "x",
      max_tokens: 100,
      best_of: 20,
    });
    assert.equal(c.status, 429, c.text);
  });

  it("with no completion limit the ceiling is reserved and imposed: the reply stops there", async () => {
    const k = await key({ tpm: 1000 });
    const r = await chat(k.key, { ignore_eos: true });
    assert.equal(r.status, 200, r.text);
    const usage = r.json.usage as { completion_tokens: number };
    assert.ok(
      usage.completion_tokens <= 256,
      `completion ${usage.completion_tokens} within the 256 reserved`,
    );
    const stream = await chat(k.key, { ignore_eos: true, stream: true });
    assert.equal(stream.status, 200);
    const chunks = stream.text.split("\n").filter((l) => l.startsWith("data: {")).length;
    assert.ok(chunks <= 256 + 2, `${chunks} streamed chunks within the reservation`);
  });

  it("tool definitions, tool calls and non-text parts count toward the estimate", async () => {
    const k = await key({ tpm: 1000 });
    const tools = [
      {
        type: "function",
        function: { name: "lookup", description: "d".repeat(6000), parameters: { type: "object" } },
      },
    ];
    const withTools = await chat(k.key, { max_tokens: 5, tools });
    assert.equal(withTools.status, 429, withTools.text);
    const call1 = {
      role: "assistant",
      content: null,
      tool_calls: [{ id: "c1", type: "function", function: { name: "lookup", arguments: "a".repeat(6000) } }],
    };
    const withCall = await chat(k.key, {
      max_tokens: 5,
      messages: [...user, call1, { role: "tool", tool_call_id: "c1", content: "ok" }],
    });
    assert.equal(withCall.status, 429, withCall.text);
    const image = { type: "image_url", image_url: { url: "https://example.com/cat.png" } };
    const withImages = await chat(k.key, {
      max_tokens: 5,
      messages: [{ role: "user", content: [{ type: "text", text: "what is it?" }, image, image] }],
    });
    assert.equal(withImages.status, 429, withImages.text);
  });

  it("/v1/models needs a key and lists only the routes the key may use", async () => {
    assert.equal((await call(url, "GET", "/v1/models", undefined)).status, 401);
    const k = await key({ models: ["embed"] });
    const r = await call(url, "GET", "/v1/models", k.key);
    assert.equal(r.status, 200);
    assert.deepEqual(
      (r.json.data as { id: string }[]).map((m) => m.id),
      ["embed"],
    );
    const alias = await key({ models: ["gpt-4o-mini"] });
    const a = await call(url, "GET", "/v1/models", alias.key);
    assert.deepEqual((a.json.data as { id: string }[]).map((m) => m.id).sort(), ["chat", "gpt-4o-mini"]);
  });

  it("protectMetrics: /metrics needs a key whose paths allow it; /healthz stays open", async () => {
    assert.equal((await call(url, "GET", "/metrics", undefined)).status, 401);
    const chatOnly = await key({ paths: ["/v1/chat/*"] });
    assert.equal((await call(url, "GET", "/metrics", chatOnly.key)).status, 403);
    const scraper = await key({ paths: ["/metrics"] });
    const ok = await call(url, "GET", "/metrics", scraper.key);
    assert.equal(ok.status, 200);
    assert.match(ok.text, /inferplane_gateway_policy_decisions_total/);
    assert.equal((await call(url, "GET", "/healthz", undefined)).status, 200);
    assert.equal((await call(url, "GET", "/readyz", undefined)).status, 200);
  });

  it("unknown model names do not become usage rows", async () => {
    const k = await key({});
    const name = `nope-${"x".repeat(50_000)}`;
    for (let i = 0; i < 5; i++) {
      const r = await call(url, "POST", "/v1/chat/completions", k.key, {
        model: `${name}${i}`,
        messages: user,
      });
      assert.notEqual(r.status, 200);
    }
    const rows = (await usageByRoute(url)).filter((r) => r.key === k.id);
    assert.ok(rows.length <= 1, `one bounded label at most: ${rows.map((r) => r.route?.slice(0, 20))}`);
    for (const r of rows) assert.ok((r.route ?? "").length < 64, "the label is bounded");
  });

  it("the admin API still needs its token", async () => {
    assert.equal((await call(url, "GET", "/admin/keys", "wrong")).status, 401);
    assert.equal((await call(url, "GET", "/admin/keys", ADMIN)).status, 200);
  });

  it("no key the suite made reached a log line", () => {
    assert.deepEqual(leakedSecrets(keys), []);
  });
});
