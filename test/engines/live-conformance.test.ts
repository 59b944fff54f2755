// One conformance suite over live servers: every engine's simulator flavour (llama.cpp's too), and
// the REAL llama.cpp server. Whatever the engine, what the gateway relies on must hold against the server itself:
// its adapter's health path answers, its chat (or completions) path serves, its metrics read as
// load through the adapter, and its own "prompt too long" answer is recognised for contextFallback.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { EngineId } from "../../src/catalog/engines.js";
import { type EngineAdapter, getEngineAdapter } from "../../src/engines/index.js";
import { isContextLengthError } from "../../src/gateway/routing/router.js";
import { SIM_ENGINES } from "../../src/sim/flavours.js";
import type { RequestShape } from "../../src/sim/request.js";
import { startSimFleet } from "../../src/sim/server.js";
import { type LlamaCppService, startLlamaCpp } from "../services/llamacpp.js";

interface LiveServer {
  url: string;
  model: string;
  /** Context of one request, tokens. */
  maxLen: number;
  stop(): Promise<void>;
}

const post = (url: string, body: unknown) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

function liveConformance(engine: EngineId, what: string, start: () => Promise<LiveServer | undefined>): void {
  describe(`live engine conformance: ${engine} (${what})`, () => {
    const adapter: EngineAdapter = getEngineAdapter(engine);
    let server: LiveServer | undefined;
    after(() => server?.stop());

    it("health, a generation, load from its metrics, its context overflow recognised", async (t) => {
      server = await start();
      if (!server) return t.skip("server unavailable");
      const { url, model } = server;
      const health = await fetch(url + adapter.healthPath);
      assert.equal(health.status, 200, `${adapter.healthPath}: ${await health.text()}`);

      const chat = adapter.apiPath("chat");
      const op = chat ?? adapter.apiPath("completions");
      assert.ok(op, "serves chat or completions");
      const ask = (content: string) =>
        chat
          ? { model, messages: [{ role: "user", content }], max_tokens: 4 }
          : { model, prompt: content, max_tokens: 4 };
      const ok = await post(url + op, ask("Hello there"));
      const body = (await ok.json()) as { choices?: unknown[] };
      assert.equal(ok.status, 200, JSON.stringify(body));
      assert.ok((body.choices ?? []).length > 0);

      const metrics = adapter.metricsUrl(url);
      if (metrics !== undefined) {
        const text = await (await fetch(metrics)).text();
        const load = adapter.parseLoad(text, 42);
        assert.ok(load, `the adapter reads load from ${metrics}`);
        assert.ok(load.running >= 0 && load.waiting >= 0 && load.at === 42);
      }

      const long = Array.from({ length: Math.ceil(server.maxLen / 2) + 50 }, (_, i) => `w${i}`).join(" ");
      const refused = await post(url + op, ask(long));
      const text = await refused.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // raw text is what the router gets too
      }
      assert.ok(refused.status >= 400 && refused.status < 500, `${refused.status} ${text.slice(0, 200)}`);
      assert.equal(isContextLengthError(refused.status, parsed), true, `recognised: ${text.slice(0, 300)}`);
      // vLLM's and llama.cpp's own wordings are recognised by their adapters (the others' by the
      // router's OpenAI-wording fallback), from the simulator as from the server.
      if (engine === "llamacpp" || engine === "vllm")
        assert.equal(adapter.refusal(refused.status, parsed), "context-overflow", text);
    });
  });
}

/** A request to a native generation route, written from the route's own request shape. */
function nativeBody(shape: RequestShape, model: string, text: string): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  if (shape.model === "body") b.model = model;
  if (shape.chat) b.messages = [{ role: "user", content: text }];
  else b[shape.prompt] = text;
  const params: Record<string, unknown> = shape.params !== undefined ? {} : b;
  if (shape.params !== undefined) b[shape.params] = params;
  params[shape.maxTokens[0] as string] = 4;
  if (shape.stream !== "always") b.stream = false;
  return b;
}

