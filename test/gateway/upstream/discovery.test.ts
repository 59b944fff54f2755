import assert from "node:assert/strict";
import { describe, it, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  createDiscovery,
  DnsDiscovery,
  type DnsResolver,
  type EndpointSliceLike,
  endpointSlicesToUrls,
  KubernetesDiscovery,
  type SliceSource,
} from "../../../src/gateway/upstream/discovery/index.js";
import { startDnsmasq } from "../../services/dnsmasq.js";
import { requireService, waitFor } from "../../services/harness.js";

/** Collects onChange calls. */
function recorder() {
  const calls: string[][] = [];
  return { calls, onChange: (urls: string[]) => calls.push(urls) };
}

function dnsError(code: string): Error {
  return Object.assign(new Error(`query failed ${code}`), { code });
}

describe("static discovery", () => {
  it("reports the spec's URLs once, normalized and sorted", async () => {
    const d = createDiscovery({ kind: "static", urls: ["http://b:8000/", "http://a:8000", "http://a:8000"] });
    const r = recorder();
    await d.start(r.onChange);
    d.stop();
    assert.deepEqual(r.calls, [["http://a:8000", "http://b:8000"]]);
  });

  it("rejects a URL that is not http(s)", () => {
    assert.throws(() => createDiscovery({ kind: "static", urls: ["ftp://x"] }), /not http/);
    assert.throws(() => createDiscovery({ kind: "static", urls: ["not a url"] }));
  });
});

describe("DNS discovery with an injected resolver", () => {
  function fake(answers: {
    a?: string[] | Error;
    aaaa?: string[] | Error;
    srv?: Awaited<ReturnType<DnsResolver["resolveSrv"]>> | Error;
  }): DnsResolver {
    const answer = <T>(x: T | Error | undefined): Promise<T> =>
      x instanceof Error
        ? Promise.reject(x)
        : x === undefined
          ? Promise.reject(dnsError("ENODATA"))
          : Promise.resolve(x);
    return {
      resolve4: async () => answer(answers.a),
      resolve6: async () => answer(answers.aaaa),
      resolveSrv: async () => answer(answers.srv),
    };
  }

  it("A+AAAA: one family answering NODATA is fine; a real failure of one keeps the last set", async () => {
    const answers: Parameters<typeof fake>[0] = { a: ["10.0.0.2", "10.0.0.1"], aaaa: dnsError("ENODATA") };
    const errors: Error[] = [];
    const d = new DnsDiscovery({
      name: "vllm",
      port: 8000,
      resolver: fake(answers),
      onError: (e) => errors.push(e),
    });
    const r = recorder();
    await d.start(r.onChange);
    assert.deepEqual(r.calls, [["http://10.0.0.1:8000", "http://10.0.0.2:8000"]]);
    answers.a = ["10.0.0.1"];
    answers.aaaa = dnsError("ETIMEOUT");
    assert.deepEqual(await d.resolve().catch((e: Error) => e.message), "query failed ETIMEOUT");
    d.stop();
  });

  it("a failing first lookup is reported and start still resolves; nothing is reported as a set", async () => {
    const errors: Error[] = [];
    const d = new DnsDiscovery({
      name: "vllm",
      record: "A",
      port: 8000,
      resolver: fake({ a: dnsError("ESERVFAIL") }),
      onError: (e) => errors.push(e),
    });
    const r = recorder();
    await d.start(r.onChange);
    d.stop();
    assert.deepEqual(r.calls, []);
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? "", /DNS discovery of vllm \(A\): query failed ESERVFAIL/);
  });

  it("SRV: lowest priority only, ports from the records, '.' targets skipped, https when asked", async () => {
    const srv = [
      { name: "b.svc", port: 8001, priority: 10, weight: 5 },
      { name: "a.svc", port: 8000, priority: 10, weight: 5 },
      { name: "backup.svc", port: 9000, priority: 20, weight: 5 },
      { name: ".", port: 0, priority: 0, weight: 0 },
    ];
    const d = new DnsDiscovery({ name: "_https._tcp.vllm", scheme: "https", resolver: fake({ srv }) });
    assert.deepEqual(await d.resolve(), ["https://a.svc:8000", "https://b.svc:8001"]);
  });

  it("needs a port for A/AAAA records", () => {
    assert.throws(() => new DnsDiscovery({ name: "x", record: "A" }), /need a port/);
    assert.equal(createDiscovery({ kind: "dns", name: "_http._tcp.x" }) instanceof DnsDiscovery, true);
  });
});

