import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  expandMigDevices,
  getGpu,
  getModel,
  isLegalMigLayout,
  kvBytesPerToken,
  migProfile,
  weightBytes,
} from "../../src/catalog/index.js";
import { isInferplaneError } from "../../src/errors.js";
import { fitMemory, kvBytesPerTokenPerRank, migInstanceGpu } from "../../src/planner/memory.js";
import { NON_TORCH_BYTES_PER_GPU } from "../../src/sim/model/config.js";
import { parseSpec } from "../../src/spec/load.js";

const MiB = 2 ** 20;

describe("planner facts: KV cache per token", () => {
  it("BF16: qwen2.5-7b 57,344; llama-3.1-8b 131,072; deepseek-v3 (MLA) 70,272", () => {
    assert.equal(kvBytesPerToken(getModel("qwen2.5-7b")), 57_344); // 2 × 28 × 4 × 128 × 2
    assert.equal(kvBytesPerToken(getModel("llama-3.1-8b")), 131_072); // 2 × 32 × 8 × 128 × 2
    assert.equal(kvBytesPerToken(getModel("deepseek-v3")), 70_272); // 61 × (512 + 64) × 2
    // FP8 KV halves it; attention heads instead of KV heads would overstate Llama-3.1-8B 4×.
    assert.equal(kvBytesPerToken(getModel("llama-3.1-8b"), 1), 65_536);
    const l = getModel("llama-3.1-8b");
    assert.equal((2 * l.layers * l.attentionHeads * l.headDim * 2) / kvBytesPerToken(l), 4);
  });

  it("under tensor parallelism each rank holds ⌈KV heads ÷ TP⌉ heads; MLA's latent is on every rank", () => {
    const qwen = getModel("qwen2.5-7b"); // 4 KV heads
    assert.equal(kvBytesPerTokenPerRank(qwen, 1, 2), 57_344);
    assert.equal(kvBytesPerTokenPerRank(qwen, 2, 2), 28_672);
    assert.equal(kvBytesPerTokenPerRank(qwen, 4, 2), 14_336);
    assert.equal(kvBytesPerTokenPerRank(qwen, 8, 2), 14_336); // one head replicated per rank, not half a head
    assert.equal(kvBytesPerTokenPerRank(getModel("deepseek-v3"), 8, 2), 70_272);
  });
});

describe("planner facts: weights and the KV pool", () => {
  it("weights = total parameters × bytes per parameter of the format", () => {
    assert.equal(weightBytes(getModel("qwen2.5-7b"), "bf16"), 15_220_000_000); // 7.61B × 2
    assert.equal(
      weightBytes(getModel("qwen2.5-72b"), "bf16"),
      Math.round(getModel("qwen2.5-72b").totalParams * 2),
    );
    const awq = weightBytes(getModel("qwen2.5-7b"), "awq");
    assert.ok(awq > 5.4e9 && awq < 5.8e9, `AWQ Qwen2.5-7B ≈ 5.6 GB, got ${awq}`); // int4 linears + 16-bit embeddings
    // MoE sized by total parameters: DeepSeek-V3 FP8 ≈ 671 GB, not 37 GB.
    assert.ok(weightBytes(getModel("deepseek-v3"), "fp8") > 600e9);
  });

  it("KV pool = utilization × device memory − weights − activations − overhead, in tokens and sequences", () => {
    const model = getModel("qwen2.5-7b");
    const gpu = getGpu("A100-80GB");
    const fit = fitMemory(model, gpu, {
      tp: 1,
      weightFormat: "awq",
      kvDtypeBytes: 2,
      gpuMemoryUtilization: 0.9,
      maxNumBatchedTokens: 8192,
      maxNumSeqs: 256,
      contextTokens: 4096,
    });
    const activations =
      8192 * (2 * model.intermediateSize + 4 * model.hiddenSize) * 2 + 256 * model.vocabSize * 4;
    const kv = 0.9 * 81920 * MiB - weightBytes(model, "awq") - activations - NON_TORCH_BYTES_PER_GPU;
    assert.equal(fit.budgetBytes, 0.9 * 81920 * MiB);
    assert.equal(fit.activationBytes, activations);
    assert.ok(Math.abs(fit.kvBytes - kv) < 1);
    assert.equal(fit.kvTokens, Math.floor(kv / 57_344));
    assert.equal(fit.maxSequencesAtContext, Math.floor(fit.kvTokens / 4096));
  });

  it("a MIG instance offers its usable memory (1g.10gb: 9,856 MiB), a share of bandwidth and FLOP/s", () => {
    const a100 = getGpu("A100-80GB");
    const p = migProfile("A100-80GB", "1g.10gb");
    assert.ok(p);
    const inst = migInstanceGpu(a100, p);
    assert.equal(inst.memoryBytes, 9856 * MiB);
    assert.ok(inst.memoryBytes < 10 * 1024 * MiB); // below the nominal 10 GiB
    assert.equal(inst.memoryBandwidthBytesPerSec, a100.memoryBandwidthBytesPerSec / 8);
    assert.equal(inst.fp16Flops, a100.fp16Flops / 7);
    // Qwen2.5-7B-AWQ fits a 1g.10gb at a 4,096-token context but not at its full 32,768.
    const settings = {
      tp: 1,
      weightFormat: "awq" as const,
      kvDtypeBytes: 2,
      gpuMemoryUtilization: 0.9,
      maxNumBatchedTokens: 8192,
      maxNumSeqs: 256,
    };
    const model = getModel("qwen2.5-7b");
    const short = fitMemory(model, inst, { ...settings, contextTokens: 4096 });
    const long = fitMemory(model, inst, { ...settings, contextTokens: 32_768 });
    assert.ok(short.maxSequencesAtContext >= 1);
    assert.equal(long.maxSequencesAtContext, 0);
  });
});

