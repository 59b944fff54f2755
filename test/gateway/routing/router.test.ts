import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isContextLengthError, Router } from "../../../src/gateway/routing/router.js";
import { parseSpec } from "../../../src/spec/load.js";
import type { RouteSpec } from "../../../src/spec/schema.js";
import { rng } from "./fixtures.js";

const SPEC = `apiVersion: inferplane.dev/v1
kind: Platform
metadata:
  name: routing
models:
  - { name: small, source: "hf://Qwen/Qwen2.5-7B-Instruct" }
  - { name: small-canary, source: "hf://Qwen/Qwen2.5-7B-Instruct" }
  - { name: big, source: "hf://Qwen/Qwen2.5-7B-Instruct" }
  - { name: long, source: "hf://Qwen/Qwen2.5-7B-Instruct" }
  - { name: longer, source: "hf://Qwen/Qwen2.5-7B-Instruct" }
routes:
  - name: chat
    aliases: [gpt-4o-mini, default]
    targets: [{ model: small, weight: 90 }, { model: small-canary, weight: 10 }]
    fallbacks: [chat-big, chat-long]
    contextFallback: chat-long
  - name: chat-big
    targets: [{ model: big }]
    fallbacks: [chat-longer, chat]
  - name: chat-long
    targets: [{ model: long }]
    fallbacks: [chat-big]
    contextFallback: chat-longer
  - name: chat-longer
    targets: [{ model: longer }]
    fallbacks: [chat-long]
    contextFallback: chat-long
  - name: sticky-user
    targets: [{ model: small, weight: 90 }, { model: small-canary, weight: 10 }]
    sticky: { by: user }
  - name: sticky-header
    targets: [{ model: small, weight: 50 }, { model: big, weight: 30 }, { model: long, weight: 20 }]
    sticky: { by: header, header: X-Session-Id }
  - name: dark-launch
    targets: [{ model: small, weight: 100 }, { model: small-canary, weight: 0 }]
`;

const platform = parseSpec(SPEC).platform;
const route = (r: Router, name: string): RouteSpec => {
  const found = r.resolve(name);
  assert.ok(found, `route ${name}`);
  return found;
};
const names = (routes: readonly RouteSpec[]) => routes.map((r) => r.name);

describe("Router: names", () => {
  it("resolves names and aliases to the same route; unknown names to undefined", () => {
    const r = new Router(platform);
    const chat = route(r, "chat");
    assert.equal(r.resolve("gpt-4o-mini"), chat);
    assert.equal(r.resolve("default"), chat);
    assert.equal(r.resolve("chat-big")?.name, "chat-big");
    assert.equal(r.resolve("nope"), undefined);
    assert.equal(r.resolve("small"), undefined, "model (pool) names are not public names");
    assert.equal(r.resolve("constructor"), undefined);
  });

  it("lists every public name with its aliases, in spec order", () => {
    const list = new Router(platform).publicNames();
    assert.deepEqual(list[0], { name: "chat", aliases: ["gpt-4o-mini", "default"] });
    assert.deepEqual(
      list.map((p) => p.name),
      platform.routes.map((x) => x.name),
    );
  });

  it("with no routes in the spec, every model is served under its own name", () => {
    const bare = { ...platform, routes: [] };
    const r = new Router(bare);
    assert.equal(r.publicNames().length, 5);
    const big = route(r, "big");
    assert.equal(r.pickTarget(big, { headers: {} }), "big");
  });
});

