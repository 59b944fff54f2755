// Endpoints from DNS (a real dnsmasq): replicas come and go without a restart.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { type GatewayHandle, startGateway } from "../../src/gateway/server.js";
import { type SimServerHandle, startSimServer } from "../../src/sim/server.js";
import { parseSpec } from "../../src/spec/load.js";
import { startDnsmasq } from "../services/dnsmasq.js";
import { freePort, requireService } from "../services/harness.js";

describe("DNS discovery", () => {
  const sims: SimServerHandle[] = [];
  let gw: GatewayHandle | undefined;
  after(async () => {
    await gw?.close();
    await Promise.all(sims.map((s) => s.stop()));
  });

  it("follows the A records of a name: two replicas, then one", async (t) => {
    const port = await freePort();
    for (const host of ["127.0.0.2", "127.0.0.3"]) {
      sims.push(await startSimServer({ model: "llama-3.1-8b", servedModelName: "m", host, port, speed: 50 }));
    }
    const dns = await requireService(t, "dnsmasq", () =>
      startDnsmasq({ hosts: { "llama.test": ["127.0.0.2", "127.0.0.3"] } }),
    );
    if (!dns) return;
    const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - name: llama
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    servedModelName: m
    discovery: {kind: dns, name: llama.test, record: A, port: ${port}, interval: 200ms, servers: ["${dns.server}"]}
routes:
  - name: chat
    targets: [{model: llama}]
    balancer: round-robin
`);
    gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: () => {} });
    const pool = gw.pools.get("llama");
    assert.deepEqual(
      pool?.endpoints.map((e) => e.url),
      [`http://127.0.0.2:${port}`, `http://127.0.0.3:${port}`],
    );
    const send = () =>
      fetch(`${gw?.url}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "chat", prompt: "x", max_tokens: 1 }),
      }).then((r) => r.status);
    for (let i = 0; i < 10; i++) assert.equal(await send(), 200);
    assert.ok(
      sims.every((s) => (s.engine?.counters.requestSuccess ?? 0) > 0),
      "both replicas served",
    );

    await dns.setHosts({ "llama.test": ["127.0.0.3"] });
    const deadline = Date.now() + 5_000;
    while ((pool?.endpoints.length ?? 0) !== 1 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      pool?.endpoints.map((e) => e.url),
      [`http://127.0.0.3:${port}`],
    );
    const before = sims[0]?.engine?.counters.requestSuccess ?? 0;
    for (let i = 0; i < 5; i++) assert.equal(await send(), 200);
    assert.equal(sims[0]?.engine?.counters.requestSuccess, before, "the removed replica gets nothing");
    await dns.stop();
  });
});
