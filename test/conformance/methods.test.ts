// Removing a method from any implementation fails its conformance suite: the suite's first check
// (assertImplements) catches each one, on every implementation the suites run.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { Redis } from "ioredis";
import { RedisKeyStore, SqliteKeyStore } from "../../src/gateway/policy/key-store.js";
import { MemoryLimiter, RedisLimiter } from "../../src/gateway/policy/limiter.js";
import { RedisUsage, SqliteUsage } from "../../src/gateway/policy/usage.js";
import { DnsDiscovery } from "../../src/gateway/upstream/discovery/dns.js";
import { KubernetesDiscovery } from "../../src/gateway/upstream/discovery/kubernetes.js";
import { StaticDiscovery } from "../../src/gateway/upstream/discovery/static.js";
import {
  assertImplements,
  DISCOVERY_METHODS,
  KEY_STORE_METHODS,
  LIMITER_METHODS,
  USAGE_SINK_METHODS,
} from "./methods.js";

/** `impl` with `method` gone, as if its class had never defined it. */
function without(impl: object, method: string): object {
  const copy = Object.create(impl) as Record<string, unknown>;
  Object.defineProperty(copy, method, { value: undefined });
  return copy;
}

it("every implementation passes the method check whole and fails it with any one method removed", () => {
  const file = join(mkdtempSync(join(tmpdir(), "inferplane-methods-")), "p.db");
  // A client that never connects: only the objects' shape is looked at.
  const redis = new Redis({ lazyConnect: true });
  const cases: [string, object, readonly string[]][] = [
    ["SqliteKeyStore", new SqliteKeyStore(file), KEY_STORE_METHODS],
    ["RedisKeyStore", new RedisKeyStore(redis, "p:"), KEY_STORE_METHODS],
    ["MemoryLimiter", new MemoryLimiter(), LIMITER_METHODS],
    ["RedisLimiter", new RedisLimiter(redis, "p:"), LIMITER_METHODS],
    ["SqliteUsage", new SqliteUsage(file), USAGE_SINK_METHODS],
    ["RedisUsage", new RedisUsage(redis, "p:"), USAGE_SINK_METHODS],
    ["StaticDiscovery", new StaticDiscovery({ urls: ["http://192.0.2.1:80"] }), DISCOVERY_METHODS],
    ["DnsDiscovery", new DnsDiscovery({ name: "x.test", port: 80 }), DISCOVERY_METHODS],
    ["KubernetesDiscovery", new KubernetesDiscovery({ namespace: "n", service: "s" }), DISCOVERY_METHODS],
  ];
  let removed = 0;
  for (const [name, impl, methods] of cases) {
    assertImplements(impl, methods, name);
    for (const m of methods) {
      assert.throws(
        () => assertImplements(without(impl, m), methods, name),
        new RegExp(`${name} lacks ${m}`),
      );
      removed++;
    }
  }
  assert.equal(removed, 4 * 2 + 3 * 2 + 3 * 2 + 2 * 3);
  redis.disconnect();
});
