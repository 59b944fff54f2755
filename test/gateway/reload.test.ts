// Start and reload from one derivation: every `gateway.*` field of the schema either takes
// effect on reload (a probe reads the live value the running gateway uses) or is listed as
// restart-only, and changing it logs a warning that names it. A new field in the schema with
// neither fails this test. Also: the retry budget is rebuilt, discoveries do not pile up, and an
// in-flight request finishes on the runtime it started on.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DEPLOY_ONLY_PREFIXES, RESTART_ONLY } from "../../src/gateway/runtime.js";
import type { GatewayHandle } from "../../src/gateway/server.js";
import { startGateway } from "../../src/gateway/server.js";
import { parseSpec } from "../../src/spec/load.js";
import { type Platform, PlatformShape } from "../../src/spec/schema.js";
import { type FakeUpstream, startFakeUpstream } from "./upstream/helpers.js";

interface ZodLike {
  _zod: { def: { type: string; innerType?: ZodLike; shape?: Record<string, ZodLike> } };
}

/** Leaf paths of a zod object schema (arrays and scalars are leaves). */
function leaves(schema: ZodLike, prefix = ""): string[] {
  const def = schema._zod.def;
  if (def.innerType && ["optional", "default", "prefault", "nullable"].includes(def.type))
    return leaves(def.innerType, prefix);
  if (def.type !== "object" || !def.shape) return [prefix];
  return Object.entries(def.shape).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
}