test("DNS discovery against dnsmasq on loopback", async (t) => {
  const dns = await requireService(t, "dnsmasq", () =>
    startDnsmasq({
      hosts: {
        "vllm.test": ["127.0.0.5", "127.0.0.6", "::5"],
        "t1.test": ["127.0.0.11"],
        "t2.test": ["127.0.0.12", "::12"],
      },
      srv: [
        { service: "_http._tcp.vllm.test", target: "t1.test", port: 8001, priority: 10, weight: 5 },
        { service: "_http._tcp.vllm.test", target: "t2.test", port: 8002, priority: 10, weight: 5 },
        { service: "_http._tcp.vllm.test", target: "t3.test", port: 8003, priority: 20, weight: 5 },
      ],
    }),
  );
  if (!dns) return;
  const servers = [dns.server];

  await t.test("A+AAAA with a port: every address, IPv6 in brackets", async () => {
    const d = new DnsDiscovery({ name: "vllm.test", port: 8000, servers });
    assert.deepEqual(await d.resolve(), [
      "http://127.0.0.5:8000",
      "http://127.0.0.6:8000",
      "http://[::5]:8000",
    ]);
    const v4 = new DnsDiscovery({ name: "vllm.test", record: "A", port: 8000, servers });
    assert.deepEqual(await v4.resolve(), ["http://127.0.0.5:8000", "http://127.0.0.6:8000"]);
    const v6 = new DnsDiscovery({ name: "vllm.test", record: "AAAA", port: 8000, servers });
    assert.deepEqual(await v6.resolve(), ["http://[::5]:8000"]);
    // IPv4-only name: AAAA answers NODATA, which is no error.
    const t1 = new DnsDiscovery({ name: "t1.test", port: 80, servers });
    assert.deepEqual(await t1.resolve(), ["http://127.0.0.11:80"]);
  });

  await t.test(
    "SRV records carry the port; targets resolved through the same server on request",
    async () => {
      const names = new DnsDiscovery({ name: "_http._tcp.vllm.test", servers });
      assert.deepEqual(await names.resolve(), ["http://t1.test:8001", "http://t2.test:8002"]);
      const ips = new DnsDiscovery({ name: "_http._tcp.vllm.test", servers, resolveSrvTargets: true });
      assert.deepEqual(await ips.resolve(), [
        "http://127.0.0.11:8001",
        "http://127.0.0.12:8002",
        "http://[::12]:8002",
      ]);
    },
  );

  await t.test("reports changes only; an unknown name keeps the last set and reports the error", async () => {
    const errors: string[] = [];
    const d = new DnsDiscovery({
      name: "vllm.test",
      record: "A",
      port: 8000,
      servers,
      intervalMs: 30,
      onError: (e) => errors.push(e.message),
    });
    const r = recorder();
    await d.start(r.onChange);
    t.after(() => d.stop());
    assert.deepEqual(r.calls, [["http://127.0.0.5:8000", "http://127.0.0.6:8000"]]);
    await sleep(150); // several re-resolutions of an unchanged set
    assert.equal(r.calls.length, 1);

    await dns.setHosts({ "vllm.test": ["127.0.0.7"] });
    await waitFor(async () => (r.calls.length === 2 ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 20,
    });
    assert.deepEqual(r.calls[1], ["http://127.0.0.7:8000"]);

    await dns.setHosts({});
    await waitFor(async () => (errors.length > 0 ? true : undefined), { timeoutMs: 5_000, intervalMs: 20 });
    assert.match(errors[0] ?? "", /ENOTFOUND|ENODATA/);
    assert.equal(r.calls.length, 2, "a name that answers nothing does not empty the pool");

    await dns.setHosts({ "vllm.test": ["127.0.0.7", "127.0.0.8"] });
    await waitFor(async () => (r.calls.length === 3 ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 20,
    });
    assert.deepEqual(r.calls[2], ["http://127.0.0.7:8000", "http://127.0.0.8:8000"]);

    d.stop();
    await dns.setHosts({ "vllm.test": ["127.0.0.9"] });
    await sleep(150);
    assert.equal(r.calls.length, 3, "nothing after stop");
  });

  await t.test("a dead DNS server: errors reported, last set kept", async () => {
    const errors: string[] = [];
    const d = new DnsDiscovery({
      name: "vllm.test",
      record: "A",
      port: 80,
      servers,
      timeoutMs: 100,
      intervalMs: 20,
      onError: (e) => errors.push(e.message),
    });
    const r = recorder();
    await d.start(r.onChange);
    t.after(() => d.stop());
    await dns.stop();
    await waitFor(async () => (errors.length > 0 ? true : undefined), { timeoutMs: 10_000, intervalMs: 20 });
    d.stop();
    assert.deepEqual(r.calls, [["http://127.0.0.9:80"]], "the set the last subtest left");
    assert.match(errors[0] ?? "", /ECONNREFUSED|ETIMEOUT/);
  });
});

