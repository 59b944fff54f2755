// Attack class "scopes across every route kind, RAG included" and "RAG tokens charged to nobody":
// /v1/rag/* obeys the key's collection scopes (path and body), its model calls (embed, rerank,
// chat) run with the caller's key — its model scopes, TPM and budget — and are charged to it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PROMPT_CANARY } from "../gateway/policy/test-logs.js";
import { call, leakedSecrets, makeKey, type Stack, startStack, usageByRoute } from "./stack.js";

const SECRET_TEXT = "The payroll password rotation happens on the first Monday of every quarter.";

describe("security: RAG passes the one admission path", () => {
  let s: Stack;
  let url: string;
  const keys: string[] = [];
  const key = async (spec: Record<string, unknown>) => {
    const k = await makeKey(url, { name: `k${keys.length}`, ...spec });
    keys.push(k.key);
    return k;
  };

  before(async () => {
    s = await startStack({ name: "security-rag" });
    url = s.gw.url;
    const owner = await key({});
    for (const [name, text] of [
      ["kb", `Supersonic inlets swallow the shock at start. ${PROMPT_CANARY}`],
      ["secret", SECRET_TEXT],
    ]) {
      assert.equal((await call(url, "POST", "/v1/rag/collections", owner.key, { name })).status, 201);
      const ing = await call(url, "POST", `/v1/rag/collections/${name}/documents`, owner.key, {
        documents: [{ id: `${name}-1`, text }],
      });
      assert.equal(ing.status, 200, ing.text);
    }
  });
  after(async () => {
    await s?.stop();
  });

  it("a key scoped to one collection cannot answer, search, ingest or list another", async () => {
    const kb = await key({ collections: ["kb"] });
    const answer = await call(url, "POST", "/v1/rag/answer", kb.key, {
      query: "When does the payroll password rotate?",
      collection: "secret",
      max_tokens: 8,
    });
    assert.equal(answer.status, 403, answer.text);
    assert.equal((answer.json.error as { param: string }).param, "collection");
    assert.doesNotMatch(answer.text, /payroll password/);
    const search = await call(url, "POST", "/v1/rag/collections/secret/search", kb.key, { query: "payroll" });
    assert.equal(search.status, 403);
    const ingest = await call(url, "POST", "/v1/rag/collections/secret/documents", kb.key, {
      documents: [{ id: "x", text: "planted" }],
    });
    assert.equal(ingest.status, 403);
    const list = await call(url, "GET", "/v1/rag/collections", kb.key);
    assert.equal(list.status, 200);
    assert.deepEqual(
      (list.json.data as { name: string }[]).map((c) => c.name),
      ["kb"],
      "the listing shows only the key's collections",
    );
    const own = await call(url, "POST", "/v1/rag/answer", kb.key, {
      query: "What do inlets swallow?",
      collection: "kb",
      max_tokens: 8,
    });
    assert.equal(own.status, 200, own.text);
  });

  it("RAG's model calls carry the caller's model scopes: an embed-only key gets no chat completion", async () => {
    const embedOnly = await key({ models: ["embed"] });
    const search = await call(url, "POST", "/v1/rag/collections/kb/search", embedOnly.key, {
      query: "supersonic inlet",
      mode: "dense",
    });
    assert.equal(search.status, 200, search.text);
    const answer = await call(url, "POST", "/v1/rag/answer", embedOnly.key, {
      query: "What do inlets swallow?",
      collection: "kb",
      max_tokens: 8,
    });
    // The caller's own refusal, not a broken upstream: 403 permission_denied, as a direct call gets.
    assert.equal(answer.status, 403, answer.text);
    assert.equal((answer.json.error as { code: string }).code, "permission_denied");
    assert.match(answer.text, /may not use model `rerank`/);
    const rerank = await call(url, "POST", "/v1/rag/collections/kb/search", embedOnly.key, {
      query: "supersonic inlet",
      rerank: true,
    });
    assert.notEqual(rerank.status, 200, "nor a reranked search");
    const noChat = await key({ models: ["embed", "rerank"] });
    const refused = await call(url, "POST", "/v1/rag/answer", noChat.key, {
      query: "What do inlets swallow?",
      collection: "kb",
      max_tokens: 8,
    });
    assert.equal(refused.status, 403, refused.text);
    assert.match(refused.text, /may not use model `chat`/);
  });

  it("a collection whose embedding route is outside the key's scope cannot be created", async () => {
    const embedOnly = await key({ models: ["embed"] });
    const bad = await call(url, "POST", "/v1/rag/collections", embedOnly.key, {
      name: "sneaky",
      embedding: { route: "chat", dimensions: 1024 },
    });
    assert.equal(bad.status, 403, bad.text);
    assert.equal((bad.json.error as { param: string }).param, "embedding.route");
    const ok = await call(url, "POST", "/v1/rag/collections", embedOnly.key, {
      name: "fine",
      embedding: { route: "embed", dimensions: 1024 },
    });
    assert.equal(ok.status, 201, ok.text);
  });

  it("RAG tokens are charged to the caller: usage rows per route, and the budget stops it", async () => {
    const payer = await key({ budgetTokens: 1200 });
    let refused: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 12 && !refused; i++) {
      const r = await call(url, "POST", "/v1/rag/answer", payer.key, {
        query: `What do inlets swallow? (${i})`,
        collection: "kb",
        max_tokens: 150,
        ignore_eos: true,
      });
      if (r.status !== 200) refused = r;
    }
    assert.ok(refused, "the budget ran out before 12 answers of ~150 tokens each");
    // 429 insufficient_quota with the renewal time, as the key's direct calls get it.
    assert.equal(refused.status, 429, refused.text);
    assert.equal((refused.json.error as { code: string }).code, "insufficient_quota");
    assert.ok(Number(refused.headers.get("retry-after")) > 0, "Retry-After says when the budget renews");
    const rows = (await usageByRoute(url)).filter((r) => r.key === payer.id);
    const byRoute = new Map(rows.map((r) => [r.route, r]));
    for (const route of ["embed", "rerank", "chat"]) {
      const row = byRoute.get(route);
      assert.ok(row && row.requests > 0, `usage has ${route} calls for the caller: ${JSON.stringify(rows)}`);
    }
    const chat = byRoute.get("chat");
    assert.ok(chat && chat.completionTokens >= 150, "the answers' completion tokens are on the caller");
    const spent = rows.reduce((n, r) => n + r.promptTokens + r.completionTokens, 0);
    // Admission stops the key once the month's tokens are spent; one answer may finish past it.
    assert.ok(spent <= 1200 + 1000, `spent ${spent} of a 1,200-token budget`);
  });

  it("the internal header admits nothing by itself", async () => {
    const guessed = await call(
      url,
      "POST",
      "/v1/chat/completions",
      undefined,
      { model: "chat", messages: [{ role: "user", content: "hi" }], max_tokens: 2 },
      { "x-inferplane-internal": "a".repeat(43) },
    );
    assert.equal(guessed.status, 401);
  });

  it("no key the suite made reached a log line", () => {
    assert.deepEqual(leakedSecrets(keys), []);
  });
});
