import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  findModel,
  findModelByRepo,
  getModel,
  isModelId,
  listModels,
  MODEL_IDS,
  type ModelSpec,
} from "../../src/catalog/index.js";
import { InferplaneError } from "../../src/errors.js";

/**
 * Parameters implied by the architecture fields: embeddings (+ untied LM head), attention
 * (standard/GQA or MLA), MLP (SwiGLU: 3 matrices; encoders: 2) or MoE experts. Biases and norms
 * are ignored. Used to catch a mistyped config value: it must land near the published count.
 */
function estimateParams(m: ModelSpec): { total: number; active: number } {
  const h = m.hiddenSize;
  const decoder = m.kind === "chat";
  let embed = m.vocabSize * h * (decoder && !m.tiedEmbeddings ? 2 : 1);
  if (!decoder) embed += (m.maxContext + 2) * h; // learned absolute positions (XLM-RoBERTa)
  let attn: number;
  if (m.mla !== null) {
    const { kvLoraRank, qkRopeHeadDim, qLoraRank, qkNopeHeadDim, vHeadDim } = m.mla;
    const qHead = qkNopeHeadDim + qkRopeHeadDim;
    const q =
      qLoraRank === null
        ? h * m.attentionHeads * qHead
        : h * qLoraRank + qLoraRank * m.attentionHeads * qHead;
    attn =
      q +
      h * (kvLoraRank + qkRopeHeadDim) +
      kvLoraRank * m.attentionHeads * (qkNopeHeadDim + vHeadDim) +
      m.attentionHeads * vHeadDim * h;
  } else {
    const qo = 2 * h * m.attentionHeads * m.headDim;
    const kv = 2 * h * m.kvHeads * m.headDim;
    attn = qo + kv;
  }
  const mlpMatrices = decoder ? 3 : 2;
  const dense = mlpMatrices * h * m.intermediateSize;
  if (m.moe === null) {
    const total = embed + m.layers * (attn + dense);
    return { total, active: total };
  }
  const expert = 3 * h * m.moe.moeIntermediateSize;
  const moeLayers = m.layers - m.moe.denseLayers;
  const base = embed + m.layers * attn + m.moe.denseLayers * dense;
  return {
    total: base + moeLayers * (m.moe.experts + m.moe.sharedExperts) * expert,
    active: base + moeLayers * (m.moe.expertsPerToken + m.moe.sharedExperts) * expert,
  };
}

