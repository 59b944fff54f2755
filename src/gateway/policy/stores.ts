/** Opens the key store and usage sink a spec names, for the CLI (the gateway opens its own in policy.ts). */
import { Redis } from "ioredis";
import { InferplaneError } from "../../errors.js";
import type { GatewaySpec } from "../../spec/schema.js";
import { type KeyStore, RedisKeyStore, SqliteKeyStore } from "./key-store.js";
import { RedisUsage, SqliteUsage, type UsageSink } from "./usage.js";

export interface PolicyStores {
  keys: KeyStore;
  usage: UsageSink;
  /** Where they live, for messages. */
  where: { keys: string; usage: string };
  close(): Promise<void>;
}

export async function openPolicyStores(g: GatewaySpec, env: NodeJS.ProcessEnv): Promise<PolicyStores> {
  let redis: Redis | undefined;
  if (g.redis) {
    const password = g.redis.passwordEnv ? env[g.redis.passwordEnv] : undefined;
    redis = new Redis(g.redis.url, {
      ...(password ? { password } : {}),
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      connectTimeout: 2_000,
      retryStrategy: () => null, // a CLI call fails at once rather than waiting
    });
    redis.on("error", () => {}); // reported by connect() below
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      throw new InferplaneError(
        "policy_unavailable",
        `cannot reach Redis at ${g.redis.url}: ${(err as Error).message}`,
      );
    }
  }
  const prefix = g.redis?.prefix ?? "inferplane:";
  const keys =
    g.auth.store === "redis" && redis
      ? new RedisKeyStore(redis, prefix)
      : new SqliteKeyStore(g.auth.sqlitePath);
  const usage = redis ? new RedisUsage(redis, prefix) : new SqliteUsage(g.auth.sqlitePath);
  return {
    keys,
    usage,
    where: {
      keys: keys instanceof RedisKeyStore ? `redis ${g.redis?.url}` : g.auth.sqlitePath,
      usage: redis ? `redis ${g.redis?.url}` : g.auth.sqlitePath,
    },
    async close() {
      await keys.close();
      await usage.close();
      redis?.disconnect();
    },
  };
}
