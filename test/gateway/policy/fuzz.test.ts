// Malformed input against a gateway process with keys on: truncated and deeply nested JSON,
// wrong types, huge strings, invalid UTF-8, 10 MB bodies, trickled bodies, bad headers and
// request lines. Every answer must be a 4xx with an OpenAI-shaped JSON error; the process must
// not crash and its resident memory must stay within 50 MB of where it started.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { generateKey } from "../../../src/gateway/policy/keys.js";
import { rng } from "../../../src/sim/model/workload.js";
import { type SimServerHandle, startSimServer } from "../../../src/sim/server.js";
import { type GatewayProcess, startGatewayProcess } from "./processes.js";
import { type RawResponse, rawRequest, request } from "./raw-http.js";
import { ADMIN_TOKEN, PROMPT_CANARY } from "./test-logs.js";

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

interface Case {
  kind: string;
  bytes: Buffer | ((s: import("node:net").Socket) => Promise<void>);
  /** The parameter a 400 must name, when the case is a wrong type. */
  param?: string;
}

describe("fuzzing the gateway with malformed requests", () => {
  let sim: SimServerHandle | undefined;
  let gw: GatewayProcess | undefined;
  after(async () => {
    await gw?.stop();
    await sim?.stop();
  });

  it("≥ 5,000 malformed requests: no crash, every answer a 4xx JSON error, RSS within 50 MB", async (t) => {
    sim = await startSimServer({ model: "llama-3.1-8b", gpu: "H100-80GB", speed: 50 });
    const k = generateKey();
    const dir = mkdtempSync(join(tmpdir(), "inferplane-fuzz-"));
    const file = join(dir, "inferplane.yaml");
    writeFileSync(
      file,
      `apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: fuzz}
models:
  - name: llama
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    servedModelName: ${sim.servedModelName}
    endpoints: ["${sim.url}"]
routes:
  - name: chat
    targets: [{model: llama}]
gateway:
  replicas: 1
  auth:
    mode: keys
    sqlitePath: ${join(dir, "gw.db")}
    keys: [{name: fuzz, hash: "${k.hash}", rpm: 100000}]
  http: {headersTimeout: 1s, requestTimeout: 2s}
`,
    );
    gw = await startGatewayProcess("policy-fuzz", file, { INFERPLANE_ADMIN_TOKEN: ADMIN_TOKEN });
    const port = Number(new URL(gw.url).port);
    const pid = gw.child.pid as number;
    const auth = { authorization: `Bearer ${k.key}`, "content-type": "application/json" };
    const post = (
      body: Buffer | string,
      headers: Record<string, string> = auth,
      path = "/v1/chat/completions",
    ) => request("POST", path, headers, body);
    const valid = JSON.stringify({
      model: "chat",
      messages: [{ role: "user", content: `tell me about ${PROMPT_CANARY}` }],
      max_tokens: 3,
    });

    // Warm up (JIT, pools) with valid requests, then take the baseline.
    // Valid traffic first, at the fuzz's concurrency, so the heap has grown to serving size.
    await Promise.all(
      [0, 1, 2, 3].map(async () => {
        for (let i = 0; i < 100; i++) {
          const r = await rawRequest(port, (s) => void s.write(post(valid)));
          assert.equal(r?.status, 200, r?.body);
        }
      }),
    );
    await sleep(500);
    const rss0 = rssMb(pid);
    let rssMax = rss0;

    const rand = rng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const wrongTypes: [string, unknown[]][] = [
      ["model", [42, null, true, [], {}, ["chat"], ""]],
      ["messages", ["hi", 3, {}, null, true]],
      ["stream", ["yes", 1, 0, [], {}]],
      ["max_tokens", ["10", -1, 0, 1.5, [], {}, true]],
      ["stream_options", ["x", 1, []]],
      ["user", [1, [], {}]],
    ];
    const cases: Case[] = [];
    const add = (n: number, make: () => Case) => {
      for (let i = 0; i < n; i++) cases.push(make());
    };
    // Truncated JSON: a valid body cut short.
    add(1200, () => ({
      kind: "truncated",
      bytes: post(valid.slice(0, Math.floor(rand() * (valid.length - 1)))),
    }));
    // Deeply nested JSON, in a field and as the whole body.
    add(400, () => {
      const depth = 65 + Math.floor(rand() * 50_000);
      const nest = `${"[".repeat(depth)}${"]".repeat(depth)}`;
      return {
        kind: "nested",
        bytes: post(
          rand() < 0.5
            ? `{"model":"chat","messages":[],"extra":${nest}}`
            : `{"a":${'{"a":'.repeat(depth)}1${"}".repeat(depth + 1)}`,
        ),
      };
    });
    // Wrong types on the fields the gateway reads; the 400 names the parameter.
    add(1200, () => {
      const [field, values] = pick(wrongTypes);
      const body: Record<string, unknown> = JSON.parse(valid) as Record<string, unknown>;
      body[field] = pick(values);
      if (field === "model" && body.model === "")
        return { kind: "wrong-type", bytes: post(JSON.stringify(body)), param: "model" };
      return { kind: "wrong-type", bytes: post(JSON.stringify(body)), param: field };
    });
    add(300, () => {
      const path = pick(["/v1/embeddings", "/v1/completions"]);
      const body =
        path === "/v1/embeddings"
          ? { model: "chat", input: pick([1, null, {}, [], [{}], true]) }
          : { model: "chat", prompt: pick([1, null, {}, true]) };
      return {
        kind: "wrong-type",
        bytes: post(JSON.stringify(body), auth, path),
        param: path === "/v1/embeddings" ? "input" : "prompt",
      };
    });
    // Huge strings where a small value belongs.
    add(100, () => {
      const huge = "x".repeat(100_000 + Math.floor(rand() * 500_000));
      const field = pick(["stream", "max_tokens", "user_messages"]);
      const body =
        field === "user_messages"
          ? `{"model":"chat","messages":"${huge}"}`
          : `{"model":"chat","messages":[],"${field}":"${huge}"}`;
      return {
        kind: "huge-string",
        bytes: post(body),
        param: field === "user_messages" ? "messages" : field,
      };
    });
    // Invalid UTF-8 inside otherwise valid JSON.
    add(800, () => {
      const bad = pick([
        [0xff],
        [0xc3],
        [0xe2, 0x28, 0xa1],
        [0xf0, 0x28, 0x8c, 0x28],
        [0xed, 0xa0, 0x80],
        [0xc0, 0xaf],
      ]);
      const at = valid.indexOf("tell me");
      const b = Buffer.concat([
        Buffer.from(valid.slice(0, at)),
        Buffer.from(bad),
        Buffer.from(valid.slice(at)),
      ]);
      return { kind: "invalid-utf8", bytes: post(b) };
    });
    // Random byte damage at structural positions (quotes, braces, colons), never inside plain text.
    add(600, () => {
      const b = Buffer.from(valid);
      const structural = [...b.keys()].filter((i) => '{}[]:,"'.includes(String.fromCharCode(b[i] as number)));
      const i = pick(structural);
      b[i] =
        pick([0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x2c, 0x23, 0x00]) === b[i]
          ? 0x23
          : pick([0x23, 0x00, 0x40, 0x27]);
      return { kind: "mutated", bytes: post(b) };
    });
    // Bad headers and request lines.
    const badHeads: (() => Buffer)[] = [
      () =>
        Buffer.from(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(20_000)}\r\n\r\n`),
      () =>
        Buffer.from(
          `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${"k".repeat(40_000)}\r\n\r\n`,
        ),
      () => Buffer.from("GARBAGE\r\n\r\n"),
      () => Buffer.from("POST /v1/chat/completions HTTP/9.9\r\n\r\n"),
      () => Buffer.from("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: abc\r\n\r\n"),
      () =>
        Buffer.from(
          "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello",
        ),
      () => Buffer.from("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: bogus\r\n\r\n"),
      () => Buffer.from("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nbad header line\r\n\r\n"),
      () => Buffer.from("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nx-ctl: a\u0001b\r\n\r\n", "latin1"),
      () => request("GET", `/v1/models?${"q".repeat(10_000)}`, {}),
      () => post(valid, { authorization: `Bearer ${k.key}`, "content-type": "text/plain" }),
      () => post(valid, { authorization: `Bearer ${k.key}` }),
      () => post(valid, { "content-type": "application/json", authorization: "Basic Zm9vOmJhcg==" }),
      () => post(valid, { "content-type": "application/json", authorization: "Bearer ipk_short_x" }),
      () => post(valid, { "content-type": "application/json" }),
      () => post("", auth),
      () => post("[1,2,3]", auth),
      () => post('"just a string"', auth),
    ];
    add(500, () => ({ kind: "bad-header", bytes: pick(badHeads)() }));

    // Interleave the kinds (Fisher–Yates with the seeded generator).
    for (let i = cases.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [cases[i], cases[j]] = [cases[j] as Case, cases[i] as Case];
    }
    const results: { kind: string; r: RawResponse | undefined; param?: string }[] = [];
    const run = async (list: Case[], concurrency: number, timeoutMs = 10_000) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < list.length) {
            const c = list[next++] as Case;
            const bytes = c.bytes;
            const r = await rawRequest(
              port,
              (s) => (typeof bytes === "function" ? bytes(s) : void s.write(bytes)),
              timeoutMs,
            );
            results.push({ kind: c.kind, r, ...(c.param ? { param: c.param } : {}) });
            if (results.length % 250 === 0) rssMax = Math.max(rssMax, rssMb(pid));
          }
        }),
      );
    };
    await run(cases, 4);
    t.diagnostic(`RSS after the main phase: ${rssMb(pid).toFixed(1)} MB`);

    // 10 MB bodies: announced (content-length) and unannounced (chunked), two at a time.
    const ten = Buffer.alloc(10 * 1024 * 1024, 0x61);
    const big: Case[] = [];
    for (let i = 0; i < 12; i++) {
      big.push({
        kind: "10MB",
        bytes: post(Buffer.concat([Buffer.from('{"model":"chat","messages":"'), ten, Buffer.from('"}')])),
      });
      big.push({
        kind: "10MB-chunked",
        bytes: async (s) => {
          s.write(
            `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Bearer ${k.key}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`,
          );
          for (let off = 0; off < ten.length && !s.destroyed; off += 1024 * 1024) {
            s.write(`${(1024 * 1024).toString(16)}\r\n`);
            s.write(ten.subarray(off, off + 1024 * 1024));
            s.write("\r\n");
            await sleep(1);
          }
          if (!s.destroyed) s.write("0\r\n\r\n");
        },
      });
    }
    await run(big, 2);
    rssMax = Math.max(rssMax, rssMb(pid));
    t.diagnostic(`RSS after 10 MB bodies: ${rssMb(pid).toFixed(1)} MB`);

    // Slowly trickled bodies and headers (slowloris): the server cuts them off with a 408.
    const slow: Case[] = [];
    for (let i = 0; i < 16; i++) {
      slow.push({
        kind: "trickle-body",
        bytes: async (s) => {
          s.write(
            `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${k.key}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n`,
          );
          for (let j = 0; j < 40 && !s.destroyed; j++) {
            s.write("{");
            await sleep(200);
          }
        },
      });
      slow.push({
        kind: "trickle-headers",
        bytes: async (s) => {
          s.write("POST /v1/chat/completions HTTP/1.1\r\n");
          for (let j = 0; j < 40 && !s.destroyed; j++) {
            s.write(`x-h${j}: a\r\n`);
            await sleep(200);
          }
        },
      });
    }
    await run(slow, 32, 15_000);
    rssMax = Math.max(rssMax, rssMb(pid));

    const byKind = new Map<string, Map<number, number>>();
    const failures: string[] = [];
    for (const { kind, r, param } of results) {
      const m = byKind.get(kind) ?? new Map<number, number>();
      byKind.set(kind, m);
      m.set(r?.status ?? 0, (m.get(r?.status ?? 0) ?? 0) + 1);
      if (!r) {
        failures.push(`${kind}: no answer`);
        continue;
      }
      if (r.status < 400 || r.status > 499)
        failures.push(`${kind}: status ${r.status} ${r.body.slice(0, 200)}`);
      let e: { error?: { message?: unknown; type?: unknown; code?: unknown; param?: unknown } } | undefined;
      try {
        e = JSON.parse(r.body) as typeof e;
      } catch {
        failures.push(`${kind}: ${r.status} body is not JSON: ${r.body.slice(0, 100)}`);
        continue;
      }
      if (
        typeof e?.error?.message !== "string" ||
        typeof e.error.type !== "string" ||
        typeof e.error.code !== "string"
      ) {
        failures.push(`${kind}: not an OpenAI error body: ${r.body.slice(0, 200)}`);
      }
      if (!String(r.headers["content-type"]).startsWith("application/json"))
        failures.push(`${kind}: content-type ${r.headers["content-type"]}`);
      if (param !== undefined && r.status === 400 && e?.error?.param !== param) {
        failures.push(`${kind}: 400 names ${String(e?.error?.param)}, expected ${param}`);
      }
    }
    for (const [kind, m] of byKind)
      t.diagnostic(`${kind}: ${[...m].map(([s, n]) => `${n}× ${s}`).join(", ")}`);
    const rss1 = rssMb(pid);
    rssMax = Math.max(rssMax, rss1);
    t.diagnostic(
      `${results.length} malformed requests; RSS start ${rss0.toFixed(1)} MB, max ${rssMax.toFixed(1)} MB, end ${rss1.toFixed(1)} MB`,
    );
    assert.ok(results.length >= 5000, `${results.length} requests`);
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} bad answers`);
    assert.equal(gw.child.exitCode, null, "the gateway is still running");
    assert.ok(rssMax - rss0 <= 50, `RSS grew ${(rssMax - rss0).toFixed(1)} MB`);
    const ok = await rawRequest(port, (s) => void s.write(post(valid)));
    assert.equal(ok?.status, 200, "and it still serves valid requests");
  });
});