// ---------------------------------------------------------------- Kubernetes

/** An EndpointSlice as the EndpointSlice controller writes it (kubectl get endpointslice -o yaml). */
function slice(
  name: string,
  addressType: "IPv4" | "IPv6" | "FQDN",
  ports: { name?: string; port: number; protocol?: string }[],
  endpoints: { ip: string; ready?: boolean; serving?: boolean; terminating?: boolean; pod?: string }[],
): EndpointSliceLike {
  return {
    addressType,
    metadata: { name, namespace: "ai" },
    ports: ports.map((p) => ({ name: p.name ?? "", port: p.port, protocol: p.protocol ?? "TCP" })),
    endpoints: endpoints.map((e, i) => ({
      addresses: [e.ip],
      conditions: {
        ...(e.ready !== undefined ? { ready: e.ready } : {}),
        ...(e.serving !== undefined ? { serving: e.serving } : {}),
        ...(e.terminating !== undefined ? { terminating: e.terminating } : {}),
      },
      nodeName: `gpu-node-${i}`,
      targetRef: { kind: "Pod", namespace: "ai", name: e.pod ?? `vllm-${i}` },
      zone: "europe-west4-a",
    })),
  };
}

describe("endpointSlicesToUrls", () => {
  const ports = [
    { name: "http", port: 8000 },
    { name: "metrics", port: 9090 },
  ];

  it("ready endpoints × the named port, across several slices, sorted", () => {
    const slices = [
      slice("vllm-abc12", "IPv4", ports, [
        { ip: "10.0.1.7", ready: true, serving: true, terminating: false },
        { ip: "10.0.1.8", ready: false, serving: false, terminating: false }, // not ready yet (loading)
      ]),
      slice("vllm-def34", "IPv4", ports, [
        { ip: "10.0.2.3", ready: true, serving: true, terminating: false },
      ]),
    ];
    assert.deepEqual(endpointSlicesToUrls(slices, "http"), ["http://10.0.1.7:8000", "http://10.0.2.3:8000"]);
    assert.deepEqual(endpointSlicesToUrls(slices, "metrics"), [
      "http://10.0.1.7:9090",
      "http://10.0.2.3:9090",
    ]);
    assert.deepEqual(endpointSlicesToUrls(slices, "grpc"), [], "no such port");
  });

  it("nil conditions mean ready; terminating endpoints are left out while others are ready", () => {
    const slices = [
      slice("s", "IPv4", ports, [
        { ip: "10.0.0.1" }, // conditions unset
        { ip: "10.0.0.2", ready: false, serving: true, terminating: true },
        { ip: "10.0.0.3", ready: false, serving: false, terminating: true },
      ]),
    ];
    assert.deepEqual(endpointSlicesToUrls(slices, "http"), ["http://10.0.0.1:8000"]);
  });

  it("when nothing is ready, serving-while-terminating endpoints are used (KEP-1669)", () => {
    const slices = [
      slice("s", "IPv4", ports, [
        { ip: "10.0.0.2", ready: false, serving: true, terminating: true },
        { ip: "10.0.0.3", ready: false, serving: false, terminating: true },
        { ip: "10.0.0.4", ready: false, serving: false, terminating: false },
      ]),
    ];
    assert.deepEqual(endpointSlicesToUrls(slices, "http"), ["http://10.0.0.2:8000"]);
  });

  it("dual-stack: one family (IPv4 by default), never every pod twice; IPv6 in brackets", () => {
    const v4 = slice("vllm-v4", "IPv4", ports, [
      { ip: "10.0.0.1", ready: true },
      { ip: "10.0.0.2", ready: true },
    ]);
    const v6 = slice("vllm-v6", "IPv6", ports, [
      { ip: "fd00::1", ready: true },
      { ip: "fd00::2", ready: true },
    ]);
    assert.deepEqual(endpointSlicesToUrls([v6, v4], "http"), [
      "http://10.0.0.1:8000",
      "http://10.0.0.2:8000",
    ]);
    assert.deepEqual(endpointSlicesToUrls([v6, v4], "http", { addressType: "IPv6" }), [
      "http://[fd00::1]:8000",
      "http://[fd00::2]:8000",
    ]);
    assert.deepEqual(endpointSlicesToUrls([v6], "http"), ["http://[fd00::1]:8000", "http://[fd00::2]:8000"]);
    const notReadyV4 = slice("vllm-v4", "IPv4", ports, [{ ip: "10.0.0.1", ready: false }]);
    assert.deepEqual(endpointSlicesToUrls([notReadyV4, v6], "http"), [
      "http://[fd00::1]:8000",
      "http://[fd00::2]:8000",
    ]);
  });

  it("ports per slice (a rollout changing the target port), the only port without a name, UDP ignored", () => {
    const old = slice("old", "IPv4", [{ name: "http", port: 8000 }], [{ ip: "10.0.0.1", ready: true }]);
    const next = slice("new", "IPv4", [{ name: "http", port: 8080 }], [{ ip: "10.0.0.2", ready: true }]);
    assert.deepEqual(endpointSlicesToUrls([old, next], "http"), [
      "http://10.0.0.1:8000",
      "http://10.0.0.2:8080",
    ]);
    const single = slice("one", "IPv4", [{ name: "http", port: 8000 }], [{ ip: "10.0.0.3", ready: true }]);
    assert.deepEqual(endpointSlicesToUrls([single]), ["http://10.0.0.3:8000"]);
    const udp = slice(
      "udp",
      "IPv4",
      [{ name: "http", port: 8000, protocol: "UDP" }],
      [{ ip: "10.0.0.4", ready: true }],
    );
    assert.deepEqual(endpointSlicesToUrls([udp], "http"), []);
    const ambiguous = slice("two", "IPv4", ports, [{ ip: "10.0.0.5", ready: true }]);
    assert.deepEqual(endpointSlicesToUrls([ambiguous]), [], "two named ports and no name: none chosen");
  });

  it("slices with no endpoints or ports (a Service scaled to zero), duplicates across slices, https", () => {
    const empty: EndpointSliceLike = { addressType: "IPv4", endpoints: null, ports: null };
    assert.deepEqual(endpointSlicesToUrls([empty], "http"), []);
    const a = slice("a", "IPv4", ports, [{ ip: "10.0.0.1", ready: true }]);
    const dup = slice("b", "IPv4", ports, [{ ip: "10.0.0.1", ready: true }]);
    assert.deepEqual(endpointSlicesToUrls([a, dup], "http", { scheme: "https" }), ["https://10.0.0.1:8000"]);
  });

  it("FQDN slices (ExternalName-style) give host names", () => {
    const f = slice("ext", "FQDN", ports, [{ ip: "vllm.example.internal", ready: true }]);
    assert.deepEqual(endpointSlicesToUrls([f], "http"), ["http://vllm.example.internal:8000"]);
  });
});

