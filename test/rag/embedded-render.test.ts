// `engine: embedded` renders for Kubernetes as a CPU Deployment of the Inferplane image running
// `embed-serve` (no GPU, no Python download step): the pinned files are fetched at start-up.
import assert from "node:assert/strict";
import { it } from "node:test";
import { render } from "../deploy/helpers.js";

const SPEC = `apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: small}
models:
  - name: bge-small
    source: hf://BAAI/bge-small-en-v1.5
    engine: embedded
    replicas: 2
    resources: {cpu: "1", memory: 1Gi}
rag:
  embedding: {route: bge-small, dimensions: 384, inputType: true}
gateway: {replicas: 1} # the embedded SQLite RAG store needs one gateway pod
`;

type Container = {
  image: string;
  args?: string[];
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  startupProbe: { httpGet: { path: string } };
  readinessProbe: { httpGet: { path: string } };
};

it("renders an embedded model as a CPU Deployment of the Inferplane image serving /v1/embeddings", () => {
  const r = render(SPEC);
  const deployment = r.base.objects
    .map((o) => o.object as { kind: string; metadata: { name: string }; spec?: Record<string, unknown> })
    .find((o) => o.kind === "Deployment" && o.metadata.name.includes("bge-small"));
  assert.ok(deployment, "no Deployment for the embedded model");
  const pod = deployment.spec as {
    replicas: number;
    template: { spec: { containers: Container[]; initContainers?: unknown[] } };
  };
  assert.equal(pod.replicas, 2);
  const c = pod.template.spec.containers[0] as Container;
  assert.match(c.image, /^ghcr\.io\/inferplane\/inferplane:/);
  assert.deepEqual(c.args?.slice(0, 5), [
    "embed-serve",
    "--model",
    "bge-small-en-v1.5",
    "--served-model-name",
    "BAAI/bge-small-en-v1.5",
  ]);
  assert.ok(c.args?.includes("--fetch"));
  assert.deepEqual(
    Object.keys(c.resources.limits).filter((k) => k.includes("nvidia")),
    [],
  );
  assert.equal(c.resources.requests.cpu, "1");
  assert.equal(c.readinessProbe.httpGet.path, "/health");
  assert.equal(pod.template.spec.initContainers?.length ?? 0, 0);
});
