/**
 * The one place the policy stores are chosen and opened, for the gateway and the CLI alike: the
 * key store, the limiter and the usage sink a spec names. Without `gateway.redis`: SQLite keys and
 * usage (`auth.sqlitePath`) and an in-memory limiter whose monthly budgets start from the usage
 * SQLite holds. With it: Redis for usage and limits (every replica sees every count), and for keys
 * when `auth.store` is `redis`.
 *
 * The two callers differ only in how they treat Redis being down: the CLI fails at once
 * (`policy_unavailable`); the gateway starts anyway, reconnects in the background and lets
 * `limits.failMode` decide each request meanwhile.
 */
import { Redis } from "ioredis";
import { InferplaneError } from "../../errors.js";
import type { GatewaySpec } from "../../spec/schema.js";
import { type KeyStore, RedisKeyStore, SqliteKeyStore } from "./key-store.js";
import { type Limiter, MemoryLimiter, RedisLimiter } from "./limiter.js";
import { RedisUsage, SqliteUsage, type UsageSink } from "./usage.js";

export interface PolicyStores {
  keys: KeyStore;
  limiter: Limiter;
  usage: UsageSink;
  /** The shared connection, when the spec names Redis (its state feeds the store-up gauge). */
  redis: Redis | undefined;
  /** Where they live, for messages. */
  where: { keys: string; usage: string };
  /** Closes every store, then the connection. */
  close(): Promise<void>;
}

type Log = (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;

export interface OpenStoresOptions {
  /** `cli`: Redis must answer now. `gateway`: start regardless and keep reconnecting. */
  purpose: "cli" | "gateway";
  /** Connection state changes (gateway). */
  log?: Log;
}

/** How long a starting gateway waits for Redis before it serves (failMode decides meanwhile). */
const GATEWAY_CONNECT_WAIT_MS = 2_000;

export async function openPolicyStores(
  g: GatewaySpec,
  env: NodeJS.ProcessEnv,
  opts: OpenStoresOptions = { purpose: "cli" },
): Promise<PolicyStores> {
  const redis = g.redis ? await connectRedis(g.redis, env, opts) : undefined;
  return storesOver(g, redis);
}

/** The three stores over an open connection (or none: SQLite and memory). */
export function storesOver(g: GatewaySpec, redis: Redis | undefined): PolicyStores {
  const prefix = g.redis?.prefix ?? "inferplane:";
  const redisWhere = `redis ${g.redis?.url}`;
  const keysInRedis = g.auth.store === "redis" && redis !== undefined;
  const keys: KeyStore = keysInRedis
    ? new RedisKeyStore(redis, prefix)
    : new SqliteKeyStore(g.auth.sqlitePath);
  let usage: UsageSink;
  let limiter: Limiter;
  if (redis) {
    usage = new RedisUsage(redis, prefix);
    limiter = new RedisLimiter(redis, prefix);
  } else {
    const local = new SqliteUsage(g.auth.sqlitePath);
    usage = local;
    limiter = new MemoryLimiter((key, month) => local.monthTokens(key, month));
  }
  return {
    keys,
    limiter,
    usage,
    redis,
    where: {
      keys: keysInRedis ? redisWhere : g.auth.sqlitePath,
      usage: redis ? redisWhere : g.auth.sqlitePath,
    },
    async close() {
      await limiter.close();
      await keys.close();
      await usage.close();
      redis?.disconnect();
    },
  };
}

async function connectRedis(
  r: NonNullable<GatewaySpec["redis"]>,
  env: NodeJS.ProcessEnv,
  opts: OpenStoresOptions,
): Promise<Redis> {
  const password = r.passwordEnv ? env[r.passwordEnv] : undefined;
  const auth = password ? { password } : {};
  if (opts.purpose === "cli") {
    const redis = new Redis(r.url, {
      ...auth,
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
        `cannot reach Redis at ${r.url}: ${(err as Error).message}`,
      );
    }
    return redis;
  }
  const redis = new Redis(r.url, {
    ...auth,
    enableOfflineQueue: false, // fail fast while disconnected: the fail mode decides, not a queue
    maxRetriesPerRequest: 0,
    commandTimeout: 1_000,
    connectTimeout: 1_000,
    retryStrategy: (times) => Math.min(100 * times, 1_000),
  });
  let down = false;
  redis.on("error", (err: Error) => {
    if (!down) opts.log?.("warn", "policy store (redis) connection error", { error: err.message });
    down = true;
  });
  redis.on("ready", () => {
    if (down) opts.log?.("info", "policy store (redis) connected again");
    down = false;
  });
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, GATEWAY_CONNECT_WAIT_MS);
    redis.once("ready", () => {
      clearTimeout(t);
      resolve();
    });
  });
  return redis;
}
