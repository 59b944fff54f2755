// The request-path layers one at a time, each around a scripted inner handler, on real loopback
// HTTP responses: composition order, the fallback chain with retries inside a pool (free after
// a refused connection, counted and budgeted otherwise), the total timeout, and the streaming
// relay with a token meter.
import assert from "node:assert/strict";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { adapterForPool } from "../../../src/engines/index.js";
import { InferplaneError } from "../../../src/errors.js";
import type { StreamMeter } from "../../../src/gateway/meter.js";
import { type Attempt, Exchange } from "../../../src/gateway/proxy/exchange.js";
import type { Failure } from "../../../src/gateway/proxy/failure.js";
import { fallbackChain } from "../../../src/gateway/proxy/fallback.js";
import { type AttemptResult, compose, type Handler } from "../../../src/gateway/proxy/layers.js";
import { relayStream } from "../../../src/gateway/proxy/relay.js";
import { RetryBudget } from "../../../src/gateway/proxy/retry-budget.js";
import { totalTimeout } from "../../../src/gateway/proxy/timeouts.js";
import { createBalancer } from "../../../src/gateway/routing/balancers/index.js";
import { Router } from "../../../src/gateway/routing/router.js";
import type { PoolInfo } from "../../../src/gateway/types.js";
import { readableBody } from "../../../src/gateway/upstream/body.js";
import { DEFAULT_LIMITS, UpstreamPool } from "../../../src/gateway/upstream/pool.js";
import { parseSpec } from "../../../src/spec/load.js";

/** A loopback server whose every request runs `handler` on a fresh exchange. */
async function serve(
  handler: (res: ServerResponse) => Promise<void>,
): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => void handler(res));
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function exchange(res: ServerResponse, body: Record<string, unknown> = { model: "chat" }): Exchange {
  return new Exchange("chat", body, {}, res, performance.now(), "rid");
}

