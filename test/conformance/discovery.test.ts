// The discovery conformance suite on every driver, each over a real source: the static list, a
// real DNS server (dnsmasq from test/services), a real Kubernetes API server (test/services/kube.ts)
// with EndpointSlices applied through it. With CI=true a missing service fails.
import { randomUUID } from "node:crypto";
import { Resolver } from "node:dns/promises";
import { describe } from "node:test";
import { DnsDiscovery } from "../../src/gateway/upstream/discovery/dns.js";
import { KubernetesDiscovery } from "../../src/gateway/upstream/discovery/kubernetes.js";
import { StaticDiscovery } from "../../src/gateway/upstream/discovery/static.js";
import { startDnsmasq } from "../services/dnsmasq.js";
import { waitFor } from "../services/harness.js";
import { type KubeService, startKube } from "../services/kube.js";
import { discoveryConformance } from "./discovery.suite.js";
import { sharedService } from "./shared-service.js";

/** `http://host:port` → host, port. */
function parts(urls: readonly string[]): { hosts: string[]; port: number } {
  const parsed = urls.map((u) => new URL(u));
  const ports = new Set(parsed.map((u) => Number(u.port)));
  if (ports.size !== 1) throw new Error(`the suite's sets share one port: ${urls.join(", ")}`);
  return { hosts: parsed.map((u) => u.hostname), port: [...ports][0] as number };
}

describe("Discovery: static", () =>
  discoveryConformance(async (_t, initial) => ({
    discovery: new StaticDiscovery({ urls: initial }),
    settleMs: 0,
  })));

const dnsmasq = sharedService("dnsmasq", () => startDnsmasq());

describe("Discovery: DNS (A records from dnsmasq)", () =>
  discoveryConformance(async (t, initial) => {
    const svc = await dnsmasq(t);
    if (!svc) return undefined;
    const name = `engine-${randomUUID().slice(0, 8)}.test`;
    const { hosts, port } = parts(initial);
    await svc.setHosts({ [name]: hosts });
    // dnsmasq re-reads its hosts file on SIGHUP, a moment later: the source answers once it has.
    const resolver = new Resolver({ timeout: 500, tries: 1 });
    resolver.setServers([svc.server]);
    const want = JSON.stringify([...hosts].sort());
    await waitFor(
      async () => (JSON.stringify((await resolver.resolve4(name)).sort()) === want ? true : undefined),
      {
        timeoutMs: 5_000,
        what: `dnsmasq answering ${name}`,
      },
    );
    const intervalMs = 100;
    return {
      discovery: new DnsDiscovery({ name, port, record: "A", servers: [svc.server], intervalMs }),
      change: (urls) => svc.setHosts({ [name]: parts(urls).hosts }),
      settleMs: 5_000,
    };
  }));

const kube = sharedService("kube", () => startKube({ crds: false }));

/** The one EndpointSlice of `service`, listing `urls` as ready endpoints. */
async function applySlice(k: KubeService, service: string, urls: readonly string[]): Promise<void> {
  const { hosts, port } = parts(urls);
  await k.kubectlOk(["apply", "-f", "-"], {
    stdin: JSON.stringify({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: `${service}-a`,
        namespace: "default",
        labels: { "kubernetes.io/service-name": service },
      },
      addressType: "IPv4",
      ports: [{ name: "http", port, protocol: "TCP" }],
      endpoints: hosts.map((h) => ({ addresses: [h], conditions: { ready: true } })),
    }),
  });
}

describe("Discovery: Kubernetes (EndpointSlices on a real API server)", () =>
  discoveryConformance(async (t, initial) => {
    const k = await kube(t);
    if (!k) return undefined;
    const service = `engine-${randomUUID().slice(0, 8)}`;
    await k.kubectlOk(["apply", "-f", "-"], {
      stdin: JSON.stringify({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: service, namespace: "default" },
        spec: { ports: [{ name: "http", port: 8000 }] },
      }),
    });
    await applySlice(k, service, initial);
    return {
      discovery: new KubernetesDiscovery({
        namespace: "default",
        service,
        portName: "http",
        kubeconfig: k.kubeconfig,
      }),
      change: (urls) => applySlice(k, service, urls),
      settleMs: 30_000,
    };
  }));
