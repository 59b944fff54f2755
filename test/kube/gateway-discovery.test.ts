// The gateway itself (not only its discovery module) following a Service's EndpointSlices on a
// real API server: simulated replicas come and go through the API while requests flow, with no
// restart, and a replica gone from the slices gets no request after the gateway has seen it go.
import assert from "node:assert/strict";
import { after, it } from "node:test";
import { type GatewayHandle, startGateway } from "../../src/gateway/server.js";
import { type SimServerHandle, startSimServer } from "../../src/sim/server.js";
import { parseSpec } from "../../src/spec/load.js";
import { freePort, requireService, waitFor } from "../services/harness.js";
import { startKube } from "../services/kube.js";
import { localAddress } from "./cluster.js";

function slice(name: string, host: string, port: number) {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace: "default", labels: { "kubernetes.io/service-name": "llama" } },
    addressType: "IPv4",
    ports: [{ name: "http", port, protocol: "TCP" }],
    endpoints: [{ addresses: [host], conditions: { ready: true } }],
  };
}

const sims: SimServerHandle[] = [];
let gw: GatewayHandle | undefined;
const savedKubeconfig = process.env.KUBECONFIG;
after(async () => {
  await gw?.close();
  await Promise.all(sims.map((s) => s.stop()));
  if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = savedKubeconfig;
});

it("the gateway routes to the replicas a Service's EndpointSlices name, following adds and removals", async (t) => {
  const kube = await requireService(t, "kube", () => startKube({ crds: false }));
  if (!kube) return;
  const host = localAddress();
  for (const _ of [0, 1]) {
    const port = await freePort();
    sims.push(await startSimServer({ model: "llama-3.1-8b", servedModelName: "m", host, port, speed: 200 }));
  }
  const [a, b] = sims as [SimServerHandle, SimServerHandle];
  const urlOf = (s: SimServerHandle) => `http://${host}:${s.port}`;
  const served = (s: SimServerHandle) => s.engine?.counters.requestSuccess ?? 0;
  const apply = (obj: unknown) => kube.kubectlOk(["apply", "-f", "-"], { stdin: JSON.stringify(obj) });

  await apply({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "llama", namespace: "default" },
    spec: { ports: [{ name: "http", port: 8000 }] },
  });
  await apply(slice("llama-a", host, a.port));

  // The gateway finds the API server the way a user's would outside a cluster: $KUBECONFIG.
  process.env.KUBECONFIG = kube.kubeconfig;
  const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - name: llama
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    servedModelName: m
    discovery: {kind: kubernetes, service: llama, namespace: default, portName: http}
routes:
  - name: chat
    targets: [{model: llama}]
    balancer: round-robin
`);
  gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: () => {} });
  const pool = gw.pools.get("llama");
  assert.ok(pool, "pool llama exists");
  const endpointsAre = (want: SimServerHandle[], what: string) =>
    waitFor(
      async () => {
        const have = pool.endpoints.map((e) => e.url).sort();
        return JSON.stringify(have) === JSON.stringify(want.map(urlOf).sort()) ? true : undefined;
      },
      { timeoutMs: 30_000, what },
    );
  const send = async () => {
    const r = await fetch(`${gw?.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", prompt: "x", max_tokens: 1 }),
    });
    return { status: r.status, body: await r.text() };
  };
  const sendMany = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const r = await send();
      assert.equal(r.status, 200, r.body);
    }
  };

  await endpointsAre([a], "the gateway discovered replica a");
  await sendMany(6);
  assert.equal(served(a), 6);
  assert.equal(served(b), 0, "b is in no slice yet");

  await apply(slice("llama-b", host, b.port));
  await endpointsAre([a, b], "the gateway discovered replica b without a restart");
  await sendMany(10);
  assert.ok(served(b) > 0, "b serves once its slice exists");

  // Remove a while traffic flows: no request fails, and once the gateway has seen a go, a gets
  // nothing more (it is still running, so a request routed to it would succeed and be counted).
  let flowing = true;
  const failures: string[] = [];
  const traffic = (async () => {
    while (flowing) {
      const r = await send();
      if (r.status !== 200) failures.push(`${r.status} ${r.body}`);
    }
  })();
  await kube.kubectlOk(["delete", "endpointslice", "llama-a", "-n", "default"]);
  await endpointsAre([b], "the gateway dropped replica a");
  const aAtRemoval = served(a);
  await sendMany(10);
  flowing = false;
  await traffic;
  assert.deepEqual(failures, [], "no request failed while the slices changed");
  assert.equal(served(a), aAtRemoval, "the removed replica got no request after the gateway saw it go");

  // Every slice gone: the route answers 503 in the OpenAI error shape, and comes back when a
  // slice does.
  await kube.kubectlOk(["delete", "endpointslice", "llama-b", "-n", "default"]);
  await endpointsAre([], "the gateway dropped every replica");
  const empty = await send();
  assert.equal(empty.status, 503, empty.body);
  assert.equal(typeof JSON.parse(empty.body).error?.message, "string");
  await apply(slice("llama-a2", host, a.port));
  await endpointsAre([a], "replica a came back through a new slice");
  const before = served(a);
  await sendMany(3);
  assert.equal(served(a), before + 3);
});
