// Attack class "limit bypasses during a store outage": failing closed, a key verified before Redis
// went away keeps working from the cache for a bounded time only (FAIL_CLOSED_STALE_MS), so a
// key revoked elsewhere during the outage stops working within that bound; after it, requests get
// 503 until Redis is back.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { FAIL_CLOSED_STALE_MS } from "../../src/gateway/policy/policy.js";
import { type GatewayHandle, startGateway } from "../../src/gateway/server.js";
import { type SimServerHandle, startSimServer } from "../../src/sim/server.js";
import { parseSpec } from "../../src/spec/load.js";
import { startRedisAt } from "../gateway/policy/processes.js";
import { fileLogger } from "../gateway/policy/test-logs.js";
import { requireService } from "../services/harness.js";
import { ADMIN, call, makeKey } from "./stack.js";

describe("security: fail-closed key cache is bounded during a Redis outage", () => {
  let gw: GatewayHandle | undefined;
  let sim: SimServerHandle | undefined;
  let dir = "";
  after(async () => {
    await gw?.close();
    await sim?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("a cached key stops working once the bound passes; Redis back, the store is asked again", async (t) => {
    let redis = await requireService(t, "redis", () => startRedisAt());
    if (!redis) return;
    const port = redis.port;
    sim = await startSimServer({ model: "llama-3.1-8b", gpu: "H100-80GB", speed: 50 });
    dir = mkdtempSync(join(tmpdir(), "inferplane-sec-outage-"));
    const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: sec}
models:
  - {name: llama, source: hf://meta-llama/Llama-3.1-8B-Instruct, servedModelName: ${sim.servedModelName}, endpoints: ["${sim.url}"]}
routes:
  - {name: chat, targets: [{model: llama}]}
gateway:
  redis: {url: "${redis.url}"}
  auth: {mode: keys, store: redis, sqlitePath: "${join(dir, "gw.db")}"}
  limits: {failMode: closed}
`);
    gw = await startGateway(platform, {
      host: "127.0.0.1",
      port: 0,
      logger: fileLogger("security-outage"),
      env: { INFERPLANE_ADMIN_TOKEN: ADMIN },
    });
    const url = gw.url;
    // No RPM/TPM/budget: only the key lookup touches Redis, so only the cache can admit it.
    const { key } = await makeKey(url, { name: "cached" });
    const ask = () =>
      call(url, "POST", "/v1/chat/completions", key, {
        model: "chat",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 2,
      });
    assert.equal((await ask()).status, 200);
    await redis.stop();
    await sleep(FAIL_CLOSED_STALE_MS + 1_000);
    const during = await ask();
    assert.equal(during.status, 503, during.text);
    assert.equal((during.json.error as { code: string }).code, "policy_unavailable");
    redis = await startRedisAt(port);
    t.after(() => redis?.stop());
    // Redis restarted empty (no persistence): the key is gone with it, so the answer is 401 — the
    // gateway asks the store again instead of trusting what it cached before the outage.
    let after: number | undefined;
    for (let i = 0; i < 40; i++) {
      after = (await ask()).status;
      if (after !== 503) break;
      await sleep(250);
    }
    assert.equal(after, 401, "the store is asked again once it is back");
  });
});