function setAt(o: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  let cur = o;
  for (const k of keys.slice(0, -1)) {
    cur[k] ??= {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys.at(-1) as string] = value;
}

function getAt(o: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((x, k) => (x as Record<string, unknown> | undefined)?.[k], o);
}

const hash = `v1$abcdefgh$${"0".repeat(32)}$${"1".repeat(64)}`;
const gatewayFields = () => (gw: GatewayHandle) => gw.runtime().plan.gateway;
const pool = (gw: GatewayHandle) => gw.runtime().pools.get("llama");

/** Field → [new value, the live value the gateway uses after a reload]. */
const APPLIED: Record<string, [unknown, (gw: GatewayHandle) => unknown]> = {
  "timeouts.connect": [1_234, (gw) => pool(gw)?.limits.connectTimeoutMs],
  "timeouts.firstByte": [2_345, (gw) => gw.runtime().timeouts.firstByte],
  "timeouts.idle": [3_456, (gw) => gw.runtime().timeouts.idle],
  "timeouts.total": [4_567, (gw) => gw.runtime().timeouts.total],
  "retries.attempts": [7, (gw) => gw.runtime().retries],
  "retries.backoff": [77, (gw) => gw.runtime().backoffMs],
  "retries.budgetPercent": [42, (gw) => gw.runtime().budget.percent],
  "outlierDetection.consecutive5xx": [9, (gw) => gw.runtime().plan.gateway.outlierDetection.consecutive5xx],
  "outlierDetection.interval": [12_345, (gw) => gw.upkeep.watching()[0]?.intervalMs],
  "outlierDetection.baseEjectionTime": [
    11_111,
    (gw) => gw.runtime().plan.gateway.outlierDetection.baseEjectionTime,
  ],
  "outlierDetection.maxEjectionTime": [
    99_999,
    (gw) => gw.runtime().plan.gateway.outlierDetection.maxEjectionTime,
  ],
  "outlierDetection.maxEjectionPercent": [
    33,
    (gw) => gw.runtime().plan.gateway.outlierDetection.maxEjectionPercent,
  ],
  maxInFlightPerEndpoint: [5, (gw) => pool(gw)?.limits.maxInFlightPerEndpoint],
  maxQueuedPerPool: [6, (gw) => pool(gw)?.limits.maxQueued],
  maxQueueWait: [7_000, (gw) => pool(gw)?.limits.maxQueueWaitMs],
  drainTimeout: [8_000, (gw) => gw.runtime().plan.gateway.drainTimeout],
  "http.headersTimeout": [5_000, (gw) => gw.app.server.headersTimeout],
  "http.requestTimeout": [20_000, (gw) => gw.app.server.requestTimeout],
  // Read by the policy and the hardening on every request through the runtime's settings.
  "http.maxUrlBytes": [999, (gw) => gatewayFields()(gw).http.maxUrlBytes],
  "http.cors.origins": [["https://app.example"], (gw) => gatewayFields()(gw).http.cors.origins],
  "http.cors.maxAge": [60, (gw) => gatewayFields()(gw).http.cors.maxAge],
  "http.securityHeaders": [false, (gw) => gatewayFields()(gw).http.securityHeaders],
  "auth.adminTokenEnv": ["OTHER_ADMIN", (gw) => gatewayFields()(gw).auth.adminTokenEnv],
  "auth.keyHashesEnv": ["OTHER_HASHES", (gw) => gatewayFields()(gw).auth.keyHashesEnv],
  "auth.keys": [
    [{ name: "team", hash, models: ["*"], collections: ["*"], paths: ["*"] }],
    (gw) => gatewayFields()(gw).auth.keys,
  ],
  "limits.rpm": [10, (gw) => gatewayFields()(gw).limits.rpm],
  "limits.tpm": [1_000, (gw) => gatewayFields()(gw).limits.tpm],
  "limits.failMode": ["closed", (gw) => gatewayFields()(gw).limits.failMode],
  "limits.reserveTokens": [128, (gw) => gatewayFields()(gw).limits.reserveTokens],
  "auth.protectMetrics": [true, (gw) => gatewayFields()(gw).auth.protectMetrics],
};

/** New values for the restart-only fields. */
const RESTART_VALUES: Record<string, unknown> = {
  "listen.host": "0.0.0.0",
  "listen.port": 9999,
  replicas: 5,
  "auth.mode": "keys",
  "auth.store": "redis",
  "auth.sqlitePath": "/tmp/other.db",
  "redis.url": "redis://127.0.0.1:6390",
  "redis.passwordEnv": "REDIS_PW",
  "redis.prefix": "x:",
  "usage.flushInterval": 9_000,
  "http.maxHeaderBytes": 4_096,
  maxRequestBytes: 1_000,
  "console.enabled": false,
};

describe("reload applies every gateway field", () => {
  let up: FakeUpstream;
  let gw: GatewayHandle;
  let base: Platform;
  const logs: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];

  before(async () => {
    up = await startFakeUpstream({ "/health": { status: 200 } });
    base = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - name: llama
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    endpoints: ["${up.url}"]
routes:
  - name: chat
    targets: [{model: llama}]
`).platform;
    gw = await startGateway(base, {
      host: "127.0.0.1",
      port: 0,
      log: (level, msg, fields) => logs.push({ level, msg, ...(fields ? { fields } : {}) }),
    });
  });
  after(async () => {
    await gw?.close();
    await up?.close();
  });

  it("the schema's gateway fields are each either applied on reload or restart-only", () => {
    const gatewaySchema = (PlatformShape as unknown as ZodLike)._zod.def.shape?.gateway as ZodLike;
    // Fields the running gateway never reads (render's Ingress) need neither.
    const all = leaves(gatewaySchema)
      .filter((f) => !DEPLOY_ONLY_PREFIXES.some((p) => f.startsWith(p)))
      .sort();
    const covered = [...Object.keys(APPLIED), ...RESTART_ONLY].sort();
    assert.deepEqual(covered, all, "a gateway field without reload support (or a stale entry here)");
    assert.deepEqual(Object.keys(RESTART_VALUES).sort(), [...RESTART_ONLY].sort());
  });

  for (const [path, [value, probe]] of Object.entries(APPLIED)) {
    it(`gateway.${path} takes effect on reload`, () => {
      const next = structuredClone(base) as unknown as Record<string, unknown>;
      assert.notDeepEqual(
        getAt((next as { gateway: unknown }).gateway, path),
        value,
        "the test changes the value",
      );
      setAt(next, `gateway.${path}`, value);
      gw.reload(next as unknown as Platform);
      assert.deepEqual(probe(gw), value);
      gw.reload(base);
      assert.notDeepEqual(probe(gw), value, "and back");
    });
  }

  for (const path of RESTART_ONLY) {
    it(`gateway.${path} is restart-only: the reload says so`, () => {
      const next = structuredClone(base) as unknown as Record<string, unknown>;
      setAt(next, `gateway.${path}`, RESTART_VALUES[path]);
      logs.length = 0;
      gw.reload(next as unknown as Platform);
      const warn = logs.find((l) => l.msg === "some gateway settings apply after a restart only");
      assert.ok(
        (warn?.fields?.fields as string[] | undefined)?.includes(`gateway.${path}`),
        JSON.stringify(logs),
      );
      gw.reload(base);
    });
  }

  it("a reload builds a new retry budget and a new router; pools keep their endpoints' state", () => {
    const before = gw.runtime();
    const ep = before.pools.get("llama")?.endpoints[0];
    assert.ok(ep);
    gw.reload(structuredClone(base));
    const after = gw.runtime();
    assert.notEqual(after.budget, before.budget);
    assert.notEqual(after.router, before.router);
    assert.equal(after.pools.get("llama")?.endpoints[0], ep);
  });

  it("an in-flight request finishes on the runtime it started on, even when its pool goes away", async () => {
    up.set("/v1/chat/completions", {
      status: 200,
      delayMs: 300,
      contentType: "application/json",
      body: '{"object":"chat.completion","model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}',
    });
    const pending = fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }] }),
    });
    await new Promise((r) => setTimeout(r, 100));
    const moved = structuredClone(base);
    (moved.models[0] as { name: string }).name = "other";
    (moved.routes[0] as { targets: { model: string; weight: number }[] }).targets = [
      { model: "other", weight: 100 },
    ];
    gw.reload(moved);
    assert.equal(gw.runtime().pools.has("llama"), false, "the new runtime has no such pool");
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { model: string }).model, "chat");
    gw.reload(base);
  });

  it("discoveries do not pile up across reloads", () => {
    const dns = structuredClone(base);
    (dns.models[0] as { discovery?: unknown }).discovery = {
      kind: "dns",
      name: "localhost",
      scheme: "http",
      interval: 60_000,
      port: up.port,
    };
    for (let i = 0; i < 5; i++) gw.reload(structuredClone(dns));
    assert.equal(gw.poolSet.discoveryCount, 1);
    gw.reload(base);
    assert.equal(gw.poolSet.discoveryCount, 0);
  });
});
