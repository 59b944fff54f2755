// What the client hears when upstreams fail, through the whole gateway against scriptable
// loopback upstreams: an upstream's 429 keeps its status and Retry-After, a 5xx its status and
// message (never "no healthy upstream"), a refused connection its reason; a 501 is not retried
// and ejects nothing; every answer carries x-request-id; the access log always names a pool.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { type GatewayHandle, startGateway } from "../../../src/gateway/server.js";
import { parseSpec } from "../../../src/spec/load.js";
import { createLogger } from "../../../src/telemetry/logger.js";
import { closedPort, type FakeUpstream, startFakeUpstream } from "../upstream/helpers.js";

const CHAT = "/v1/chat/completions";
const json = "application/json";

function spec(models: { name: string; urls: string[] }[], routes: string): string {
  return `apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
${models.map((m) => `  - name: ${m.name}\n    source: hf://meta-llama/Llama-3.1-8B-Instruct\n    servedModelName: m\n    endpoints: [${m.urls.map((u) => `"${u}"`).join(", ")}]`).join("\n")}
routes:
${routes}
gateway:
  retries: {attempts: 3, backoff: 1ms}
  outlierDetection: {consecutive5xx: 1, interval: 60s, maxEjectionPercent: 100}
`;
}

async function ask(gw: GatewayHandle, model: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.url}${CHAT}`, {
    method: "POST",
    headers: { "content-type": json, ...headers },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 4 }),
  });
  return { res, body: (await res.json()) as { error?: { message: string; code: string } } };
}

describe("upstream failures reach the client as they were", () => {
  const ups: FakeUpstream[] = [];
  const lines: Record<string, unknown>[] = [];
  let gw: GatewayHandle;
  let dead: string;

  before(async () => {
    for (let i = 0; i < 5; i++) ups.push(await startFakeUpstream());
    const [limited, broken, unsupported, limitedToo, fine] = ups as [
      FakeUpstream,
      FakeUpstream,
      FakeUpstream,
      FakeUpstream,
      FakeUpstream,
    ];
    limited.set(CHAT, {
      status: 429,
      body: '{"error":{"message":"slow down","type":"rate_limit","code":"429"}}',
      headers: { "retry-after": "7" },
      contentType: json,
    });
    limitedToo.set(CHAT, { status: 429, body: "busy", headers: { "retry-after": "3" } });
    broken.set(CHAT, {
      status: 500,
      body: '{"error":{"message":"CUDA out of memory","type":"server_error"}}',
      contentType: json,
    });
    unsupported.set(CHAT, {
      status: 501,
      body: '{"error":{"message":"tools are not supported","type":"server_error"}}',
      contentType: json,
    });
    fine.set(CHAT, {
      status: 200,
      body: '{"id":"x","object":"chat.completion","model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}',
      contentType: json,
    });
    dead = `http://127.0.0.1:${await closedPort()}`;
    const { platform } = parseSpec(
      spec(
        [
          { name: "limited", urls: [limited.url, limitedToo.url] },
          { name: "broken", urls: [broken.url] },
          { name: "unsupported", urls: [unsupported.url] },
          { name: "dead", urls: [dead] },
          { name: "deadthenbroken", urls: [dead, broken.url] },
          { name: "fine", urls: [fine.url] },
        ],
        ["limited", "broken", "unsupported", "dead", "deadthenbroken", "fine"]
          .map((n) => `  - name: ${n}\n    targets: [{model: ${n}}]`)
          .join("\n"),
      ),
    );
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).split("\n"))
          if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    gw = await startGateway(platform, {
      host: "127.0.0.1",
      port: 0,
      logger: createLogger({ level: "info", format: "json", destination: sink }),
    });
  });
  after(async () => {
    await gw?.close();
    await Promise.all(ups.map((u) => u.close()));
  });

  it("429 from every endpoint: 429 with the last one's Retry-After", async () => {
    const { res, body } = await ask(gw, "limited");
    assert.equal(res.status, 429);
    assert.ok(["7", "3"].includes(res.headers.get("retry-after") ?? ""), "Retry-After relayed");
    assert.ok(body.error, "an OpenAI error body");
    const tried = ups.slice(0, 4).filter((u, i) => (i === 0 || i === 3) && u.requests.length > 0);
    assert.equal(tried.length, 2, "both replicas were tried before answering");
  });

  it("a 5xx from the only replica: its status and message, not no_healthy_upstream", async () => {
    const { res, body } = await ask(gw, "broken");
    assert.equal(res.status, 500);
    assert.equal(body.error?.message, "CUDA out of memory");
  });

  it("refused, then a 5xx on the next replica: the 5xx is the last real error", async () => {
    const { res, body } = await ask(gw, "deadthenbroken");
    assert.equal(res.status, 500);
    assert.equal(body.error?.message, "CUDA out of memory");
  });

  it("a refused connection keeps its reason", async () => {
    const { res, body } = await ask(gw, "dead");
    assert.equal(res.status, 502);
    assert.equal(body.error?.code, "upstream_error");
    assert.match(body.error?.message ?? "", /ECONNREFUSED/);
  });

  it("501 is relayed at once, not retried, and ejects nothing", async () => {
    const up = ups[2] as FakeUpstream;
    const before = up.requests.length;
    const { res, body } = await ask(gw, "unsupported");
    assert.equal(res.status, 501);
    assert.match(body.error?.message ?? "", /not supported/);
    assert.equal(up.requests.length - before, 1, "one attempt");
    const ep = gw.pools.get("unsupported")?.endpoints[0];
    assert.equal(ep?.ejectedUntil, 0, "not ejected");
    assert.equal(ep?.consecutiveFailures, 0, "not counted as a failure");
  });

  it("every answer carries x-request-id; a sane incoming one is kept, a bad one replaced", async () => {
    const ok = await ask(gw, "fine", { "x-request-id": "req-42" });
    assert.equal(ok.res.status, 200);
    assert.equal(ok.res.headers.get("x-request-id"), "req-42");
    assert.equal((ok.body as { model?: string }).model, "fine", "the asked name, not the served one");
    const bad = await ask(gw, "nope", { "x-request-id": "bad id with spaces" });
    assert.equal(bad.res.status, 404);
    assert.match(bad.res.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
    const refused = await ask(gw, "dead");
    assert.ok(refused.res.headers.get("x-request-id"));
    const invalid = await fetch(`${gw.url}${CHAT}`, {
      method: "POST",
      headers: { "content-type": json },
      body: "[1]",
    });
    assert.ok(invalid.headers.get("x-request-id"), "a refused body too");
  });

  it("the access log never shows an empty pool", async () => {
    await ask(gw, "dead");
    await ask(gw, "fine");
    const access = lines.filter((l) => l.msg === "request");
    assert.ok(access.length >= 5);
    for (const l of access) assert.notEqual(l.pool, "", JSON.stringify(l));
    const deadLine = access.find((l) => l.route === "dead");
    assert.equal(deadLine?.pool, "dead", "a failed request names the pool it tried");
    assert.ok(access.every((l) => typeof l.request_id === "string"));
  });
});
