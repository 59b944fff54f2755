// The policy stores' conformance suites on every implementation: the key store on SQLite and
// Redis, the limiter in memory and on Redis, the usage sink on SQLite and Redis (a real
// redis-server from test/services; with CI=true a missing Redis fails). And the one factory
// (openPolicyStores) choosing them from the spec.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { Redis } from "ioredis";
import { RedisKeyStore, SqliteKeyStore } from "../../src/gateway/policy/key-store.js";
import { MemoryLimiter, RedisLimiter } from "../../src/gateway/policy/limiter.js";
import { openPolicyStores } from "../../src/gateway/policy/stores.js";
import { RedisUsage, SqliteUsage } from "../../src/gateway/policy/usage.js";
import { parseSpec } from "../../src/spec/load.js";
import { startRedis } from "../services/redis.js";
import { keyStoreConformance } from "./key-store.suite.js";
import { limiterConformance } from "./limiter.suite.js";
import { sharedService } from "./shared-service.js";
import { usageSinkConformance } from "./usage-sink.suite.js";

const redisService = sharedService("redis", () => startRedis());

/** A client of the shared Redis and a prefix no other test uses; both end with the test. */
async function redisFor(t: TestContext): Promise<{ redis: () => Redis; prefix: string } | undefined> {
  const svc = await redisService(t);
  if (!svc) return undefined;
  const prefix = `conformance:${randomUUID()}:`;
  const redis = () => {
    const r = new Redis(svc.url, { maxRetriesPerRequest: 1 });
    t.after(() => r.disconnect());
    return r;
  };
  return { redis, prefix };
}

function sqliteFile(): string {
  return join(mkdtempSync(join(tmpdir(), "inferplane-conformance-")), "policy.db");
}

describe("KeyStore: SQLite", () =>
  keyStoreConformance(async () => {
    const file = sqliteFile();
    return { store: new SqliteKeyStore(file), reopen: async () => new SqliteKeyStore(file) };
  }));

describe("KeyStore: Redis", () =>
  keyStoreConformance(async (t) => {
    const r = await redisFor(t);
    if (!r) return undefined;
    return {
      store: new RedisKeyStore(r.redis(), r.prefix),
      reopen: async () => new RedisKeyStore(r.redis(), r.prefix),
    };
  }));

describe("Limiter: memory", () => limiterConformance(async () => new MemoryLimiter()));

describe("Limiter: Redis", () =>
  limiterConformance(async (t) => {
    const r = await redisFor(t);
    return r && new RedisLimiter(r.redis(), r.prefix);
  }));

describe("UsageSink: SQLite", () =>
  usageSinkConformance(async () => {
    const file = sqliteFile();
    return { sink: new SqliteUsage(file), reopen: async () => new SqliteUsage(file) };
  }));

describe("UsageSink: Redis", () =>
  usageSinkConformance(async (t) => {
    const r = await redisFor(t);
    if (!r) return undefined;
    return {
      sink: new RedisUsage(r.redis(), r.prefix),
      reopen: async () => new RedisUsage(r.redis(), r.prefix),
    };
  }));

function gateway(yaml: string) {
  return parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models: [{name: m, source: "hf://meta-llama/Llama-3.1-8B-Instruct", endpoints: ["http://127.0.0.1:1"]}]
gateway:
${yaml}
`).platform.gateway;
}

describe("openPolicyStores: the one factory", () => {
  it("without Redis: SQLite keys and usage, the limiter in memory, its budgets from SQLite usage", async () => {
    const file = sqliteFile();
    const month = new Date().toISOString().slice(0, 7);
    const seed = new SqliteUsage(file);
    const hour = Math.floor(Date.now() / 3_600_000) * 3600;
    await seed.add([
      {
        hour,
        key: "k",
        route: "r",
        model: "m",
        requests: 1,
        errors: 0,
        promptTokens: 60,
        completionTokens: 30,
      },
    ]);
    await seed.close();
    const s = await openPolicyStores(gateway(`  auth: {mode: keys, sqlitePath: ${file}}`), {});
    try {
      assert.ok(s.keys instanceof SqliteKeyStore);
      assert.ok(s.usage instanceof SqliteUsage);
      assert.ok(s.limiter instanceof MemoryLimiter);
      assert.equal(s.redis, undefined);
      assert.deepEqual(s.where, { keys: file, usage: file });
      const first = await s.limiter.admit({ keyId: "k", budget: 100, estimate: 20, month });
      assert.equal(first.ok && first.spent, 110, "90 tokens used this month before the limiter started");
      const second = await s.limiter.admit({ keyId: "k", budget: 100, estimate: 20, month });
      assert.equal(second.ok ? "admitted" : second.reason, "budget");
    } finally {
      await s.close();
    }
  });

  for (const store of ["redis", "sqlite"] as const) {
    it(`with Redis: usage and limits there, keys there when auth.store is redis (auth.store: ${store})`, async (t) => {
      const svc = await redisService(t);
      if (!svc) return;
      const file = sqliteFile();
      const s = await openPolicyStores(
        gateway(`  redis: {url: "${svc.url}"}\n  auth: {mode: keys, store: ${store}, sqlitePath: ${file}}`),
        {},
        { purpose: "gateway" },
      );
      try {
        assert.ok(s.keys instanceof (store === "redis" ? RedisKeyStore : SqliteKeyStore));
        assert.ok(s.usage instanceof RedisUsage);
        assert.ok(s.limiter instanceof RedisLimiter);
        assert.equal(s.redis?.status, "ready");
        assert.equal(s.where.usage, `redis ${svc.url}`);
        assert.equal(s.where.keys, store === "redis" ? `redis ${svc.url}` : file);
      } finally {
        await s.close();
      }
    });
  }

  it("for the CLI, an unreachable Redis is policy_unavailable at once", async () => {
    const started = Date.now();
    await assert.rejects(
      openPolicyStores(
        gateway(`  redis: {url: "redis://127.0.0.1:1"}\n  auth: {mode: keys, store: redis}`),
        {},
      ),
      (err: Error & { code?: string }) =>
        err.code === "policy_unavailable" && /127\.0\.0\.1:1/.test(err.message),
    );
    assert.ok(Date.now() - started < 5_000);
  });
});