const platform = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - {name: a, source: hf://meta-llama/Llama-3.1-8B-Instruct, endpoints: ["http://a1", "http://a2", "http://a3"]}
  - {name: b, source: hf://meta-llama/Llama-3.1-8B-Instruct, endpoints: ["http://b1", "http://b2"]}
routes:
  - {name: chat, targets: [{model: a}], fallbacks: [spare]}
  - {name: spare, targets: [{model: b}]}
`).platform;

function pools(): Map<string, UpstreamPool> {
  const m = new Map<string, UpstreamPool>();
  for (const model of platform.models) {
    const info: PoolInfo = { name: model.name, engine: "vllm", upstreamModel: "m" };
    const p = new UpstreamPool(info, createBalancer("round-robin"), adapterForPool(info), DEFAULT_LIMITS);
    p.setEndpoints(model.endpoints);
    m.set(model.name, p);
  }
  return m;
}

const refused = (): Failure => ({
  kind: "refused",
  error: new InferplaneError("upstream_error", "ECONNREFUSED"),
});
const answer = (status: number, body = "{}", retryAfter?: string): Failure => ({
  kind: "answer",
  answer: { status, body: Buffer.from(body), ...(retryAfter ? { retryAfter } : {}) },
});

/** The chain over scripted attempts: `script(ep)` says what each endpoint does. */
function chainWith(
  script: (a: Attempt) => AttemptResult,
  opts: { retries?: number; budget?: RetryBudget } = {},
) {
  const router = new Router(platform);
  const tried: string[] = [];
  const p = pools();
  const handler: Handler = async (ex) => {
    ex.route = router.resolve("chat");
    await fallbackChain(
      () => ({
        router,
        pools: p,
        budget: opts.budget ?? new RetryBudget(20),
        retries: opts.retries ?? 1,
        backoffMs: 1,
        isContextLength: () => false,
      }),
      async (ex2, a) => {
        tried.push(a.ep.url);
        const r = script(a);
        a.pool.release(a.ep);
        if (r.kind === "done") ex2.res.end("ok");
        return r;
      },
    )(ex);
  };
  return { handler, tried };
}

describe("request-path layers", () => {
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });
  async function run(h: Handler, body?: Record<string, unknown>) {
    const { url, server } = await serve((res) => h(exchange(res, body)));
    servers.push(server);
    const res = await fetch(url);
    return { status: res.status, text: await res.text(), headers: res.headers };
  }

  it("compose: the first layer is the outermost", async () => {
    const order: string[] = [];
    const layer = (name: string) => (next: Handler) => async (ex: Exchange) => {
      order.push(`${name}>`);
      await next(ex);
      order.push(`<${name}`);
    };
    await compose<Handler>(
      async (ex) => {
        order.push("core");
        ex.res.end();
      },
      layer("a"),
      layer("b"),
    )(exchange({ end() {} } as unknown as ServerResponse));
    assert.deepEqual(order, ["a>", "b>", "core", "<b", "<a"]);
  });

  it("refused connections are free: every endpoint of the pool and of the fallback is tried, then the last reason", async () => {
    const { handler, tried } = chainWith(() => ({ kind: "failed", failure: refused() }), { retries: 0 });
    const r = await run(handler);
    assert.deepEqual(tried.sort(), ["http://a1", "http://a2", "http://a3", "http://b1", "http://b2"]);
    assert.equal(r.status, 502);
    assert.match(r.text, /ECONNREFUSED/);
  });

  it("5xx retries are counted per pool: attempts + 1 per pool, then the fallback", async () => {
    const { handler, tried } = chainWith(
      () => ({ kind: "failed", failure: answer(500, '{"error":{"message":"boom"}}') }),
      { retries: 1 },
    );
    const r = await run(handler);
    assert.equal(tried.filter((u) => u.includes("//a")).length, 2);
    assert.equal(tried.filter((u) => u.includes("//b")).length, 2);
    assert.equal(r.status, 500);
    assert.match(r.text, /boom/);
  });

  it("an empty budget stops retrying and relays the last real failure", async () => {
    const budget = new RetryBudget(0, 0);
    const { handler, tried } = chainWith(() => ({ kind: "failed", failure: answer(429, "busy", "9") }), {
      budget,
      retries: 5,
    });
    const r = await run(handler);
    assert.equal(tried.length, 1);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get("retry-after"), "9");
  });

  it("a success on the fallback ends the chain", async () => {
    const { handler, tried } = chainWith((a) =>
      a.pool.info.name === "b" ? { kind: "done", healthy: true } : { kind: "failed", failure: refused() },
    );
    const r = await run(handler);
    assert.equal(r.text, "ok");
    assert.equal(tried.length, 4, "three refused in a, one success in b");
  });

  it("a 4xx is relayed at once", async () => {
    const { handler, tried } = chainWith(() => ({
      kind: "failed",
      failure: answer(400, '{"error":{"message":"bad"}}'),
    }));
    const r = await run(handler);
    assert.equal(tried.length, 1);
    assert.equal(r.status, 400);
  });

  it("the total timeout cancels the exchange and answers 504", async () => {
    const h = compose<Handler>(
      (ex) =>
        new Promise<void>((done) =>
          ex.signal.once("abort", () => {
            const reason = ex.signal.reason as InferplaneError;
            ex.res.writeHead(reason.def.status).end(reason.code);
            done();
          }),
        ),
      totalTimeout(() => 30),
    );
    const r = await run(h);
    assert.equal(r.status, 504);
    assert.equal(r.text, "upstream_timeout");
  });
});

async function* sse(events: string[]): AsyncIterable<Buffer> {
  for (const e of events) yield Buffer.from(e);
}

function tokenEvent(text: string): string {
  return `data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"${text}"}}]}\n\n`;
}

describe("streaming relay", () => {
  let url = "";
  let server: Server;
  let meter: StreamMeter | undefined;
  let last: Exchange | undefined;
  let events: string[] = [];
  before(async () => {
    ({ url, server } = await serve(async (res) => {
      const ex = exchange(res, { model: "chat", messages: [{ role: "user", content: "12345678" }] });
      ex.askedModel = "chat";
      ex.stream = true;
      ex.meter = meter;
      last = ex;
      const info: PoolInfo = { name: "a", engine: "vllm", upstreamModel: "m" };
      const pool = new UpstreamPool(info, createBalancer("round-robin"), adapterForPool(info));
      pool.setEndpoints(["http://a1"]);
      const route = new Router(platform).resolve("chat");
      assert.ok(route);
      await relayStream(
        ex,
        { route, pool, ep: pool.endpoints[0] as never, kind: "first" },
        { upstream: readableBody(Readable.from(sse(events))), stripUsage: true },
        {
          observeOverhead() {},
          observeTtft() {},
          onFirstToken() {},
        },
      );
    }));
  });
  after(() => server.close());

  it("without a usage chunk the gateway counts the tokens itself; the model is the asked name", async () => {
    meter = undefined;
    events = [tokenEvent("a"), tokenEvent("b"), tokenEvent("c"), "data: [DONE]\n\n"];
    const text = await (await fetch(url)).text();
    assert.equal(last?.outputTokens, 3);
    assert.equal(last?.inputTokens, 2, "8 prompt characters ≈ 2 tokens");
    assert.equal(last?.usageEstimated, true);
    assert.ok(!text.includes('"model":"m"') && text.includes('"model":"chat"'));
  });

  it("a usage chunk wins and is dropped when the client did not ask for it", async () => {
    events = [
      tokenEvent("a"),
      'data: {"model":"m","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":1}}\n\n',
      "data: [DONE]\n\n",
    ];
    const text = await (await fetch(url)).text();
    assert.equal(last?.inputTokens, 11);
    assert.equal(last?.usageEstimated, false);
    assert.ok(!text.includes('"usage"'));
  });

  it("the meter sees every token and its cut ends the stream with an error event", async () => {
    const seen: number[] = [];
    meter = {
      add(n) {
        seen.push(n);
        return seen.reduce((s, x) => s + x, 0) >= 2 ? "cut" : "ok";
      },
      cutReason: { code: "rate_limit_exceeded", message: "token limit reached" },
    };
    events = [tokenEvent("a"), tokenEvent("b"), tokenEvent("c"), "data: [DONE]\n\n"];
    const text = await (await fetch(url)).text();
    assert.deepEqual(seen, [1, 1]);
    assert.ok(!text.includes('"content":"c"') && !text.includes("[DONE]"), "nothing after the cut");
    const lastEvent = JSON.parse(text.trim().split("\n\n").at(-1)?.slice(6) ?? "{}") as {
      error?: { code: string; message: string };
    };
    assert.equal(lastEvent.error?.code, "rate_limit_exceeded");
    assert.equal(last?.outputTokens, 2, "usage settles what was relayed");
  });

  it("a stream that ends without [DONE] ends with an error event and status 502", async () => {
    meter = undefined;
    events = [tokenEvent("a")];
    const text = await (await fetch(url)).text();
    assert.match(text, /upstream_stream_error/);
    assert.equal(last?.status, 502);
  });
});
