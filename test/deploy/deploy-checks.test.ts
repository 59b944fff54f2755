// The checks validate, plan and render share (src/spec/checks.ts): what render cannot deploy is
// refused by all three, with the field and the reason; and the pure placement check behind
// `render --verify --kubeconfig`.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { placeEngines } from "../../src/deploy/placement-check.js";
import { isInferplaneError } from "../../src/errors.js";
import { parseSpec } from "../../src/spec/load.js";
import { EXAMPLE_TEXT, exampleWith, render } from "./helpers.js";

function problems(text: string, deploy = true): { path: string; message: string }[] {
  try {
    parseSpec(text, { deploy });
    return [];
  } catch (err) {
    assert.ok(isInferplaneError(err));
    return err.problems;
  }
}

describe("deploy checks: validate, plan and render refuse the same specs", () => {
  it("RAG on the embedded SQLite store with several gateway replicas (but serve, one process, accepts it)", () => {
    const text = EXAMPLE_TEXT.replace("\n  replicas: 1\n", "\n  replicas: 3\n");
    const p = problems(text);
    assert.equal(p[0]?.path, "gateway.replicas");
    assert.match(p[0]?.message ?? "", /its own empty database/);
    assert.deepEqual(problems(text, false), []);
    assert.throws(
      () => render(text),
      (e: unknown) => isInferplaneError(e) && e.problems[0]?.path === "gateway.replicas",
    );
  });
  it("scale to zero needs KEDA and a route that can activate it", () => {
    const zero = exampleWith("      minReplicas: 2\n", "      minReplicas: 0\n").replace(
      "    replicas: 2\n    autoscaling:",
      "    replicas: 0\n    autoscaling:",
    );
    assert.deepEqual(problems(zero), []);
    const so = render(zero).base.objects.find((o) => o.object.kind === "ScaledObject")?.object as unknown as {
      spec: { minReplicaCount: number; triggers: { name?: string; metadata: Record<string, string> }[] };
    };
    assert.equal(so.spec.minReplicaCount, 0);
    const activation = so.spec.triggers.find((t) => t.name === "gateway-activation");
    assert.match(
      activation?.metadata.query ?? "",
      /inferplane_gateway_requests_total\{namespace="ai-inference",route=~"qwen2\.5-7b-instruct"\}/,
    );
    assert.equal(activation?.metadata.activationThreshold, "0");
    const hpa = zero.replace("      via: keda", "      via: prometheus-adapter");
    assert.match(
      problems(hpa).find((p) => p.path === "models[0].autoscaling.minReplicas")?.message ?? "",
      /needs `via: keda`/,
    );
  });
  it("Triton deployed by render is refused with the reason; TGI cannot autoscale on a KV-cache gauge it lacks", () => {
    const triton = EXAMPLE_TEXT.replace(
      'engine: vllm\n    engineVersion: "0.11.0"\n    quantization: awq',
      "engine: triton\n    quantization: awq",
    );
    assert.match(
      problems(triton).find((p) => p.path === "models[0].engine")?.message ?? "",
      /prepared model repository/,
    );
    const tgi = exampleWith(
      "      metric: num_requests_waiting\n      target: 5",
      "      metric: kv_cache_usage\n      target: 0.8",
    ).replace(
      'engine: vllm\n    engineVersion: "0.11.0"\n    quantization: awq',
      "engine: tgi\n    quantization: awq",
    );
    assert.match(
      problems(tgi).find((p) => p.path === "models[0].autoscaling.metric")?.message ?? "",
      /exposes no kv_cache_usage/,
    );
  });
});

describe("placement check", () => {
  const gpuNode = (name: string, gpus: number) => ({
    name,
    labels: { pool: "a" },
    taints: [{ key: "nvidia.com/gpu", effect: "NoSchedule" }],
    allocatable: { "nvidia.com/gpu": gpus },
  });
  const demand = {
    environment: "prod",
    name: "vllm-x",
    minReplicas: 4,
    maxReplicas: 16,
    nodeSelector: { pool: "a" },
    tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }],
    requests: { "nvidia.com/gpu": 2 },
    spreadHard: true,
  };
  it("spreads TP-2 replicas one apart and says how many of the ceiling fit", () => {
    const [r] = placeEngines([gpuNode("n0", 6), gpuNode("n1", 8)], [demand]);
    assert.deepEqual(r?.atMin, { n0: 2, n1: 2 });
    assert.equal(r?.holds, 7);
    assert.equal(r?.ok, false);
    assert.match(r?.reason ?? "", /ceiling is 16 but the nodes hold 7/);
  });
  it("a node the pods may not use (no toleration) is no place for them", () => {
    const [r] = placeEngines([gpuNode("n0", 8)], [{ ...demand, tolerations: [] }]);
    assert.deepEqual(r?.eligibleNodes, []);
    assert.match(r?.reason ?? "", /no node matches/);
  });
});
