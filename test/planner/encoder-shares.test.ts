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
