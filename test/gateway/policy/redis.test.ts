// Two gateway processes (`inferplane serve`) sharing the harness's real Redis: limits hold
// across replicas (RPM exact, TPM booked from the real tokens of streams, monthly budgets),
// and when Redis stops each gateway fails open or closed as configured, then recovers.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { main } from "../../../src/cli/main.js";
import { generateKey } from "../../../src/gateway/policy/keys.js";
import { type SimServerHandle, startSimServer } from "../../../src/sim/server.js";
import { requireService } from "../../services/harness.js";
import { type GatewayProcess, startGatewayProcess, startRedisAt } from "./processes.js";
import { ADMIN_TOKEN, PROMPT_CANARY } from "./test-logs.js";

function specText(
  sim: SimServerHandle,
  redisUrl: string,
  failMode: "open" | "closed",
  store: string,
  keys = "",
) {
  return `apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: shared}
models:
  - name: llama
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    servedModelName: ${sim.servedModelName}
    endpoints: ["${sim.url}"]
routes:
  - name: chat
    targets: [{model: llama}]
gateway:
  replicas: 2
  redis: {url: "${redisUrl}"}
  auth:
    mode: keys
    store: ${store}
${keys}
  limits: {failMode: ${failMode}}
  usage: {flushInterval: 200}
`;
}

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const io = {
    out: (t: string) => {
      out += `${t}\n`;
    },
    err: (t: string) => {
      out += t;
    },
    isTTY: false,
  };
  const code = await main(["node", "inferplane", ...args], io);
  return { code, out };
}

function chat(url: string, key: string, extra: Record<string, unknown> = {}) {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({
      model: "chat",
      messages: [{ role: "user", content: `hi ${PROMPT_CANARY}` }],
      max_tokens: 2,
      ...extra,
    }),
  });
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith(name))
    .reduce((n, l) => n + Number(l.split(" ").pop()), 0);
}

