// Replicas whose engine reckons its own memory (llama.cpp: GGUF file + KV of every slot) meet the
// spec in the plan: the figure is reported, and a replica above its resources.memory is infeasible.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { main } from "../../src/cli/main.js";
import { planSpec } from "../../src/planner/index.js";
import type { Plan } from "../../src/planner/types.js";
import { parseSpec } from "../../src/spec/load.js";
import { requireService } from "../services/harness.js";
import { LLAMACPP_CACHE, SMOLLM2_SOURCE } from "../services/llamacpp.js";

const spec = (memory: string) => `apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: own}
models:
  - name: smol
    source: ${SMOLLM2_SOURCE}
    engine: llamacpp
    maxModelLen: 1024
    slots: 2
    resources: {cpu: "1", memory: ${memory}}
routes:
  - name: smol
    targets: [{model: smol}]
`;

const MEM = { weightsBytes: 90e6, kvBytes: 47e6, totalBytes: 137e6, slots: 2, ctxPerSlot: 1024 };

it("the plan reports an engine-sized replica and refuses one above its resources.memory", () => {
  const fits = planSpec(parseSpec(spec("1Gi")).platform, { ownMemory: { smol: MEM } });
  assert.equal(fits.feasible, true);
  assert.deepEqual(fits.engineMemory, [{ model: "smol", ...MEM, limitBytes: 2 ** 30 }]);
  const tight = planSpec(parseSpec(spec("100Mi")).platform, { ownMemory: { smol: MEM } });
  assert.equal(tight.feasible, false);
  assert.equal(tight.infeasible[0]?.code, "memory-limit");
  assert.match(
    tight.infeasible[0]?.message ?? "",
    /needs 0\.1 GB .*2 slots × 1,024 tokens.*above its resources\.memory 100Mi/,
  );
  // Without figures (weights not on this machine), nothing is claimed.
  assert.equal(planSpec(parseSpec(spec("100Mi")).platform).engineMemory, undefined);
});

it("inferplane plan reads the real GGUF file: 100Mi is too little for SmolLM2 with 2 slots", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "inferplane-own-"));
  const file = join(dir, "inferplane.yaml");
  writeFileSync(file, spec("100Mi"));
  const saved = process.env.INFERPLANE_CACHE_DIR;
  process.env.INFERPLANE_CACHE_DIR = LLAMACPP_CACHE;
  t.after(() => {
    if (saved === undefined) delete process.env.INFERPLANE_CACHE_DIR;
    else process.env.INFERPLANE_CACHE_DIR = saved;
  });
  let code = 0;
  const plan = await requireService(t, "SmolLM2 weights", async () => {
    let out = "";
    code = await main(["node", "inferplane", "plan", "-c", file, "--json"], {
      out: (s) => {
        out += s;
      },
      err: () => {},
      isTTY: false,
    });
    const p = JSON.parse(out) as Plan;
    if (p.engineMemory === undefined)
      throw new Error("not installed (bash test/services/install.sh llamacpp)");
    return p as Plan & { engineMemory: NonNullable<Plan["engineMemory"]> };
  });
  if (!plan) return;
  const mem = plan.engineMemory[0];
  assert.ok(mem && mem.weightsBytes > 50e6 && mem.weightsBytes < 200e6, JSON.stringify(mem));
  assert.equal(mem.totalBytes, mem.weightsBytes + mem.kvBytes);
  assert.equal(plan.infeasible[0]?.code, "memory-limit");
  assert.equal(code, 3, "plan exits with plan_infeasible");
});