describe("planner facts: MIG on the A100-80GB", () => {
  const most: [string, number][] = [
    ["1g.10gb", 7],
    ["1g.20gb", 4],
    ["2g.20gb", 3],
    ["3g.40gb", 2],
    ["4g.40gb", 1],
    ["7g.80gb", 1],
  ];
  for (const [profile, n] of most) {
    it(`at most ${n} × ${profile}`, () => {
      assert.ok(isLegalMigLayout("A100-80GB", Array(n).fill(profile)).ok);
      const over = isLegalMigLayout("A100-80GB", Array(n + 1).fill(profile));
      assert.equal(over.ok, false);
    });
  }

  it("4g.40gb + 3g.40gb is accepted, 3g + 3g + 1g rejected", () => {
    assert.ok(isLegalMigLayout("A100-80GB", ["4g.40gb", "3g.40gb"]).ok);
    const r = isLegalMigLayout("A100-80GB", ["3g.40gb", "3g.40gb", "1g.10gb"]);
    assert.equal(r.ok, false);
  });

  it("the guide's `1g.5gb: 14` on an A100-80GB is rejected with both reasons", () => {
    const r = isLegalMigLayout("A100-80GB", expandMigDevices({ "1g.5gb": 14 }));
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.reasons.length, 2, r.reason);
    assert.match(r.reasons[0] as string, /"1g\.5gb" does not exist on A100-80GB; its profiles are 1g\.10gb/);
    assert.match(r.reasons[1] as string, /14 instances exceed the 7 MIG instances one A100-80GB can hold/);
    // The spec check reports both, on the layout's line.
    const spec = `apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: p}
gpus:
  - name: a100
    type: A100-80GB
    count: 1
    sharing:
      mode: mig
      mig:
        layouts:
          - gpus: 1
            profiles: [${Array(14).fill('"1g.5gb"').join(", ")}]
models:
  - name: m
    source: hf://Qwen/Qwen2.5-7B-Instruct-AWQ
`;
    assert.throws(
      () => parseSpec(spec),
      (err: unknown) => {
        assert.ok(isInferplaneError(err));
        const p = err.problems.find((x) => x.path === "gpus[0].sharing.mig.layouts[0].profiles");
        assert.ok(p, JSON.stringify(err.problems));
        assert.match(p.message, /does not exist on A100-80GB/);
        assert.match(p.message, /14 instances exceed the 7/);
        return true;
      },
    );
  });
});