describe("catalog: models", () => {
  it("has exactly the promised ids", () => {
    assert.deepEqual(
      listModels().map((m) => m.id),
      [
        "qwen2.5-7b",
        "qwen2.5-14b",
        "qwen2.5-32b",
        "qwen2.5-72b",
        "llama-3.1-8b",
        "llama-3.1-70b",
        "llama-3.1-405b",
        "mistral-7b",
        "mixtral-8x7b",
        "deepseek-v3",
        "bge-m3",
        "bge-reranker-v2-m3",
        "bge-small-en-v1.5",
      ],
    );
    assert.deepEqual(
      [...MODEL_IDS],
      listModels().map((m) => m.id),
    );
  });

  it("KV heads divide attention heads; shapes are positive integers", () => {
    for (const m of listModels()) {
      for (const f of [
        m.layers,
        m.attentionHeads,
        m.kvHeads,
        m.headDim,
        m.hiddenSize,
        m.intermediateSize,
        m.vocabSize,
        m.maxContext,
      ]) {
        assert.ok(Number.isInteger(f) && f > 0, `${m.id}: ${f}`);
      }
      assert.equal(m.attentionHeads % m.kvHeads, 0, m.id);
    }
  });

  it("heads × head_dim equals hidden size for every non-MLA model", () => {
    for (const m of listModels()) {
      if (m.mla !== null) continue;
      assert.equal(m.attentionHeads * m.headDim, m.hiddenSize, m.id);
    }
    const ds = getModel("deepseek-v3");
    assert.equal(ds.headDim, (ds.mla?.qkNopeHeadDim ?? 0) + (ds.mla?.qkRopeHeadDim ?? 0));
  });

  it("active ≤ total; MoE models have active < total; dense models active = total", () => {
    for (const m of listModels()) {
      assert.ok(m.activeParams <= m.totalParams, m.id);
      if (m.moe !== null) assert.ok(m.activeParams < m.totalParams, m.id);
      else assert.equal(m.activeParams, m.totalParams, m.id);
    }
    assert.equal(getModel("mixtral-8x7b").totalParams, 46.7e9);
    assert.equal(getModel("mixtral-8x7b").activeParams, 12.9e9);
    assert.equal(getModel("deepseek-v3").totalParams, 671e9);
    assert.equal(getModel("deepseek-v3").activeParams, 37e9);
    assert.equal(getModel("qwen2.5-7b").totalParams, 7.61e9);
    assert.equal(getModel("llama-3.1-8b").totalParams, 8.03e9);
  });

  it("published parameter counts agree with the architecture within 2% (catches config typos)", () => {
    for (const m of listModels()) {
      const est = estimateParams(m);
      const dt = Math.abs(est.total / m.totalParams - 1);
      const da = Math.abs(est.active / m.activeParams - 1);
      assert.ok(dt < 0.02, `${m.id} total: estimated ${(est.total / 1e9).toFixed(2)}B`);
      assert.ok(da < 0.02, `${m.id} active: estimated ${(est.active / 1e9).toFixed(2)}B`);
    }
  });

  it("MoE and MLA facts", () => {
    const ds = getModel("deepseek-v3");
    assert.deepEqual(ds.mla, {
      kvLoraRank: 512,
      qkRopeHeadDim: 64,
      qLoraRank: 1536,
      qkNopeHeadDim: 128,
      vHeadDim: 128,
    });
    assert.deepEqual(ds.moe, {
      experts: 256,
      expertsPerToken: 8,
      sharedExperts: 1,
      moeIntermediateSize: 2048,
      denseLayers: 3,
    });
    assert.equal(ds.layers, 61);
    assert.equal(ds.nativeDtype, "fp8");
    const mx = getModel("mixtral-8x7b");
    assert.equal(mx.moe?.experts, 8);
    assert.equal(mx.moe?.expertsPerToken, 2);
    assert.equal(mx.mla, null);
  });

  it("embedding and rerank models", () => {
    const bge = getModel("bge-m3");
    assert.equal(bge.kind, "embedding");
    assert.equal(bge.embeddingDims, 1024);
    assert.deepEqual([bge.layers, bge.attentionHeads, bge.hiddenSize, bge.maxContext], [24, 16, 1024, 8192]);
    assert.equal(getModel("bge-reranker-v2-m3").kind, "rerank");
    for (const m of listModels()) {
      if (m.kind === "embedding") assert.ok((m.embeddingDims ?? 0) > 0, m.id);
    }
  });

  it("every variant repo maps back to its model via findModelByRepo", () => {
    const seen = new Set<string>();
    for (const m of listModels()) {
      assert.ok(m.variants.length > 0, m.id);
      assert.equal(m.variants[0]?.quantization, "none", `${m.id}: native variant first`);
      for (const v of m.variants) {
        assert.match(v.repo, /^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+$/);
        assert.ok(!seen.has(v.repo.toLowerCase()), `duplicate repo ${v.repo}`);
        seen.add(v.repo.toLowerCase());
        const hit = findModelByRepo(v.repo);
        assert.equal(hit?.model.id, m.id, v.repo);
        assert.equal(hit?.variant, v);
        assert.equal(findModelByRepo(v.repo.toUpperCase())?.model.id, m.id);
        assert.equal(findModelByRepo(`hf://${v.repo}`)?.model.id, m.id);
      }
    }
  });

  it("findModelByRepo resolves quantized variants and ignores revisions", () => {
    assert.deepEqual(findModelByRepo("hf://Qwen/Qwen2.5-7B-Instruct-AWQ")?.variant, {
      repo: "Qwen/Qwen2.5-7B-Instruct-AWQ",
      quantization: "awq",
    });
    assert.equal(findModelByRepo("Qwen/Qwen2.5-72B-Instruct-GPTQ-Int8")?.variant.quantization, "gptq-int8");
    assert.equal(findModelByRepo("Qwen/Qwen2.5-14B-Instruct-GPTQ-Int4")?.model.id, "qwen2.5-14b");
    assert.equal(findModelByRepo("neuralmagic/Meta-Llama-3.1-70B-Instruct-FP8")?.variant.quantization, "fp8");
    assert.equal(findModelByRepo("meta-llama/Llama-3.1-8B-Instruct@main")?.model.id, "llama-3.1-8b");
    assert.equal(findModelByRepo(" qwen/qwen2.5-7b-instruct/ ")?.model.id, "qwen2.5-7b");
    assert.equal(findModelByRepo("Qwen/Qwen3-8B"), undefined);
  });

  it("lookups: exact, case-insensitive, and unknown ids throw catalog_unknown_model listing the ids", () => {
    assert.equal(getModel("qwen2.5-7b").displayName, "Qwen2.5-7B-Instruct");
    assert.equal(findModel("Llama-3.1-8B")?.id, "llama-3.1-8b");
    assert.equal(findModel("gpt-4o"), undefined);
    assert.ok(isModelId("deepseek-v3"));
    assert.throws(
      () => getModel("qwen3-8b"),
      (err: unknown) =>
        err instanceof InferplaneError &&
        err.code === "catalog_unknown_model" &&
        err.message.includes("qwen3-8b") &&
        MODEL_IDS.every((id) => err.message.includes(id)),
    );
  });
});
