// Scale to zero, the part that must work with no engine pod at all: the KEDA ScaledObject render
// writes for `minReplicas: 0` is accepted by a real API server (KEDA's own CRD), and its
// activation query, run by a real Prometheus over the real gateway's /metrics while the pool
// has no endpoint (an empty Service on the real API server), turns positive on the first
// requests — and stays at zero without them. KEDA itself does not run here; its rule is
// "activate when the value exceeds activationThreshold" (keda.sh, Prometheus scaler).
import assert from "node:assert/strict";
import { after, it } from "node:test";
import { type GatewayHandle, startGateway } from "../../src/gateway/server.js";
import { parseSpec } from "../../src/spec/load.js";
import { exampleWith, render } from "../deploy/helpers.js";
import { requireService, startPrometheus, waitFor } from "../services/index.js";
import { startKube } from "../services/kube.js";

interface Trigger {
  name?: string;
  metadata: Record<string, string>;
}

let gw: GatewayHandle | undefined;
const savedKubeconfig = process.env.KUBECONFIG;
after(async () => {
  await gw?.close();
  if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
  else process.env.KUBECONFIG = savedKubeconfig;
});

it("at zero pods, the rendered KEDA activation query sees the gateway's requests for the model's route", async (t) => {
  const zero = exampleWith("      minReplicas: 2\n", "      minReplicas: 0\n").replace(
    "    replicas: 2\n    autoscaling:",
    "    replicas: 0\n    autoscaling:",
  );
  const so = render(zero).base.objects.find((o) => o.object.kind === "ScaledObject")?.object as unknown as {
    spec: { minReplicaCount: number; triggers: Trigger[] };
  };
  assert.equal(so.spec.minReplicaCount, 0);
  const activation = so.spec.triggers.find((x) => x.name === "gateway-activation");
  assert.ok(activation, "a gateway-activation trigger");
  const query = activation.metadata.query ?? "";
  const threshold = Number(activation.metadata.activationThreshold);
  const route = /route=~"([^"]+)"/.exec(query)?.[1];
  assert.equal(route, "qwen2.5-7b-instruct");
  // Rendered objects leave the namespace to kustomize; the query names the platform's.
  const namespace = /namespace="([^"]+)"/.exec(query)?.[1] ?? "";
  assert.equal(namespace, "ai-inference");

  const kube = await requireService(t, "kube", () => startKube());
  if (!kube) return;
  await kube.kubectlOk(["create", "namespace", namespace]);
  // KEDA's CRD validates the object as rendered.
  await kube.kubectlOk(["apply", "--server-side", "-n", namespace, "-f", "-"], { stdin: JSON.stringify(so) });

  // The engine's Service with no pod behind it: no EndpointSlice endpoint.
  await kube.kubectlOk(["apply", "-f", "-"], {
    stdin: JSON.stringify({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "vllm-qwen-7b", namespace: namespace },
      spec: { ports: [{ name: "http", port: 8000 }] },
    }),
  });
  process.env.KUBECONFIG = kube.kubeconfig;
  const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t, namespace: ${namespace}}
models:
  - name: qwen-7b
    source: hf://Qwen/Qwen2.5-7B-Instruct-AWQ
    discovery: {kind: kubernetes, service: vllm-qwen-7b, portName: http}
routes:
  - name: ${route}
    targets: [{model: qwen-7b}]
`);
  gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: () => {}, env: {} });
  assert.deepEqual(gw.pools.get("qwen-7b")?.endpoints, [], "no endpoint: the model is at zero");

  const prom = await requireService(t, "prometheus", () =>
    startPrometheus({
      // In a cluster, the ServiceMonitor's target carries the pod's namespace.
      scrapeTargets: [
        { job: "gateway", targets: [new URL(gw?.url ?? "").host], labels: { namespace: namespace } },
      ],
      scrapeInterval: "1s",
    }),
  );
  if (!prom) return;
  const value = async () => Number((await prom.query(query))[0]?.value[1] ?? 0); // ignoreNullValues: empty is 0
  await waitFor(async () => (Number((await prom.query("sum(up)"))[0]?.value[1]) === 1 ? true : undefined), {
    timeoutMs: 30_000,
    what: "Prometheus to scrape the gateway",
  });
  await new Promise((r) => setTimeout(r, 3_000));
  assert.ok((await value()) <= threshold, "no traffic: no activation");

  // One short burst, as a first user's request and its client's retries.
  for (let i = 0; i < 3; i++) {
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: route, messages: [{ role: "user", content: "hi" }], max_tokens: 1 }),
    });
    assert.equal(r.status, 503, await r.text());
  }
  const seen = await waitFor(async () => ((await value()) > threshold ? await value() : undefined), {
    timeoutMs: 20_000,
    what: `the activation query (${query}) to exceed ${threshold}`,
  });
  t.diagnostic(`activation value ${seen} after 3 requests at zero pods`);
});
