// Error codes that only a real request produces, asserted through the gateway's public behaviour:
// a gateway in front of simulator replicas, plain HTTP, the OpenAI error body on the wire.
import assert from "node:assert/strict";
import { createConnection } from "node:net";
import { after, describe, it } from "node:test";
import { ERRORS } from "../src/errors.js";
import { type GatewayHandle, startGateway } from "../src/gateway/server.js";
import { type SimServerHandle, startSimServer } from "../src/sim/server.js";
import { parseSpec } from "../src/spec/load.js";

interface OpenAIError {
  error: { message: string; type: string; code: string; param: string | null };
}

function spec(model: string, endpoint: string, gateway: string) {
  return parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - name: ${model}
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    servedModelName: m
    endpoints: ["${endpoint}"]
routes:
  - name: chat
    targets: [{model: ${model}}]
gateway:
${gateway}
`).platform;
}

const chat = (url: string, signal?: AbortSignal) =>
  fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }], max_tokens: 4 }),
    signal,
  });

/** Waits for a state the test set up (bounded: a broken setup fails, never hangs). */
async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), `never reached: ${what}`);
}

async function expectError(res: Response, code: keyof typeof ERRORS): Promise<void> {
  const body = (await res.json()) as OpenAIError;
  assert.equal(body.error.code, code, body.error.message);
  assert.equal(res.status, ERRORS[code].status);
  assert.equal(body.error.type, ERRORS[code].type);
}

/** Sends `text` on a raw connection and reads until the server closes it: status and JSON body. */
function rawExchange(url: string, text: string): Promise<{ status: number; body: OpenAIError }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: hostname, port: Number(port) }, () => sock.write(text));
    let data = "";
    sock.setEncoding("utf8");
    sock.on("data", (c: string) => {
      data += c;
    });
    sock.on("error", reject);
    sock.on("close", () => {
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1]);
      try {
        resolve({ status, body: JSON.parse(data.slice(data.indexOf("\r\n\r\n") + 4)) as OpenAIError });
      } catch (err) {
        reject(new Error(`not an error response: ${JSON.stringify(data)} (${(err as Error).message})`));
      }
    });
  });
}

describe("error codes produced by real requests", () => {
  const sims: SimServerHandle[] = [];
  const gateways: GatewayHandle[] = [];
  after(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await Promise.all(sims.map((s) => s.stop()));
  });

  it("uri_too_long: a URL longer than gateway.http.maxUrlBytes is answered 414 and the gateway keeps serving", async () => {
    const sim = await startSimServer({ model: "llama-3.1-8b", servedModelName: "m" });
    sims.push(sim);
    const gw = await startGateway(spec("llama", sim.url, "  http: {maxUrlBytes: 256}"), {
      host: "127.0.0.1",
      port: 0,
      log: () => {},
    });
    gateways.push(gw);
    await expectError(await fetch(`${gw.url}/v1/models?pad=${"x".repeat(300)}`), "uri_too_long");
    const ok = await chat(gw.url);
    assert.equal(ok.status, 200, await ok.text());
  });

  it("upstream_timeout: an upstream that never answers is cut at the first-byte timeout with 504", async () => {
    const sim = await startSimServer({
      model: "llama-3.1-8b",
      servedModelName: "m",
      faults: { hangRate: 1 },
    });
    sims.push(sim);
    const gw = await startGateway(
      spec("llama", sim.url, "  timeouts: {firstByte: 300ms, total: 20s}\n  retries: {attempts: 0}"),
      { host: "127.0.0.1", port: 0, log: () => {} },
    );
    gateways.push(gw);
    await expectError(await chat(gw.url), "upstream_timeout");
  });

  it("shutting_down: a request queued in a pool that a reload removes is answered 503", async () => {
    const sim = await startSimServer({
      model: "llama-3.1-8b",
      servedModelName: "m",
      faults: { hangRate: 1 },
    });
    sims.push(sim);
    const gw = await startGateway(
      spec("llama", sim.url, "  maxInFlightPerEndpoint: 1\n  timeouts: {firstByte: 20s, total: 30s}"),
      { host: "127.0.0.1", port: 0, log: () => {} },
    );
    gateways.push(gw);
    const pool = gw.pools.get("llama");
    assert.ok(pool);
    // The first request holds the only slot (its upstream never answers); the second waits in the queue.
    const holder = new AbortController();
    const first = chat(gw.url, holder.signal).catch(() => undefined);
    await until("the first request in flight", () => (pool.endpoints[0]?.inFlight ?? 0) >= 1);
    const queued = chat(gw.url);
    await until("the second request queued", () => pool.queued >= 1);
    gw.reload(spec("other", sim.url, "  maxInFlightPerEndpoint: 1"));
    await expectError(await queued, "shutting_down");
    holder.abort();
    await first;
  });
  /** A gateway in front of one simulator replica, with `gateway` as its gateway section. */
  async function gatewayWith(gateway: string): Promise<GatewayHandle> {
    const sim = await startSimServer({ model: "llama-3.1-8b", servedModelName: "m" });
    sims.push(sim);
    const gw = await startGateway(spec("llama", sim.url, gateway), {
      host: "127.0.0.1",
      port: 0,
      log: () => {},
    });
    gateways.push(gw);
    return gw;
  }

  it("headers_too_large: headers beyond gateway.http.maxHeaderBytes are answered 431 and the gateway keeps serving", async () => {
    const gw = await gatewayWith("  http: {maxHeaderBytes: 2048}");
    const res = await fetch(`${gw.url}/v1/models`, { headers: { "x-pad": "x".repeat(4096) } });
    await expectError(res, "headers_too_large");
    assert.equal((await chat(gw.url)).status, 200);
  });

  it("request_timeout: a client that never finishes its headers is answered 408 after headersTimeout", async () => {
    const gw = await gatewayWith("  http: {headersTimeout: 300ms, requestTimeout: 2s}");
    const started = Date.now();
    const r = await rawExchange(gw.url, "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n");
    assert.equal(r.status, ERRORS.request_timeout.status);
    assert.equal(r.body.error.code, "request_timeout");
    assert.ok(Date.now() - started < 5_000);
    assert.equal((await chat(gw.url)).status, 200);
  });

  it("request_too_large: a body beyond gateway.maxRequestBytes is answered 413", async () => {
    const gw = await gatewayWith("  maxRequestBytes: 1024");
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "x".repeat(4096) }] }),
    });
    await expectError(res, "request_too_large");
    assert.equal((await chat(gw.url)).status, 200);
  });
});