// Each simulator flavour's native routes, as its engine folder declares them: they answer, their
// errors come in the engine's own body, a 501 reads as "not supported" to the engine's adapter and
// a prompt over the context as a context overflow to the router.
for (const engine of SIM_ENGINES) {
  describe(`simulator flavour conformance: ${engine}`, () => {
    it("native routes answer; errors in the engine's body, mapped to not-supported and context overflow", async () => {
      const fleet = await startSimFleet({
        engine,
        model: "qwen2.5-7b",
        gpu: "L4",
        maxModelLen: 256,
        replicas: 1,
        host: "127.0.0.1",
        port: 0,
        constantLatency: { ttftMs: 1, itlMs: 1 },
      });
      try {
        const replica = fleet.replicas[0];
        assert.ok(replica);
        const f = replica.flavour;
        const adapter = getEngineAdapter(engine);
        const model = replica.servedModelName;
        const long = Array.from({ length: 400 }, (_, i) => `w${i}`).join(" ");
        if (f.openai.chat !== null) {
          const r = await fetch(`${fleet.urls[0]}${f.openai.chat}`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-sim-fault": "501" },
            body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 4 }),
          });
          const body = (await r.json()) as { error?: { message?: unknown; code?: unknown } };
          assert.equal(r.status, 501);
          assert.equal(typeof body.error?.message, "string", JSON.stringify(body));
          assert.equal(adapter.refusal(501, body), "not-supported");
        }
        for (const route of f.native.generate) {
          const url = `${fleet.urls[0]}${route.path.replace(":model", encodeURIComponent(model))}`;
          const name = `${engine} ${route.path}`;
          if (route.request.stream !== "always") {
            const ok = await post(url, nativeBody(route.request, model, "hello"));
            assert.equal(ok.status, 200, `${name}: ${await ok.clone().text()}`);
            await ok.arrayBuffer();
          }
          const refused = await fetch(url, {
            method: "POST",
            headers: { "content-type": "application/json", "x-sim-fault": "501" },
            body: JSON.stringify(nativeBody(route.request, model, "hello")),
          });
          const body = (await refused.json()) as Record<string, unknown>;
          assert.equal(refused.status, 501, name);
          const own = route.dialect.errorBody({ status: 501, type: "t", code: "c", message: "m" }) as object;
          assert.deepEqual(
            Object.keys(body).sort(),
            Object.keys(own).sort(),
            `${name}: ${JSON.stringify(body)}`,
          );
          assert.equal(adapter.refusal(501, body), "not-supported", name);
          const tooLong = await post(url, nativeBody(route.request, model, long));
          const overflow = (await tooLong.json()) as unknown;
          const said = `${name}: ${tooLong.status} ${JSON.stringify(overflow)}`;
          assert.ok(tooLong.status === 400 || tooLong.status === 422, said);
          assert.equal(isContextLengthError(tooLong.status, overflow), true, said);
          // Engines that word it their own way are recognised by their own adapter (TGI: 422).
          if (route.dialect.rewrite !== undefined)
            assert.equal(adapter.refusal(tooLong.status, overflow), "context-overflow", said);
          // A short prompt asking for more than the context holds.
          const greedy = nativeBody(route.request, model, "hello");
          const params = (
            route.request.params !== undefined ? greedy[route.request.params] : greedy
          ) as Record<string, unknown>;
          params[route.request.maxTokens[0] as string] = 1000;
          const tooMuch = await post(url, greedy);
          const tooMuchBody = (await tooMuch.json()) as unknown;
          const said2 = `${name}: ${tooMuch.status} ${JSON.stringify(tooMuchBody)}`;
          assert.equal(isContextLengthError(tooMuch.status, tooMuchBody), true, said2);
          if (route.dialect.rewrite !== undefined)
            assert.equal(adapter.refusal(tooMuch.status, tooMuchBody), "context-overflow", said2);
        }
      } finally {
        await fleet.stop();
      }
    });
  });
}

for (const engine of SIM_ENGINES) {
  liveConformance(engine, "its simulator flavour", async () => {
    const fleet = await startSimFleet({
      engine,
      model: "qwen2.5-7b",
      gpu: "L4",
      maxModelLen: 512,
      replicas: 1,
      host: "127.0.0.1",
      port: 0,
      constantLatency: { ttftMs: 1, itlMs: 1 },
    });
    return {
      url: fleet.urls[0] as string,
      model: fleet.replicas[0]?.servedModelName ?? "",
      maxLen: 512,
      stop: () => fleet.stop(),
    };
  });
}

liveConformance("llamacpp", "the real server", async () => {
  let svc: LlamaCppService;
  try {
    svc = await startLlamaCpp({ ctx: 512, slots: 1 });
  } catch (err) {
    if (process.env.CI === "true") throw err;
    return undefined;
  }
  return { url: svc.urls[0] as string, model: "smollm2", maxLen: 512, stop: () => svc.stop() };
});
