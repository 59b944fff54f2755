import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  embeddingParams,
  getModel,
  kvBytes,
  kvBytesPerToken,
  kvCacheDtypeBytes,
  listModels,
  resolveWeightFormat,
  tokensThatFit,
  WEIGHT_FORMATS,
  weightBytes,
} from "../../src/catalog/index.js";

describe("catalog: KV cache bytes", () => {
  it("BF16 bytes per token match the reference values", () => {
    assert.equal(kvBytesPerToken(getModel("qwen2.5-7b")), 57_344);
    assert.equal(kvBytesPerToken(getModel("qwen2.5-72b")), 327_680);
    assert.equal(kvBytesPerToken(getModel("llama-3.1-8b")), 131_072);
    assert.equal(kvBytesPerToken(getModel("llama-3.1-70b")), 327_680);
    assert.equal(kvBytesPerToken(getModel("mistral-7b")), 131_072);
    assert.equal(kvBytesPerToken(getModel("mixtral-8x7b")), 131_072);
  });

  it("DeepSeek-V3 uses MLA: 61 × (512 + 64) × 2 = 70,272, no factor 2 for K and V", () => {
    const ds = getModel("deepseek-v3");
    assert.equal(kvBytesPerToken(ds), 61 * 576 * 2);
    assert.equal(kvBytesPerToken(ds), 70_272);
    // Naive per-head sizing would be 2 × 61 × 128 × 192 × 2 ≈ 6 MB per token: ~85× too much.
    assert.ok(2 * ds.layers * ds.kvHeads * ds.headDim * 2 > 80 * kvBytesPerToken(ds));
  });

  it("KV heads, not attention heads: Llama-3.1-8B would be 4× too large otherwise", () => {
    const m = getModel("llama-3.1-8b");
    assert.equal((2 * m.layers * m.attentionHeads * m.headDim * 2) / kvBytesPerToken(m), 4);
  });

  it("scales with dtype bytes and token count", () => {
    const m = getModel("qwen2.5-7b");
    assert.equal(kvBytesPerToken(m, 1), 28_672);
    assert.equal(kvBytes(m, 1000), 57_344_000);
    assert.equal(kvCacheDtypeBytes("auto"), 2);
    assert.equal(kvCacheDtypeBytes("fp8_e4m3"), 1);
    assert.equal(kvCacheDtypeBytes("fp8"), 1);
    assert.equal(kvCacheDtypeBytes("bfloat16"), 2);
    assert.equal(tokensThatFit(m, 57_344 * 10 + 5), 10);
  });

  it("embedding and rerank models keep no KV cache", () => {
    assert.equal(kvBytesPerToken(getModel("bge-m3")), 0);
    assert.equal(kvBytesPerToken(getModel("bge-reranker-v2-m3")), 0);
    assert.equal(tokensThatFit(getModel("bge-m3"), 1e9), Number.POSITIVE_INFINITY);
  });

  it("every chat model has a positive KV size", () => {
    for (const m of listModels()) {
      if (m.kind === "chat") assert.ok(kvBytesPerToken(m) > 0, m.id);
    }
  });
});

describe("catalog: weight bytes", () => {
  it("native dtype by default: BF16 is 2 bytes per parameter", () => {
    assert.equal(weightBytes(getModel("llama-3.1-8b")), 16.06e9);
    assert.equal(weightBytes(getModel("qwen2.5-7b"), "bf16"), 15.22e9);
    assert.equal(weightBytes(getModel("qwen2.5-7b"), "none"), weightBytes(getModel("qwen2.5-7b"), "bf16"));
    assert.equal(weightBytes(getModel("bge-m3")), 568e6 * 4); // float32 checkpoint
  });

  it("MoE models are sized by total parameters", () => {
    const mx = getModel("mixtral-8x7b");
    assert.equal(weightBytes(mx, "bf16"), 2 * 46.7e9);
    assert.ok(weightBytes(mx, "bf16") > 3 * 2 * mx.activeParams);
  });

  it("DeepSeek-V3 ships FP8: ≈1 byte per parameter with 16-bit embeddings", () => {
    const ds = getModel("deepseek-v3");
    assert.equal(resolveWeightFormat(ds), "fp8");
    const expected = (671e9 - embeddingParams(ds)) * 1 + embeddingParams(ds) * 2;
    assert.equal(weightBytes(ds), Math.round(expected));
    assert.ok(weightBytes(ds) > 671e9 && weightBytes(ds) < 675e9);
  });

  it("8-bit formats are about half of BF16, 4-bit about a quarter plus 16-bit embeddings", () => {
    for (const m of listModels()) {
      if (m.kind !== "chat") continue;
      const bf16 = weightBytes(m, "bf16");
      const fp8 = weightBytes(m, "fp8");
      const awq = weightBytes(m, "awq");
      assert.ok(fp8 > 0.5 * bf16 && fp8 < 0.6 * bf16, `${m.id} fp8 ${fp8 / bf16}`);
      assert.ok(awq > 0.26 * bf16 && awq < 0.4 * bf16, `${m.id} awq ${awq / bf16}`);
      assert.equal(weightBytes(m, "gptq-int4"), awq);
      assert.ok(weightBytes(m, "gptq-int8") > fp8);
    }
  });

  it("AWQ estimate matches a published checkpoint (Llama-3.1-8B AWQ-INT4: 4.68 + 1.05 GB)", () => {
    const est = weightBytes(getModel("llama-3.1-8b"), "awq");
    assert.ok(Math.abs(est / 5.73e9 - 1) < 0.03, `${est}`);
  });

  it("documents bytes per parameter for every format", () => {
    assert.equal(WEIGHT_FORMATS.bf16.bytesPerParam, 2);
    assert.equal(WEIGHT_FORMATS.fp8.bytesPerParam, 1);
    assert.equal(WEIGHT_FORMATS.int8.bytesPerParam, 1);
    assert.ok(WEIGHT_FORMATS.awq.bytesPerParam > 0.5 && WEIGHT_FORMATS.awq.bytesPerParam < 0.53);
    for (const [name, info] of Object.entries(WEIGHT_FORMATS)) {
      assert.ok(info.bytesPerParam > 0 && info.note.length > 0, name);
    }
  });

  it("embedding parameters: untied decoders count embeddings and LM head", () => {
    const q = getModel("qwen2.5-7b");
    assert.equal(embeddingParams(q), 2 * 152064 * 3584);
    // Qwen2.5-7B card: 7.61B total, 6.53B non-embedding.
    assert.ok(Math.abs((q.totalParams - embeddingParams(q)) / 6.53e9 - 1) < 0.01);
    assert.equal(embeddingParams(getModel("bge-m3")), 250002 * 1024);
  });
});
