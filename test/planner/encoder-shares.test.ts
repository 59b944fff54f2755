// Encoder models (embeddings, reranking) keep no KV cache: on a time-sliced pool they need only
// room beside their weights, so they get a share like any other model. (They used to be refused
// with "does not fit": the smallest-fraction search waited for KV tokens that never come.)
import assert from "node:assert/strict";
import { it } from "node:test";
import { planSpec } from "../../src/planner/index.js";
import { parseSpec } from "../../src/spec/load.js";

it("embedding and reranker models get a time-slicing share sized by their weights", () => {
  const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: encoders}
gpus:
  - name: a100
    type: A100-80GB
    count: 1
    sharing: {mode: time-slicing, replicas: 4}
models:
  - name: embed
    source: hf://BAAI/bge-m3
    kind: embedding
    gpu: {pool: a100, count: 1}
  - name: rerank
    source: hf://BAAI/bge-reranker-v2-m3
    kind: rerank
    gpu: {pool: a100, count: 1}
routes:
  - name: embed
    targets: [{model: embed}]
  - name: rerank
    targets: [{model: rerank}]
`);
  const plan = planSpec(platform);
  assert.deepEqual(plan.infeasible, []);
  for (const name of ["embed", "rerank"]) {
    const m = plan.models.find((x) => x.name === name);
    assert.ok(m?.unit?.kind === "time-slice", `${name} has a time-slice unit`);
    assert.equal(m.replicas.placed, 1, `${name} placed`);
    // 1.1 GB of fp16 weights on an 80 GB GPU: a few percent, far below a quarter.
    assert.ok(m.gpuMemoryUtilization > 0 && m.gpuMemoryUtilization <= 0.1, String(m.gpuMemoryUtilization));
  }
});

function encoderUnderLoad(slo: string): string {
  return `apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: encoder-load}
gpus:
  - name: t4
    type: T4
    count: 1
models:
  - name: embed
    source: hf://BAAI/bge-m3
    kind: embedding
    gpu: {pool: t4, count: auto}
    autoscaling: {minReplicas: 1, maxReplicas: 4}
    ${slo}
    load: {requestsPerSecond: 50, inputTokens: 512, outputTokens: 200}
routes:
  - name: embed
    targets: [{model: embed}]
`;
}

// An encoder under load used to be refused on any GPU: the simulated engine had no KV tokens to
// admit a sequence against, so every latency was NaN ("sees TTFT p99 NaN s and TPOT p99 NaN s").
it("an embedding model under load is sized by one forward pass per request, with no TPOT", () => {
  const plan = planSpec(parseSpec(encoderUnderLoad("slo: {ttft: 2s, tpot: 20ms}")).platform);
  assert.deepEqual(plan.infeasible, []);
  const m = plan.models.find((x) => x.name === "embed");
  assert.ok(m?.latency, "a latency estimate");
  assert.ok(m.latency.ttftP > 0 && m.latency.ttftP < 2, String(m.latency.ttftP));
  assert.ok(Number.isNaN(m.latency.tpotP), "an encoder generates no tokens: no TPOT");
  assert.ok(m.replicas.placed >= 1);

  const tight = planSpec(parseSpec(encoderUnderLoad("slo: {ttft: 1ms}")).platform);
  assert.equal(tight.infeasible[0]?.code, "slo-unreachable");
  const msg = tight.infeasible[0]?.message ?? "";
  assert.match(msg, /even one request at a time sees TTFT p99 \d+ ms, missing TTFT p99 ≤ 1 ms/);
  assert.ok(!msg.includes("NaN"), msg);
});