describe("Kubernetes discovery (list+watch source injected; no API server)", () => {
  /** A source the test drives: `emit` plays list results and watch events, `fail` kills it. */
  class FakeSource implements SliceSource {
    onSlices: ((s: readonly EndpointSliceLike[], fromList: boolean) => void) | undefined;
    onError: ((err: unknown) => void) | undefined;
    stopped = false;
    async start(onSlices: FakeSource["onSlices"] & {}, onError: FakeSource["onError"] & {}) {
      this.onSlices = onSlices;
      this.onError = onError;
    }
    stop() {
      this.stopped = true;
    }
  }
  const ports = [{ name: "http", port: 8000 }];

  it("reports the list, then changes only, and re-lists through a fresh source with backoff after errors", async () => {
    const sources: FakeSource[] = [];
    const selectors: string[] = [];
    const errors: string[] = [];
    const d = new KubernetesDiscovery({
      namespace: "ai",
      service: "vllm",
      portName: "http",
      backoffInitialMs: 20,
      backoffMaxMs: 40,
      onError: (e) => errors.push(e.message),
      sourceFactory: (sel) => {
        selectors.push(sel);
        const s = new FakeSource();
        sources.push(s);
        return s;
      },
    });
    const r = recorder();
    await d.start(r.onChange);
    assert.deepEqual(selectors, ["kubernetes.io/service-name=vllm"]);
    const s0 = sources[0] as FakeSource;
    s0.onSlices?.([slice("a", "IPv4", ports, [{ ip: "10.0.0.1", ready: true }])], true);
    s0.onSlices?.([slice("a", "IPv4", ports, [{ ip: "10.0.0.1", ready: true }])], false); // no change
    s0.onSlices?.(
      [
        slice("a", "IPv4", ports, [
          { ip: "10.0.0.1", ready: true },
          { ip: "10.0.0.2", ready: true },
        ]),
      ],
      false,
    );
    assert.deepEqual(r.calls, [["http://10.0.0.1:8000"], ["http://10.0.0.1:8000", "http://10.0.0.2:8000"]]);

    s0.onError?.(new Error("watch closed: 500"));
    assert.equal(s0.stopped, true);
    assert.match(errors[0] ?? "", /ai\/vllm.*re-list in 20 ms.*watch closed: 500/);
    await waitFor(async () => (sources.length === 2 ? true : undefined), { timeoutMs: 2_000, intervalMs: 5 });
    const s1 = sources[1] as FakeSource;
    s1.onError?.(new Error("forbidden"));
    await waitFor(async () => (sources.length === 3 ? true : undefined), { timeoutMs: 2_000, intervalMs: 5 });
    assert.match(errors[1] ?? "", /re-list in 40 ms/);
    const s2 = sources[2] as FakeSource;
    s2.onSlices?.([slice("a", "IPv4", ports, [{ ip: "10.0.0.2", ready: true }])], true); // a successful list
    assert.deepEqual(r.calls.at(-1), ["http://10.0.0.2:8000"]);
    assert.equal(r.calls.length, 3, "the set stayed in use while the watch was down");
    s2.onError?.(new Error("again"));
    assert.match(errors[2] ?? "", /re-list in 20 ms/, "a successful list reset the backoff");

    d.stop();
    await sleep(60);
    assert.equal(sources.length, 3, "no re-list after stop");
    s2.onSlices?.([], true);
    assert.equal(r.calls.length, 3, "no report after stop");
  });

  it("a source that cannot even be built (no kubeconfig) is retried the same way", async () => {
    let attempts = 0;
    const errors: string[] = [];
    const d = new KubernetesDiscovery({
      namespace: "ai",
      service: "vllm",
      backoffInitialMs: 10,
      onError: (e) => errors.push(e.message),
      sourceFactory: () => {
        attempts++;
        throw new Error("no kubeconfig");
      },
    });
    await d.start(() => {});
    await waitFor(async () => (attempts >= 3 ? true : undefined), { timeoutMs: 2_000, intervalMs: 5 });
    d.stop();
    assert.match(errors[0] ?? "", /no kubeconfig/);
  });
});
