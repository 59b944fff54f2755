// The planner asks the engine what a GGUF replica needs (src/planner/memory.ts
// `engineReplicaMemory`): the real SmolLM2 file as installed by test/services/install.sh, plus
// the KV cache llama.cpp allocates for every slot's context. vLLM-shaped engines answer nothing
// (the planner's own model sizes them).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { VENV_DIR } from "../../src/engines/llamacpp/index.js";
import { engineReplicaMemory } from "../../src/planner/memory.js";
import { parseSpec } from "../../src/spec/load.js";
import { requireService } from "../services/harness.js";
import { LLAMACPP_CACHE, SMOLLM2_SOURCE } from "../services/llamacpp.js";

function models(slots: number) {
  return parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: mem}
models:
  - name: smol
    source: ${SMOLLM2_SOURCE}
    engine: llamacpp
    maxModelLen: 1024
    slots: ${slots}
    resources: {cpu: "1", memory: 1Gi}
  - name: big
    source: hf://Qwen/Qwen2.5-7B-Instruct
    endpoints: [http://127.0.0.1:9]
routes:
  - name: smol
    targets: [{model: smol}]
  - name: big
    targets: [{model: big}]
`).platform.models;
}

it("GGUF memory from the engine: the file as stored + KV for context × slots; vLLM's model answers nothing", async (t) => {
  const [smol, big] = models(2) as [never, never];
  assert.equal(await engineReplicaMemory(big, LLAMACPP_CACHE), undefined);
  const mem = await requireService(t, "SmolLM2 weights", async () => {
    const m = await engineReplicaMemory(smol, LLAMACPP_CACHE);
    if (m === undefined) throw new Error("not installed (bash test/services/install.sh llamacpp)");
    return m;
  });
  if (!mem) return;
  const lib = join(LLAMACPP_CACHE, VENV_DIR, "lib");
  assert.ok(existsSync(lib));
  assert.ok(mem.weightsBytes > 50e6 && mem.weightsBytes < 200e6, String(mem.weightsBytes));
  // SmolLM2-135M: 30 layers, 3 KV heads of 64 (HuggingFaceTB/SmolLM2-135M-Instruct config.json), f16 cache.
  assert.deepEqual([mem.slots, mem.ctxPerSlot], [2, 1024]);
  assert.equal(mem.kvBytes, 30 * (64 + 64) * 3 * 1024 * 2 * 2);
  assert.equal(mem.totalBytes, mem.weightsBytes + mem.kvBytes);
  // Twice the slots, twice the KV; the file is the same.
  const four = await engineReplicaMemory(models(4)[0] as never, LLAMACPP_CACHE);
  assert.equal(four?.kvBytes, 2 * mem.kvBytes);
  assert.equal(four?.weightsBytes, mem.weightsBytes);
});
