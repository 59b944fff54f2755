// A replica dies under load: requests that had not started streaming move to another replica,
// streams on the dead one end with an SSE error event, nothing hangs, the endpoint is ejected
// and comes back after a restart.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { type GatewayHandle, startGateway } from "../../src/gateway/server.js";
import { type SimServerHandle, startSimServer } from "../../src/sim/server.js";
import { parseSpec } from "../../src/spec/load.js";

interface StreamResult {
  status: number;
  tokens: number;
  done: boolean;
  errorEvent: boolean;
  thrown?: string;
  ms: number;
}

async function stream(url: string, maxTokens: number): Promise<StreamResult> {
  const start = performance.now();
  const out: StreamResult = { status: 0, tokens: 0, done: false, errorEvent: false, ms: 0 };
  try {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "chat",
        messages: [{ role: "user", content: "Tell me a long story." }],
        max_tokens: maxTokens,
        ignore_eos: true,
        stream: true,
      }),
      signal: AbortSignal.timeout(20_000),
    });
    out.status = res.status;
    const text = await res.text();
    for (const line of text.split("\n")) {
      if (!line.startsWith("data: ")) continue;
      const data = line.slice(6);
      if (data === "[DONE]") out.done = true;
      else if (data.startsWith('{"error"')) out.errorEvent = true;
      else if ((JSON.parse(data) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content)
        out.tokens++;
    }
  } catch (err) {
    out.thrown = (err as Error).message;
  }
  out.ms = performance.now() - start;
  return out;
}

describe("a replica dies under load", () => {
  const sims: SimServerHandle[] = [];
  let gw: GatewayHandle | undefined;
  after(async () => {
    await gw?.close();
    await Promise.all(sims.map((s) => s.stop()));
  });

  it("4 replicas, 50 concurrent streams, one replica stopped mid-load", async (t) => {
    for (let i = 0; i < 4; i++) {
      sims.push(
        await startSimServer({ model: "llama-3.1-8b", gpu: "H100-80GB", servedModelName: "m", speed: 1 }),
      );
    }
    const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - name: llama
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    servedModelName: m
    endpoints: [${sims.map((s) => `"${s.url}"`).join(", ")}]
routes:
  - name: chat
    targets: [{model: llama}]
    balancer: least-request
gateway:
  timeouts: {connect: 500ms, firstByte: 5s, idle: 2s, total: 15s}
  retries: {attempts: 3}
  outlierDetection: {consecutive5xx: 1, interval: 200ms, baseEjectionTime: 1s, maxEjectionPercent: 50}
`);
    gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: () => {} });
    const victim = sims[2] as SimServerHandle;
    const pool = gw.pools.get("llama");
    assert.ok(pool);
    const victimState = () => pool.endpoints.find((e) => e.url === victim.url);

    // 50 streams of 150 tokens (~1.3 s each at ~8 ms per token), started 20 ms apart.
    const runs: Promise<StreamResult>[] = [];
    let inFlightAtKill = 0;
    for (let i = 0; i < 50; i++) {
      runs.push(stream(gw.url, 150));
      if (i === 25) {
        inFlightAtKill = victimState()?.inFlight ?? 0;
        await victim.kill();
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const results = await Promise.all(runs);
    const ok = results.filter((r) => r.status === 200 && r.done && r.tokens === 150);
    const cut = results.filter((r) => r.status === 200 && !r.done);
    const other = results.filter((r) => !ok.includes(r) && !cut.includes(r));
    t.diagnostic(`completed ${ok.length}, cut ${cut.length}, on the victim when it died ${inFlightAtKill}`);
    assert.deepEqual(other, [], "every request either completed or was a stream cut by the dead replica");
    assert.ok(inFlightAtKill > 0, "the victim had streams when it died");
    assert.ok(
      cut.length <= inFlightAtKill,
      `${cut.length} cut streams, ${inFlightAtKill} were on the victim`,
    );
    for (const r of cut)
      assert.equal(r.errorEvent, true, "a cut stream ends with an SSE error event, never silently");
    assert.ok(
      ok.length >= 50 - inFlightAtKill,
      "requests that had not started streaming succeeded elsewhere",
    );
    assert.ok(
      results.every((r) => r.ms < 15_000 && r.thrown === undefined),
      "nothing hung past its timeout",
    );

    // Ejected (or marked down by the health check), then back after a restart.
    const state = victimState();
    assert.ok(
      state && (state.ejectedUntil > performance.now() || !state.healthy),
      "the dead endpoint is out of rotation",
    );
    await victim.restart();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const s = victimState();
      if (s?.healthy && s.ejectedUntil <= performance.now()) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const back = victimState();
    assert.ok(back?.healthy && back.ejectedUntil <= performance.now(), "the endpoint returned after restart");
    const before = victim.engine?.counters.requestSuccess ?? 0;
    await Promise.all(Array.from({ length: 12 }, () => stream(gw?.url ?? "", 3)));
    assert.ok(
      (victim.engine?.counters.requestSuccess ?? 0) > before,
      "the restarted replica takes traffic again",
    );
  });
});
