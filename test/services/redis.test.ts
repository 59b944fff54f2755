import assert from "node:assert/strict";
import { test } from "node:test";
import { Redis } from "ioredis";
import { isPortFree, requireService } from "./harness.js";
import { startRedis } from "./redis.js";

test("redis: SET/GET and EVAL on a private instance, port freed on stop", async (t) => {
  const redis = await requireService(t, "redis", () => startRedis());
  if (!redis) return;
  // Fail fast instead of ioredis' default endless reconnects if the server goes away mid-test.
  const client = new Redis(redis.url, {
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    lazyConnect: true,
  });
  t.after(() => client.disconnect());
  await client.connect();

  assert.equal(await client.set("inferplane:k", "v1"), "OK");
  assert.equal(await client.get("inferplane:k"), "v1");

  // Atomic increment-with-cap, the kind of script a rate limiter would use.
  const script = `
    local n = redis.call("INCRBY", KEYS[1], ARGV[1])
    if n > tonumber(ARGV[2]) then redis.call("SET", KEYS[1], ARGV[2]) return -1 end
    return n`;
  assert.equal(await client.eval(script, 1, "inferplane:ctr", 3, 5), 3);
  assert.equal(await client.eval(script, 1, "inferplane:ctr", 3, 5), -1);
  assert.equal(await client.get("inferplane:ctr"), "5");

  // Our instance really has persistence off (the flags reached the server).
  assert.deepEqual(await client.config("GET", "save"), ["save", ""]);

  client.disconnect();
  await redis.stop();
  assert.equal(await isPortFree(redis.port), true, `port ${redis.port} still in use after stop()`);
});
