// The policy's pure parts: key format and hashing, scopes, budgets, declared keys, strict JSON
// positions, field checks, the in-memory limiter, usage aggregation; and the keys/usage CLI.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { main } from "../../../src/cli/main.js";
import { parseBudget } from "../../../src/gateway/policy/key-admin.js";
import { declaredKeys } from "../../../src/gateway/policy/key-store.js";
import {
  credentialOf,
  generateKey,
  globMatch,
  parseKey,
  verifySecret,
} from "../../../src/gateway/policy/keys.js";
import { MemoryLimiter } from "../../../src/gateway/policy/limiter.js";
import { resetText } from "../../../src/gateway/policy/policy.js";
import { checkRequestFields } from "../../../src/gateway/policy/request-fields.js";
import {
  groupUsage,
  SqliteUsage,
  UsageRecorder,
  type UsageRow,
  type UsageSink,
} from "../../../src/gateway/policy/usage.js";
import { parseJsonBody } from "../../../src/json-body.js";

describe("keys", () => {
  it("are stored as salted hashes and verified in constant time", () => {
    const a = generateKey();
    const parsed = parseKey(a.key);
    assert.ok(parsed);
    assert.equal(parsed.id, a.id);
    assert.ok(verifySecret(parsed.secret, a.hash));
    assert.ok(!a.hash.includes(parsed.secret), "the hash does not contain the secret");
    const last = parsed.secret.at(-1) === "A" ? "B" : "A";
    assert.ok(!verifySecret(`${parsed.secret.slice(0, -1)}${last}`, a.hash), "one character off fails");
    const again = generateKey(a.id);
    assert.notEqual(again.hash.split("$")[2], a.hash.split("$")[2], "a fresh salt per key");
    assert.ok(!verifySecret(parsed.secret, again.hash), "rotation kills the old secret");
    assert.equal(parseKey("sk-1234"), undefined);
    assert.equal(credentialOf({ authorization: "Bearer abc" }), "abc");
    assert.equal(credentialOf({ "x-api-key": "xyz" }), "xyz");
    assert.equal(credentialOf({ authorization: "Basic abc" }), undefined);
  });

  it("scopes are globs", () => {
    assert.ok(globMatch("chat-*", "chat-small"));
    assert.ok(!globMatch("chat-*", "embed"));
    assert.ok(globMatch("/v1/chat/*", "/v1/chat/completions"));
    assert.ok(globMatch("a.b", "a.b") && !globMatch("a.b", "axb"), "dots are literal");
  });

  it("budgets read like 50M/month", () => {
    assert.equal(parseBudget("50M/month"), 50_000_000);
    assert.equal(parseBudget("200k"), 200_000);
    assert.equal(parseBudget("1000"), 1000);
    assert.throws(() => parseBudget("50M/week"), /50M\/month/);
  });

  it("spec and environment keys must be hashes, never keys", () => {
    const k = generateKey();
    const env = JSON.stringify([{ name: "ci", hash: k.hash, models: ["embed"], rpm: 5 }]);
    const keys = declaredKeys([], env, "INFERPLANE_KEY_HASHES");
    assert.equal(keys[0]?.id, k.id);
    assert.deepEqual(keys[0]?.models, ["embed"]);
    assert.throws(() => declaredKeys([{ name: "x", hash: k.key }], undefined, "E"), /never a key/);
    assert.throws(
      () => declaredKeys([], "{not json", "INFERPLANE_KEY_HASHES"),
      /INFERPLANE_KEY_HASHES is not a JSON array/,
    );
  });
});

