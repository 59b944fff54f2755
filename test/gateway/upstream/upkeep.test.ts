// The upkeep loop on its own: outlier bookkeeping with the settings it reads at each failure,
// watchers that follow the pools across syncs, and health checks that mark a dead endpoint down.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { adapterForPool } from "../../../src/engines/index.js";
import { createBalancer } from "../../../src/gateway/routing/balancers/index.js";
import type { PoolInfo } from "../../../src/gateway/types.js";
import { UpstreamPool } from "../../../src/gateway/upstream/pool.js";
import { EndpointUpkeep } from "../../../src/gateway/upstream/upkeep.js";
import { parseSpec } from "../../../src/spec/load.js";
import type { GatewaySpec } from "../../../src/spec/schema.js";
import { closedPort, type FakeUpstream, startFakeUpstream } from "./helpers.js";

function gatewaySpec(extra = ""): GatewaySpec {
  return parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models: [{name: x, source: hf://meta-llama/Llama-3.1-8B-Instruct, endpoints: ["http://127.0.0.1:1"]}]
gateway:
  outlierDetection: {consecutive5xx: 2, interval: 50ms, baseEjectionTime: 10s, maxEjectionPercent: 50${extra}}
`).platform.gateway;
}

function pool(name: string, urls: string[]): UpstreamPool {
  const info: PoolInfo = { name, engine: "vllm", upstreamModel: "m" };
  const p = new UpstreamPool(info, createBalancer("least-request"), adapterForPool(info));
  p.setEndpoints(urls);
  return p;
}

describe("EndpointUpkeep", () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of closers) await c();
  });

  it("ejects after the configured failures in a row, reading the settings at each failure", () => {
    let g = gatewaySpec();
    const p = pool("a", ["http://a1", "http://a2"]);
    const upkeep = new EndpointUpkeep(
      () => [p],
      () => g,
      () => {},
    );
    const ejected: string[] = [];
    upkeep.onEject = (_pool, ep) => ejected.push(ep.url);
    const ep = p.endpoints[0];
    assert.ok(ep);
    upkeep.failure(p, ep);
    assert.deepEqual(ejected, []);
    upkeep.success(p, ep);
    upkeep.failure(p, ep);
    assert.deepEqual(ejected, [], "a success broke the streak");
    g = { ...g, outlierDetection: { ...g.outlierDetection, consecutive5xx: 1 } };
    upkeep.failure(p, ep);
    assert.deepEqual(ejected, ["http://a1"]);
    assert.ok(ep.ejectedUntil > performance.now());
  });

  it("health checks follow the pools: started, replaced on a new interval, stopped with the pool; a dead endpoint goes down", async () => {
    const healthPath = adapterForPool({ name: "a", engine: "vllm", upstreamModel: "m" }).healthPath;
    const up: FakeUpstream = await startFakeUpstream({ [healthPath]: { status: 200 } });
    closers.push(() => up.close());
    const dead = `http://127.0.0.1:${await closedPort()}`;
    let pools = [pool("a", [up.url, dead]), pool("b", [up.url])];
    let g = gatewaySpec();
    const upkeep = new EndpointUpkeep(
      () => pools,
      () => g,
      () => {},
    );
    closers.push(async () => upkeep.stop());
    upkeep.start();
    assert.deepEqual(
      upkeep.watching().map((w) => [w.pool.info.name, w.intervalMs]),
      [
        ["a", 50],
        ["b", 50],
      ],
    );
    const deadline = Date.now() + 5_000;
    const a = pools[0] as UpstreamPool;
    const checked = () => a.endpoints[1]?.healthy === false && up.requests.some((r) => r.path === healthPath);
    while (Date.now() < deadline && !checked()) await new Promise((r) => setTimeout(r, 20));
    assert.equal(a.endpoints[1]?.healthy, false, "the refused endpoint is marked down");
    assert.equal(a.endpoints[0]?.healthy, true);
    assert.ok(up.requests.some((r) => r.path === healthPath));
    g = { ...g, outlierDetection: { ...g.outlierDetection, interval: 80 } };
    pools = [a];
    upkeep.sync();
    assert.deepEqual(
      upkeep.watching().map((w) => [w.pool.info.name, w.intervalMs]),
      [["a", 80]],
    );
    upkeep.stop();
    assert.deepEqual(upkeep.watching(), []);
  });
});
