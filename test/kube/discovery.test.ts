// Gateway discovery (src/gateway/upstream/discovery/kubernetes.ts) against a real API server:
// a Service whose EndpointSlices point at replicas on loopback, replicas added and removed
// through the API, and the discovered set following each change.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { it } from "node:test";
import { KubernetesDiscovery } from "../../src/gateway/upstream/discovery/kubernetes.js";
import { requireService, waitFor } from "../services/harness.js";
import { startKube } from "../services/kube.js";
import { localAddress } from "./cluster.js";

async function replica(name: string, host: string): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.writeHead(200, { "content-type": "text/plain" }).end(name));
  await new Promise<void>((ok) => server.listen(0, host, ok));
  return { server, port: (server.address() as AddressInfo).port };
}

// Each replica is an endpoint in a slice of its own, carrying its own port number (ports are
// per slice; the simulated replicas share one address).
function slice(name: string, host: string, port: number, ready = true) {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace: "default", labels: { "kubernetes.io/service-name": "engine" } },
    addressType: "IPv4",
    ports: [{ name: "http", port, protocol: "TCP" }],
    endpoints: [{ addresses: [host], conditions: { ready } }],
  };
}

it("discovery follows EndpointSlices added, made unready and removed through the API server", async (t) => {
  const kube = await requireService(t, "kube", () => startKube({ crds: false }));
  if (!kube) return;
  const host = localAddress();
  const [a, b] = [await replica("a", host), await replica("b", host)];
  t.after(() => {
    a.server.close();
    b.server.close();
  });
  await kube.kubectlOk(["apply", "-f", "-"], {
    stdin: JSON.stringify({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "engine", namespace: "default" },
      spec: { ports: [{ name: "http", port: 8000 }] },
    }),
  });
  const seen: string[][] = [];
  const errors: string[] = [];
  const d = new KubernetesDiscovery({
    namespace: "default",
    service: "engine",
    portName: "http",
    kubeconfig: kube.kubeconfig,
    onError: (e) => errors.push(e.message),
  });
  let current: string[] = [];
  await d.start((urls) => {
    current = urls;
    seen.push(urls);
  });
  t.after(() => d.stop());
  const urlA = `http://${host}:${a.port}`;
  const urlB = `http://${host}:${b.port}`;
  const until = (want: string[], what: string) =>
    waitFor(
      async () =>
        JSON.stringify([...current].sort()) === JSON.stringify([...want].sort()) ? true : undefined,
      {
        timeoutMs: 30_000,
        what,
      },
    );

  await kube.kubectlOk(["apply", "-f", "-"], { stdin: JSON.stringify(slice("engine-a", host, a.port)) });
  await until([urlA], "replica a discovered");
  await kube.kubectlOk(["apply", "-f", "-"], { stdin: JSON.stringify(slice("engine-b", host, b.port)) });
  await until([urlA, urlB], "replica b added");
  // What discovery hands the gateway answers: both replicas are really there.
  for (const u of current) assert.equal((await fetch(u)).status, 200);
  await kube.kubectlOk(["apply", "-f", "-"], {
    stdin: JSON.stringify(slice("engine-a", host, a.port, false)),
  });
  await until([urlB], "replica a unready");
  await kube.kubectlOk(["delete", "endpointslice", "engine-a", "-n", "default"]);
  await kube.kubectlOk(["delete", "endpointslice", "engine-b", "-n", "default"]);
  await until([], "every replica removed");
  // Never a removed replica after its removal: every set reported after b was added and a
  // made unready holds no a.
  const afterUnready = seen.slice(seen.findIndex((s) => s.length === 1 && s[0] === urlB));
  assert.ok(
    afterUnready.every((s) => !s.includes(urlA)),
    JSON.stringify(seen),
  );
  assert.deepEqual(errors, []);
});