describe("request bodies", () => {
  const err = (s: string | Buffer) => {
    try {
      parseJsonBody(typeof s === "string" ? Buffer.from(s) : s);
    } catch (e) {
      return (e as Error).message;
    }
    return "ok";
  };
  it("invalid JSON names the byte position, line and column, and never echoes the body", () => {
    assert.match(err('{"model": "m",\n "x": tru}'), /at position 21 \(line 2, column 7\)/);
    assert.match(err('{"secret-prompt": '), /unexpected end of input at position 18/);
    assert.doesNotMatch(err('{"secret-prompt": x}'), /secret-prompt/);
    assert.match(err(Buffer.from([0x7b, 0x22, 0xc3, 0x28])), /invalid UTF-8 at position 2/);
    assert.match(err(`{"a":${"[".repeat(100)}`), /nesting deeper than 64 levels/);
    assert.equal(err('{"a":[1,{"b":"é"}]}'), "ok");
  });

  it("wrong types on the fields the gateway reads name the parameter", () => {
    const param = (op: "chat" | "embeddings" | "completions", b: unknown) => checkRequestFields(op, b)?.param;
    assert.equal(param("chat", { model: 1, messages: [] }), "model");
    assert.equal(param("chat", { model: "m", messages: "hi" }), "messages");
    assert.equal(param("chat", { model: "m", messages: [{ role: 1 }] }), "messages[0].role");
    assert.equal(param("chat", { model: "m", messages: [], stream: "yes" }), "stream");
    assert.equal(param("chat", { model: "m", messages: [], max_tokens: "10" }), "max_tokens");
    assert.equal(param("embeddings", { model: "m", input: 3 }), "input");
    assert.equal(param("completions", { model: "m" }), "prompt");
    assert.equal(
      param("chat", { model: "m", messages: [{ role: "user", content: "x" }], max_tokens: 5 }),
      undefined,
    );
  });
});

describe("in-memory limiter (one gateway without Redis)", () => {
  it("RPM is a sliding window: the limit, then 429 with the wait until the oldest leaves", async () => {
    const l = new MemoryLimiter();
    const req = { keyId: "k", rpm: 3, estimate: 0, month: "2026-11" };
    for (let i = 0; i < 3; i++) assert.equal((await l.admit(req)).ok, true);
    const d = await l.admit(req);
    assert.equal(d.ok, false);
    if (!d.ok) {
      assert.equal(d.reason, "rpm");
      assert.ok(d.retryAfterMs > 59_000 && d.retryAfterMs <= 60_000);
    }
  });

  it("TPM reserves, settlement books the real tokens; budgets are seeded from durable usage", async () => {
    const l = new MemoryLimiter((key) => (key === "b" ? 90 : 0));
    const first = await l.admit({ keyId: "t", tpm: 1000, estimate: 900, month: "2026-11" });
    assert.ok(first.ok);
    assert.equal((await l.admit({ keyId: "t", tpm: 1000, estimate: 200, month: "2026-11" })).ok, false);
    if (first.ok) await l.settle(first.ticket, 100); // the answer was short
    const second = await l.admit({ keyId: "t", tpm: 1000, estimate: 200, month: "2026-11" });
    assert.ok(second.ok);
    assert.equal(second.ok && second.tokens?.remaining, 700);
    const b1 = await l.admit({ keyId: "b", budget: 100, estimate: 20, month: "2026-11" });
    assert.ok(b1.ok, "90 of 100 spent before the restart");
    const b2 = await l.admit({ keyId: "b", budget: 100, estimate: 20, month: "2026-11" });
    assert.equal(b2.ok ? "ok" : b2.reason, "budget");
  });

  it("reset headers read as OpenAI writes them", () => {
    assert.equal(resetText(20), "20ms");
    assert.equal(resetText(1500), "1.5s");
    assert.equal(resetText(360_000), "6m0s");
  });
});

describe("usage accounting", () => {
  it("a failed flush keeps the counts for the next one", async () => {
    let fail = true;
    const stored: UsageRow[] = [];
    const sink: UsageSink = {
      add: async (rows) => {
        if (fail) throw new Error("store down");
        stored.push(...rows);
      },
      query: async () => stored,
      close: async () => {},
    };
    const errors: string[] = [];
    const u = new UsageRecorder(sink, (e) => errors.push(e.message));
    const c = { requests: 1, errors: 0, promptTokens: 10, completionTokens: 5 };
    u.record("k", "chat", "llama", c);
    await u.flush();
    u.record("k", "chat", "llama", c);
    assert.deepEqual(errors, ["store down"]);
    fail = false;
    await u.flush();
    assert.equal(stored.length, 1);
    assert.equal(stored[0]?.requests, 2);
    assert.equal(stored[0]?.promptTokens, 20);
    const grouped = groupUsage(stored, ["model"]);
    assert.deepEqual(grouped, [
      { model: "llama", requests: 2, errors: 0, promptTokens: 20, completionTokens: 10 },
    ]);
  });

  it("SQLite rows add up across flushes and give a month's tokens", async () => {
    const db = join(mkdtempSync(join(tmpdir(), "inferplane-usage-")), "u.db");
    const s = new SqliteUsage(db);
    const hour = Date.UTC(2026, 10, 3, 10) / 1000;
    const row = {
      hour,
      key: "k",
      route: "r",
      model: "m",
      requests: 1,
      errors: 1,
      promptTokens: 3,
      completionTokens: 4,
    };
    await s.add([row]);
    await s.add([row]);
    const rows = await s.query(hour, hour + 3600);
    assert.equal(rows[0]?.requests, 2);
    assert.equal(s.monthTokens("k", "2026-11"), 14);
    assert.equal(s.monthTokens("k", "2026-12"), 0);
    await s.close();
  });
});