describe("Router: targets", () => {
  it("a 90/10 canary over 10,000 seeded picks is within ±2%", () => {
    const r = new Router(platform, { random: rng(42) });
    const chat = route(r, "chat");
    let canary = 0;
    for (let i = 0; i < 10_000; i++) if (r.pickTarget(chat, { headers: {} }) === "small-canary") canary++;
    assert.ok(Math.abs(canary / 10_000 - 0.1) <= 0.02, `canary share ${canary / 10_000}`);
  });

  it("a target of weight 0 gets nothing; a single target needs no draw", () => {
    let draws = 0;
    const r = new Router(platform, {
      random: () => {
        draws++;
        return 0.999;
      },
    });
    const dark = route(r, "dark-launch");
    for (let i = 0; i < 100; i++) assert.equal(r.pickTarget(dark, { headers: {} }), "small");
    assert.equal(r.pickTarget(route(r, "chat-big"), { headers: {} }), "big");
    assert.equal(draws, 0);
  });

  it("the same seed gives the same sequence", () => {
    const seq = () => {
      const r = new Router(platform, { random: rng(5) });
      const chat = route(r, "chat");
      return Array.from({ length: 200 }, () => r.pickTarget(chat, { headers: {} }));
    };
    assert.deepEqual(seq(), seq());
  });

  it("sticky by user: the same user keeps its target; users split by the weights", () => {
    const r = new Router(platform, { random: rng(1) });
    const sticky = route(r, "sticky-user");
    let canary = 0;
    for (let u = 0; u < 10_000; u++) {
      const user = `user-${u}`;
      const t = r.pickTarget(sticky, { user, headers: {} });
      for (let k = 0; k < 3; k++) assert.equal(r.pickTarget(sticky, { user, headers: {} }), t);
      if (t === "small-canary") canary++;
    }
    assert.ok(Math.abs(canary / 10_000 - 0.1) <= 0.02, `canary share ${canary / 10_000}`);
    // Another router (another gateway replica) agrees.
    const other = new Router(platform);
    assert.equal(
      other.pickTarget(route(other, "sticky-user"), { user: "user-7", headers: {} }),
      r.pickTarget(sticky, { user: "user-7", headers: {} }),
    );
  });

  it("sticky by header: read case-insensitively, first value of a list; absent → weighted random", () => {
    const r = new Router(platform, { random: rng(3) });
    const sticky = route(r, "sticky-header");
    const counts = new Map<string, number>();
    for (let s = 0; s < 10_000; s++) {
      const t = r.pickTarget(sticky, { headers: { "x-session-id": `sess-${s}` } });
      assert.equal(r.pickTarget(sticky, { headers: { "x-session-id": [`sess-${s}`, "other"] } }), t);
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    assert.ok(Math.abs((counts.get("small") ?? 0) / 10_000 - 0.5) <= 0.02);
    assert.ok(Math.abs((counts.get("big") ?? 0) / 10_000 - 0.3) <= 0.02);
    assert.ok(Math.abs((counts.get("long") ?? 0) / 10_000 - 0.2) <= 0.02);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(r.pickTarget(sticky, { headers: {} }));
    assert.equal(seen.size, 3, "no session header: a weighted random draw");
  });

  it("a weight change moves only the sessions it must", () => {
    const spec = (w: number) =>
      parseSpec(
        SPEC.replace(
          "{ model: small, weight: 90 }, { model: small-canary, weight: 10 }]\n    sticky",
          `{ model: small, weight: ${100 - w} }, { model: small-canary, weight: ${w} }]\n    sticky`,
        ),
      ).platform;
    const at10 = new Router(spec(10));
    const at20 = new Router(spec(20));
    let moved = 0;
    for (let u = 0; u < 5_000; u++) {
      const req = { user: `u${u}`, headers: {} };
      const a = at10.pickTarget(route(at10, "sticky-user"), req);
      const b = at20.pickTarget(route(at20, "sticky-user"), req);
      if (a !== b) {
        moved++;
        assert.equal(a, "small", "raising the canary's weight only moves users onto it");
      }
    }
    assert.ok(Math.abs(moved / 5_000 - 0.1) < 0.02, `moved ${moved / 5_000}`);
  });
});

describe("Router: fallbacks", () => {
  const r = new Router(platform);

  it("retryable: the chain depth first, through cycles, without duplicates or the route itself", () => {
    // chat → [chat-big → [chat-longer → [chat-long], chat], chat-long]
    assert.deepEqual(names(r.fallbacks(route(r, "chat"), "retryable")), [
      "chat-big",
      "chat-longer",
      "chat-long",
    ]);
    // chat-long → chat-big → chat-longer (→ chat-long: itself), chat → (chat-big, chat-long: seen)
    assert.deepEqual(names(r.fallbacks(route(r, "chat-long"), "retryable")), [
      "chat-big",
      "chat-longer",
      "chat",
    ]);
    assert.deepEqual(r.fallbacks(route(r, "sticky-user"), "retryable"), []);
  });

  it("context-length: contextFallback, then its own, stopping at a cycle", () => {
    // chat → chat-long → chat-longer → (chat-long: seen)
    assert.deepEqual(names(r.fallbacks(route(r, "chat"), "context-length")), ["chat-long", "chat-longer"]);
    assert.deepEqual(names(r.fallbacks(route(r, "chat-longer"), "context-length")), ["chat-long"]);
    assert.deepEqual(r.fallbacks(route(r, "chat-big"), "context-length"), []);
  });

  it("a route reached by alias has the same chains; results are precomputed", () => {
    const viaAlias = route(r, "gpt-4o-mini");
    assert.equal(r.fallbacks(viaAlias, "retryable"), r.fallbacks(route(r, "chat"), "retryable"));
    assert.ok(Object.isFrozen(r.fallbacks(viaAlias, "retryable")));
  });

  it("a copy of a route object (not the router's own) is still understood", () => {
    const copy = { ...route(r, "chat") };
    assert.deepEqual(names(r.fallbacks(copy, "retryable")), ["chat-big", "chat-longer", "chat-long"]);
    assert.ok(["small", "small-canary"].includes(r.pickTarget(copy, { headers: {} })));
  });
});

describe("isContextLengthError", () => {
  it("recognizes OpenAI's and vLLM's context-length errors", () => {
    const openai = {
      error: {
        message:
          "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
        type: "invalid_request_error",
        param: "messages",
        code: "context_length_exceeded",
      },
    };
    assert.ok(isContextLengthError(400, openai));
    assert.ok(isContextLengthError(400, { error: { code: "context_length_exceeded" } }));
    // vLLM (OpenAI-compatible server), old flat and newer nested shapes.
    const vllmMessage =
      "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.";
    assert.ok(
      isContextLengthError(400, {
        object: "error",
        message: vllmMessage,
        type: "BadRequestError",
        code: 400,
      }),
    );
    assert.ok(
      isContextLengthError(400, { error: { message: vllmMessage, type: "BadRequestError", code: 400 } }),
    );
    assert.ok(
      isContextLengthError(400, {
        error: {
          message: "The decoder prompt (length 5000) is longer than the maximum model length of 4096.",
          code: 400,
        },
      }),
    );
    assert.ok(isContextLengthError(400, vllmMessage), "raw text body");
    assert.ok(isContextLengthError(400, { error: vllmMessage }));
    assert.ok(new Router(platform).isContextLengthError(400, openai));
  });

  it("ignores other errors and statuses", () => {
    assert.ok(!isContextLengthError(500, { error: { code: "context_length_exceeded" } }));
    assert.ok(!isContextLengthError(429, "maximum context length"));
    assert.ok(
      !isContextLengthError(400, { error: { message: "temperature must be ≤ 2", code: "invalid_value" } }),
    );
    assert.ok(!isContextLengthError(400, undefined));
    assert.ok(!isContextLengthError(400, null));
    assert.ok(!isContextLengthError(400, 42));
    assert.ok(!isContextLengthError(400, "Bad Request"));
    assert.ok(!isContextLengthError(400, { error: null }));
  });
});