describe("policy across two gateway processes sharing Redis", () => {
  const gateways: GatewayProcess[] = [];
  let sim: SimServerHandle | undefined;
  after(async () => {
    for (const g of gateways.splice(0)) await g.stop();
    await sim?.stop();
  });
  const env = { INFERPLANE_ADMIN_TOKEN: ADMIN_TOKEN };

  it("60 RPM key, 200 requests spread over both within a minute: at most 61 accepted, the rest 429 with Retry-After; TPM and budgets shared", async (t) => {
    const redis = await requireService(t, "redis", () => startRedisAt());
    if (!redis) return;
    sim ??= await startSimServer({ model: "llama-3.1-8b", gpu: "H100-80GB", speed: 50 });
    const dir = mkdtempSync(join(tmpdir(), "inferplane-policy-redis-"));
    const file = join(dir, "inferplane.yaml");
    writeFileSync(file, specText(sim, redis.url, "open", "redis"));
    const created = await cli([
      "keys",
      "create",
      "-c",
      file,
      "--name",
      "team-a",
      "--models",
      "chat*",
      "--rpm",
      "60",
      "--json",
    ]);
    assert.equal(created.code, 0, created.out);
    const key = (JSON.parse(created.out) as { key: string }).key;
    const a = await startGatewayProcess("policy-redis-a", file, env);
    const b = await startGatewayProcess("policy-redis-b", file, env);
    gateways.push(a, b);

    // 200 requests, alternating gateways, 20 per second over 10 s, 4 in flight at a time.
    const start = Date.now();
    const results: { status: number; retryAfter: string | null; remaining: string | null; body: string }[] =
      [];
    for (let wave = 0; wave < 50; wave++) {
      const batch = [0, 1, 2, 3].map(async (j) => {
        const res = await chat((wave * 4 + j) % 2 === 0 ? a.url : b.url, key);
        const body = await res.text();
        results.push({
          status: res.status,
          retryAfter: res.headers.get("retry-after"),
          remaining: res.headers.get("x-ratelimit-remaining-requests"),
          body,
        });
      });
      await Promise.all(batch);
      const due = start + (wave + 1) * 200;
      if (due > Date.now()) await sleep(due - Date.now());
    }
    const elapsed = Date.now() - start;
    assert.ok(elapsed < 60_000, `all 200 within one minute (${elapsed} ms)`);
    const accepted = results.filter((r) => r.status === 200).length;
    const limited = results.filter((r) => r.status === 429);
    t.diagnostic(`accepted ${accepted} of 200 in ${elapsed} ms; ${limited.length} answered 429`);
    assert.ok(accepted <= 61, `accepted ${accepted}`);
    assert.ok(accepted >= 60, `the limit admits its 60 (${accepted})`);
    assert.equal(accepted + limited.length, 200, "every other request is a 429");
    for (const r of limited) {
      const s = Number(r.retryAfter);
      assert.ok(Number.isInteger(s) && s >= 1 && s <= 60, `Retry-After ${r.retryAfter}`);
      assert.equal(r.remaining, "0");
      assert.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, "rate_limit_exceeded");
    }

    // TPM shared: a stream through A books its real tokens; B sees them.
    const tpmKey = JSON.parse(
      (await cli(["keys", "create", "-c", file, "--name", "tpm", "--tpm", "3000", "--json"])).out,
    ) as {
      key: string;
      id: string;
    };
    const stream = await chat(a.url, tpmKey.key, { stream: true, max_tokens: 2000 });
    assert.equal(stream.status, 200);
    assert.match(await stream.text(), /\[DONE\]/);
    await sleep(600); // A flushes its usage to Redis every 200 ms
    const usage = (await (
      await fetch(`${b.url}/admin/usage?group_by=key`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json()) as { data: { key: string; promptTokens: number; completionTokens: number }[] };
    const row = usage.data.find((r) => r.key === tpmKey.id);
    assert.ok(row && row.completionTokens > 0, "B reports the usage A booked");
    const real = row.promptTokens + row.completionTokens;
    const probe = await chat(b.url, tpmKey.key, { max_tokens: 1 });
    await probe.arrayBuffer();
    // The probe reserves ceil(len("hi " + canary) / 4) + 4 (one message's framing) + 1 tokens.
    const probeReserve = Math.ceil(`hi ${PROMPT_CANARY}`.length / 4) + 4 + 1;
    assert.equal(Number(probe.headers.get("x-ratelimit-remaining-tokens")), 3000 - real - probeReserve);
    t.diagnostic(
      `stream through A: ${real} real tokens (max_tokens 2000 reserved, then settled); B's remaining: ${probe.headers.get("x-ratelimit-remaining-tokens")}`,
    );

    // Budget shared: spent through both gateways, then insufficient_quota on either.
    const budgetKey = (
      JSON.parse(
        (await cli(["keys", "create", "-c", file, "--name", "b", "--budget-tokens", "60", "--json"])).out,
      ) as {
        key: string;
      }
    ).key;
    let last: Response | undefined;
    for (let i = 0; i < 20; i++) {
      last = await chat(i % 2 ? a.url : b.url, budgetKey, { max_tokens: 5 });
      if (last.status !== 200) break;
      await last.arrayBuffer();
    }
    assert.equal(last?.status, 429);
    assert.ok(last);
    assert.equal(((await last.json()) as { error: { code: string } }).error.code, "insufficient_quota");

    // The CLI reads the same usage.
    const report = await cli(["usage", "-c", file, "--group-by", "key", "--json"]);
    assert.equal(report.code, 0, report.out);
    const teamA = (
      JSON.parse(report.out) as { data: { key_name: string; requests: number; errors: number }[] }
    ).data.find((r) => r.key_name === "team-a");
    assert.equal(teamA?.requests, 200);
    assert.equal(teamA?.errors, 200 - accepted);
  });

  it("Redis stopped mid-test: the fail-open gateway keeps serving, the fail-closed one refuses cleanly; both recover", async (t) => {
    let redis = await requireService(t, "redis", () => startRedisAt());
    if (!redis) return;
    sim ??= await startSimServer({ model: "llama-3.1-8b", gpu: "H100-80GB", speed: 50 });
    const k = generateKey();
    // GitOps: the key is a hash in the spec; limits and usage live in Redis.
    const keys = `    keys:\n      - {name: gitops, hash: "${k.hash}", rpm: 1000}`;
    const dir = mkdtempSync(join(tmpdir(), "inferplane-policy-down-"));
    const openFile = join(dir, "open.yaml");
    const closedFile = join(dir, "closed.yaml");
    writeFileSync(
      openFile,
      specText(sim, redis.url, "open", "sqlite", keys).replace(
        "store: sqlite",
        `store: sqlite\n    sqlitePath: ${join(dir, "a.db")}`,
      ),
    );
    writeFileSync(
      closedFile,
      specText(sim, redis.url, "closed", "sqlite", keys).replace(
        "store: sqlite",
        `store: sqlite\n    sqlitePath: ${join(dir, "b.db")}`,
      ),
    );
    const open = await startGatewayProcess("policy-down-open", openFile, env);
    const closed = await startGatewayProcess("policy-down-closed", closedFile, env);
    gateways.push(open, closed);
    assert.equal((await chat(open.url, k.key)).status, 200);
    assert.equal((await chat(closed.url, k.key)).status, 200);
    const listed = (await (
      await fetch(`${open.url}/admin/keys`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).json()) as { data: { id: string; source: string; hash?: string }[] };
    const declared = listed.data.find((x) => x.id === k.id);
    assert.equal(declared?.source, "spec");
    assert.equal(declared?.hash, undefined);

    const port = redis.port;
    await redis.stop();
    const during = { open: [] as number[], closed: [] as number[] };
    for (let i = 0; i < 20; i++) {
      const [o, c] = await Promise.all([chat(open.url, k.key), chat(closed.url, k.key)]);
      during.open.push(o.status);
      during.closed.push(c.status);
      const cb = (await c.json()) as { error?: { code: string } };
      await o.arrayBuffer();
      if (c.status !== 200) {
        assert.equal(c.status, 503);
        assert.equal(cb.error?.code, "policy_unavailable");
        assert.equal(c.headers.get("retry-after"), "1");
      }
    }
    t.diagnostic(
      `Redis down: fail-open statuses ${[...new Set(during.open)]}, fail-closed ${[...new Set(during.closed)]}`,
    );
    assert.deepEqual([...new Set(during.open)], [200], "fail open: every request served");
    assert.deepEqual([...new Set(during.closed)], [503], "fail closed: every request refused with 503");
    assert.ok((await metric(open.url, "inferplane_gateway_policy_store_errors_total")) >= 20);
    assert.ok((await metric(closed.url, "inferplane_gateway_policy_store_errors_total")) >= 20);
    assert.equal(await metric(closed.url, "inferplane_gateway_policy_store_up"), 0);
    assert.equal(open.child.exitCode, null, "no crash");
    assert.equal(closed.child.exitCode, null, "no crash");

    redis = await startRedisAt(port);
    t.after(() => redis?.stop());
    const back = Date.now();
    let recovered = false;
    while (Date.now() - back < 15_000) {
      const res = await chat(closed.url, k.key);
      await res.arrayBuffer();
      if (res.status === 200) {
        recovered = true;
        break;
      }
      await sleep(200);
    }
    assert.ok(recovered, "the fail-closed gateway serves again once Redis is back");
    t.diagnostic(`fail-closed gateway recovered ${Date.now() - back} ms after Redis came back`);
    // The fail-open gateway reconnects on its own schedule (backoff up to 1 s): limits come back.
    let limited = false;
    while (Date.now() - back < 20_000 && !limited) {
      const res = await chat(open.url, k.key);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      limited = res.headers.get("x-ratelimit-limit-requests") === "1000";
      if (!limited) await sleep(200);
    }
    assert.ok(limited, "limits are enforced again on the fail-open gateway");
    assert.equal(await metric(closed.url, "inferplane_gateway_policy_store_up"), 1);
    // Usage counted while Redis was down reaches it after recovery (kept, then flushed).
    await sleep(600);
    const usage = (await (
      await fetch(`${open.url}/admin/usage?group_by=key`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json()) as { data: { key: string; requests: number }[] };
    const mine = usage.data.find((r) => r.key === k.id);
    // The restarted Redis is empty: it holds what was counted during the outage (20) and after (1).
    assert.ok(mine && mine.requests >= 21, `usage kept through the outage (${mine?.requests})`);
    assert.match(readFileSync(open.logFile, "utf8"), /policy store unreachable; failing open/);
    assert.match(readFileSync(closed.logFile, "utf8"), /policy store unreachable; failing closed/);
  });
});