describe("inferplane keys and usage (CLI, SQLite store)", () => {
  it("create prints the key once; list never shows it; revoke and rotate by id; --spec-entry stores nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "inferplane-keys-cli-"));
    const file = join(dir, "inferplane.yaml");
    writeFileSync(
      file,
      `apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: cli}
models:
  - {name: llama, source: hf://meta-llama/Llama-3.1-8B-Instruct, endpoints: ["http://127.0.0.1:9"]}
routes:
  - {name: chat-small, targets: [{model: llama}]}
gateway:
  auth: {mode: keys, sqlitePath: ${join(dir, "gw.db")}}
`,
    );
    const run = async (...args: string[]) => {
      let out = "";
      let err = "";
      const code = await main(["node", "inferplane", ...args], {
        out: (t) => {
          out += `${t}\n`;
        },
        err: (t) => {
          err += t;
        },
        isTTY: false,
      });
      return { code, out, err };
    };
    const created = await run(
      "keys",
      "create",
      "-c",
      file,
      "--name",
      "team-a",
      "--models",
      "chat-*,embed",
      "--collections",
      "kb",
      "--rpm",
      "600",
      "--tpm",
      "200000",
      "--budget-tokens",
      "50M/month",
      "--json",
    );
    assert.equal(created.code, 0, created.err);
    const c = JSON.parse(created.out) as {
      key: string;
      id: string;
      models: string[];
      budgetTokens: number;
      hash?: string;
    };
    assert.deepEqual(c.models, ["chat-*", "embed"]);
    assert.equal(c.budgetTokens, 50_000_000);
    assert.equal(c.hash, undefined);
    const listed = await run("keys", "list", "-c", file);
    assert.match(listed.out, /team-a\s+chat-\*,embed\s+kb\s+600\s+200000\s+50000000/);
    assert.ok(!listed.out.includes(parseKey(c.key)?.secret as string), "the secret is never listed");
    const rotated = await run("keys", "rotate", c.id, "-c", file, "--json");
    assert.notEqual((JSON.parse(rotated.out) as { key: string }).key, c.key);
    assert.equal((await run("keys", "revoke", c.id, "-c", file)).code, 0);
    assert.match((await run("keys", "list", "-c", file, "--json")).out, /"revokedAt"/);
    const missing = await run("keys", "revoke", "nosuchkey1", "-c", file);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /key_not_found/);
    const bad = await run("keys", "create", "-c", file, "--name", "x", "--rpm", "lots");
    assert.equal(bad.code, 2);
    const entry = await run("keys", "create", "-c", file, "--name", "gitops", "--spec-entry", "--json");
    const e = JSON.parse(entry.out) as { key: string; entry: { hash: string } };
    assert.ok(verifySecret(parseKey(e.key)?.secret ?? "", e.entry.hash));
    assert.doesNotMatch((await run("keys", "list", "-c", file)).out, /gitops/, "--spec-entry stores nothing");
    const usage = await run("usage", "-c", file, "--group-by", "key,day", "--json");
    assert.equal(usage.code, 0, usage.err);
    assert.deepEqual((JSON.parse(usage.out) as { data: unknown[] }).data, []);
    assert.equal((await run("usage", "-c", file, "--group-by", "colour")).code, 2);
  });
});
