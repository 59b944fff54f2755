/**
 * Model architecture facts, read from each model's Hugging Face `config.json`.
 *
 * Data, not logic. Sources: the model repos' `config.json` (via litgpt `litgpt/config.py`, which
 * copies them with the URL above each entry, and the repos themselves), model cards for parameter
 * counts. Field names follow config.json:
 * layers = num_hidden_layers, attentionHeads = num_attention_heads, kvHeads = num_key_value_heads,
 * hiddenSize = hidden_size, intermediateSize = intermediate_size, vocabSize = vocab_size,
 * maxContext = max_position_embeddings (minus the 2 padding positions for XLM-RoBERTa),
 * tiedEmbeddings = tie_word_embeddings.
 */
import { InferplaneError } from "../errors.js";

export const MODEL_IDS = [
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
] as const;

export type ModelId = (typeof MODEL_IDS)[number];

export type ModelKind = "chat" | "embedding" | "rerank";

/** Dtype the weights are published in (config.json `torch_dtype`, or the quantization config). */
export type NativeDtype = "fp32" | "bf16" | "fp16" | "fp8";

/** Quantization of a published variant; `none` means the model's native dtype. */
export type VariantQuantization = "none" | "awq" | "gptq-int4" | "gptq-int8" | "fp8";

export interface ModelVariant {
  /** Hugging Face repo id, e.g. `Qwen/Qwen2.5-7B-Instruct-AWQ`. */
  repo: string;
  quantization: VariantQuantization;
  /** Base (pretrained) rather than instruction-tuned weights. */
  base?: boolean;
  note?: string;
}

export interface MoeSpec {
  /** Routed experts per MoE layer (`num_local_experts` / `n_routed_experts`). */
  experts: number;
  /** Routed experts chosen per token (`num_experts_per_tok`). */
  expertsPerToken: number;
  /** Always-on shared experts (`n_shared_experts`; 0 for Mixtral). */
  sharedExperts: number;
  /** Hidden size of one expert's MLP (`moe_intermediate_size`; Mixtral uses `intermediate_size`). */
  moeIntermediateSize: number;
  /** Leading layers with a dense MLP instead of MoE (`first_k_dense_replace`). */
  denseLayers: number;
}

/** Multi-head latent attention (DeepSeek-V2/V3): the KV cache holds one compressed latent. */
export interface MlaSpec {
  kvLoraRank: number;
  qkRopeHeadDim: number;
  qLoraRank: number | null;
  qkNopeHeadDim: number;
  vHeadDim: number;
}

export interface ModelSpec {
  id: ModelId;
  displayName: string;
  family: string;
  kind: ModelKind;
  /** Total parameters (published figure). Size weights by this, also for MoE. */
  totalParams: number;
  /** Parameters touched per token; equals total for dense models. */
  activeParams: number;
  layers: number;
  attentionHeads: number;
  /** KV heads (GQA groups). Equal to attentionHeads for MHA; for MLA the config value, unused for KV sizing. */
  kvHeads: number;
  /** Per-head dimension of queries and keys (for MLA: qk_nope_head_dim + qk_rope_head_dim). */
  headDim: number;
  hiddenSize: number;
  /** Dense MLP hidden size (`intermediate_size`). */
  intermediateSize: number;
  vocabSize: number;
  /** Longest context the published config allows, tokens. */
  maxContext: number;
  tiedEmbeddings: boolean;
  moe: MoeSpec | null;
  mla: MlaSpec | null;
  nativeDtype: NativeDtype;
  /** Output vector size for embedding models. */
  embeddingDims?: number;
  /** How an embedding model turns token states into one vector (engines that run it read this). */
  embedding?: EmbeddingFacts;
  /** Published repos, the native one first. */
  variants: readonly ModelVariant[];
  /** Where these facts come from. */
  source: string;
}

/** Sentence-embedding recipe of a model: what its card says a server must do around the encoder. */
export interface EmbeddingFacts {
  /** `cls`: the first token's state; `mean`: the attention-masked mean of all states. */
  pooling: "cls" | "mean";
  /** L2-normalise the pooled vector (cosine = dot product). */
  normalize: boolean;
  /** Longest input in tokens, special tokens included; longer inputs are truncated. */
  maxTokens: number;
  /** Prefix a retrieval query gets (not passages); absent when the model wants none. */
  queryInstruction?: string;
  /** Whether a prefix of the vector is itself an embedding (Matryoshka); else `dimensions` is refused. */
  matryoshka: boolean;
}

const MODELS: readonly ModelSpec[] = [
  // Qwen2.5: config.json of Qwen/Qwen2.5-*-Instruct (litgpt config.py mirrors the base configs).
  // Instruct configs set max_position_embeddings 32768 (base: 131072; the card extends to 128K
  // with YaRN rope_scaling). Parameter counts: Qwen2.5 model cards.
  {
    id: "qwen2.5-7b",
    displayName: "Qwen2.5-7B-Instruct",
    family: "qwen2.5",
    kind: "chat",
    totalParams: 7.61e9, // card: 7.61B (6.53B non-embedding)
    activeParams: 7.61e9,
    layers: 28,
    attentionHeads: 28,
    kvHeads: 4,
    headDim: 128,
    hiddenSize: 3584,
    intermediateSize: 18944,
    vocabSize: 152064,
    maxContext: 32768,
    tiedEmbeddings: false,
    moe: null,
    mla: null,
    nativeDtype: "bf16",
    variants: qwenVariants("7B"),
    source: "huggingface.co/Qwen/Qwen2.5-7B-Instruct config.json and model card",
  },
  {
    id: "qwen2.5-14b",
    displayName: "Qwen2.5-14B-Instruct",
    family: "qwen2.5",
    kind: "chat",
    totalParams: 14.7e9, // card: 14.7B (13.1B non-embedding)
    activeParams: 14.7e9,
    layers: 48,
    attentionHeads: 40,
    kvHeads: 8,
    headDim: 128,
    hiddenSize: 5120,
    intermediateSize: 13824,
    vocabSize: 152064,
    maxContext: 32768,
    tiedEmbeddings: false,
    moe: null,
    mla: null,
    nativeDtype: "bf16",
    variants: qwenVariants("14B"),
    source: "huggingface.co/Qwen/Qwen2.5-14B-Instruct config.json and model card",
  },
  {
    id: "qwen2.5-32b",
    displayName: "Qwen2.5-32B-Instruct",
    family: "qwen2.5",
    kind: "chat",
    totalParams: 32.5e9, // card: 32.5B (31.0B non-embedding)
    activeParams: 32.5e9,
    layers: 64,
    attentionHeads: 40,
    kvHeads: 8,
    headDim: 128,
    hiddenSize: 5120,
    intermediateSize: 27648,
    vocabSize: 152064,
    maxContext: 32768,
    tiedEmbeddings: false,
    moe: null,
    mla: null,
    nativeDtype: "bf16",
    variants: qwenVariants("32B"),
    source: "huggingface.co/Qwen/Qwen2.5-32B-Instruct config.json and model card",
  },
  {
    id: "qwen2.5-72b",
    displayName: "Qwen2.5-72B-Instruct",
    family: "qwen2.5",
    kind: "chat",
    totalParams: 72.7e9, // card: 72.7B (70.0B non-embedding)
    activeParams: 72.7e9,
    layers: 80,
    attentionHeads: 64,
    kvHeads: 8,
    headDim: 128,
    hiddenSize: 8192,
    intermediateSize: 29568,
    vocabSize: 152064,
    maxContext: 32768,
    tiedEmbeddings: false,
    moe: null,
    mla: null,
    nativeDtype: "bf16",
    variants: qwenVariants("72B"),
    source: "huggingface.co/Qwen/Qwen2.5-72B-Instruct config.json and model card",
  },
  // Llama 3.1: config.json of meta-llama/Llama-3.1-*-Instruct (litgpt config.py "Llama-3.1-*");
  // rope_scaling llama3 factor 8 over 8192 gives max_position_embeddings 131072.
  {
    id: "llama-3.1-8b",
    displayName: "Llama-3.1-8B-Instruct",
    family: "llama-3.1",
    kind: "chat",
    totalParams: 8.03e9, // model card / HF: 8.03B
    activeParams: 8.03e9,
    layers: 32,
    attentionHeads: 32,
    kvHeads: 8,
    headDim: 128,
    hiddenSize: 4096,
    intermediateSize: 14336,
    vocabSize: 128256,
    maxContext: 131072,
    tiedEmbeddings: false,
    moe: null,
    mla: null,
    nativeDtype: "bf16",
    variants: [
      { repo: "meta-llama/Llama-3.1-8B-Instruct", quantization: "none" },
      { repo: "meta-llama/Meta-Llama-3.1-8B-Instruct", quantization: "none", note: "original repo name" },
      { repo: "meta-llama/Llama-3.1-8B", quantization: "none", base: true },
      { repo: "meta-llama/Meta-Llama-3.1-8B", quantization: "none", base: true, note: "original repo name" },
      { repo: "hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4", quantization: "awq" },
      { repo: "hugging-quants/Meta-Llama-3.1-8B-Instruct-GPTQ-INT4", quantization: "gptq-int4" },
      { repo: "neuralmagic/Meta-Llama-3.1-8B-Instruct-FP8", quantization: "fp8" },
      { repo: "RedHatAI/Meta-Llama-3.1-8B-Instruct-FP8", quantization: "fp8", note: "neuralmagic's new org" },
    ],
    source: "huggingface.co/meta-llama/Llama-3.1-8B-Instruct config.json; litgpt config.py",
  },
  {
    id: "llama-3.1-70b",
    displayName: "Llama-3.1-70B-Instruct",
    family: "llama-3.1",
    kind: "chat",
    totalParams: 70.6e9, // HF: 70.6B
    activeParams: 70.6e9,
    layers: 80,
    attentionHeads: 64,
    kvHeads: 8,
    headDim: 128,
    hiddenSize: 8192,
    intermediateSize: 28672,
    vocabSize: 128256,
    maxContext: 131072,
    tiedEmbeddings: false,
    moe: null,
    mla: null,
    nativeDtype: "bf16",
    variants: [
      { repo: "meta-llama/Llama-3.1-70B-Instruct", quantization: "none" },
      { repo: "meta-llama/Meta-Llama-3.1-70B-Instruct", quantization: "none", note: "original repo name" },
      { repo: "meta-llama/Llama-3.1-70B", quantization: "none", base: true },
      { repo: "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4", quantization: "awq" },
      { repo: "hugging-quants/Meta-Llama-3.1-70B-Instruct-GPTQ-INT4", quantization: "gptq-int4" },
      { repo: "neuralmagic/Meta-Llama-3.1-70B-Instruct-FP8", quantization: "fp8" },
      {
        repo: "RedHatAI/Meta-Llama-3.1-70B-Instruct-FP8",
        quantization: "fp8",
        note: "neuralmagic's new org",
      },
    ],
    source: "huggingface.co/meta-llama/Llama-3.1-70B-Instruct config.json; litgpt config.py",
  },
  {
    id: "llama-3.1-405b",
    displayName: "Llama-3.1-405B-Instruct",
    family: "llama-3.1",
    kind: "chat",
    // 405.9B computed from this config (Meta calls it 405B; HF shows 406B).
    totalParams: 405.9e9,
    activeParams: 405.9e9,
    layers: 126,
    attentionHeads: 128,
    // 8 KV heads: Llama 3 paper table 3 and the FP8 repo's config. Some BF16 checkpoint revisions
    // declared 16 (KV heads duplicated for 16-way model parallelism), which doubles the KV cache.
    kvHeads: 8,
    headDim: 128,
    hiddenSize: 16384,
    intermediateSize: 53248,
    vocabSize: 128256,
    maxContext: 131072,
    tiedEmbeddings: false,
    moe: null,
    mla: null,
    nativeDtype: "bf16",
    variants: [
      { repo: "meta-llama/Llama-3.1-405B-Instruct", quantization: "none" },
      { repo: "meta-llama/Meta-Llama-3.1-405B-Instruct", quantization: "none", note: "original repo name" },
      {
        repo: "meta-llama/Llama-3.1-405B-Instruct-FP8",
        quantization: "fp8",
        note: "Meta's own FP8 (fbgemm)",
      },
      { repo: "meta-llama/Llama-3.1-405B", quantization: "none", base: true },
      { repo: "hugging-quants/Meta-Llama-3.1-405B-Instruct-AWQ-INT4", quantization: "awq" },
      { repo: "hugging-quants/Meta-Llama-3.1-405B-Instruct-GPTQ-INT4", quantization: "gptq-int4" },
    ],
    source: "huggingface.co/meta-llama/Llama-3.1-405B-Instruct-FP8 config.json; litgpt config.py",
  },
  // Mistral 7B v0.3 (vocab 32768; v0.1/v0.2 use 32000): litgpt "Mistral-7B-Instruct-v0.3".
  {
    id: "mistral-7b",
    displayName: "Mistral-7B-Instruct-v0.3",
    family: "mistral",
    kind: "chat",
    totalParams: 7.25e9, // HF: 7.25B
    activeParams: 7.25e9,
    layers: 32,
    attentionHeads: 32,
    kvHeads: 8,
    headDim: 128,
    hiddenSize: 4096,
    intermediateSize: 14336,
    vocabSize: 32768,
    maxContext: 32768,
    tiedEmbeddings: false,
    moe: null,
    mla: null,
    nativeDtype: "bf16",
    variants: [
      { repo: "mistralai/Mistral-7B-Instruct-v0.3", quantization: "none" },
      { repo: "mistralai/Mistral-7B-v0.3", quantization: "none", base: true },
    ],
    source: "huggingface.co/mistralai/Mistral-7B-Instruct-v0.3 config.json; litgpt config.py",
  },
  // Mixtral 8x7B: litgpt "Mixtral-8x7B-{Instruct-}v0.1"; 46.7B total / 12.9B active per
  // Mistral's announcement ("Mixtral of experts", Dec 2023).
  {
    id: "mixtral-8x7b",
    displayName: "Mixtral-8x7B-Instruct-v0.1",
    family: "mixtral",
    kind: "chat",
    totalParams: 46.7e9,
    activeParams: 12.9e9,
    layers: 32,
    attentionHeads: 32,
    kvHeads: 8,
    headDim: 128,
    hiddenSize: 4096,
    intermediateSize: 14336,
    vocabSize: 32000,
    maxContext: 32768,
    tiedEmbeddings: false,
    moe: { experts: 8, expertsPerToken: 2, sharedExperts: 0, moeIntermediateSize: 14336, denseLayers: 0 },
    mla: null,
    nativeDtype: "bf16",
    variants: [
      { repo: "mistralai/Mixtral-8x7B-Instruct-v0.1", quantization: "none" },
      { repo: "mistralai/Mixtral-8x7B-v0.1", quantization: "none", base: true },
      { repo: "TheBloke/Mixtral-8x7B-Instruct-v0.1-AWQ", quantization: "awq" },
      { repo: "TheBloke/Mixtral-8x7B-Instruct-v0.1-GPTQ", quantization: "gptq-int4" },
      { repo: "neuralmagic/Mixtral-8x7B-Instruct-v0.1-FP8", quantization: "fp8" },
    ],
    source: "huggingface.co/mistralai/Mixtral-8x7B-Instruct-v0.1 config.json; litgpt config.py",
  },
  // DeepSeek-V3: deepseek-ai/DeepSeek-V3 config.json. 671B total / 37B active (README; the repo's
  // 685B adds the 14B multi-token-prediction module, which serving without speculative decoding
  // does not load). Weights ship in FP8 (e4m3, 128×128 block scales).
  {
    id: "deepseek-v3",
    displayName: "DeepSeek-V3",
    family: "deepseek-v3",
    kind: "chat",
    totalParams: 671e9,
    activeParams: 37e9,
    layers: 61,
    attentionHeads: 128,
    kvHeads: 128, // config num_key_value_heads; MLA caches a latent instead (see mla)
    headDim: 192, // qk_nope_head_dim 128 + qk_rope_head_dim 64
    hiddenSize: 7168,
    intermediateSize: 18432, // dense MLP of the first 3 layers
    vocabSize: 129280,
    maxContext: 163840,
    tiedEmbeddings: false,
    moe: { experts: 256, expertsPerToken: 8, sharedExperts: 1, moeIntermediateSize: 2048, denseLayers: 3 },
    mla: { kvLoraRank: 512, qkRopeHeadDim: 64, qLoraRank: 1536, qkNopeHeadDim: 128, vHeadDim: 128 },
    nativeDtype: "fp8",
    variants: [
      { repo: "deepseek-ai/DeepSeek-V3", quantization: "none", note: "native FP8 weights" },
      { repo: "deepseek-ai/DeepSeek-V3-0324", quantization: "none", note: "March 2025 refresh, same shape" },
      { repo: "deepseek-ai/DeepSeek-V3-Base", quantization: "none", base: true },
    ],
    source: "huggingface.co/deepseek-ai/DeepSeek-V3 config.json and README_WEIGHTS.md",
  },
  // BGE-M3: BAAI/bge-m3 config.json (XLMRobertaModel: 24 layers, 16 heads, hidden 1024,
  // intermediate 4096, vocab 250002, max_position_embeddings 8194 = 8192 + 2 padding offsets,
  // torch_dtype float32). 568M parameters (HF). Dense output 1024 dims.
  {
    id: "bge-m3",
    displayName: "BGE-M3",
    family: "bge",
    kind: "embedding",
    totalParams: 568e6,
    activeParams: 568e6,
    layers: 24,
    attentionHeads: 16,
    kvHeads: 16,
    headDim: 64,
    hiddenSize: 1024,
    intermediateSize: 4096,
    vocabSize: 250002,
    maxContext: 8192,
    tiedEmbeddings: false,
    moe: null,
    mla: null,
    nativeDtype: "fp32",
    embeddingDims: 1024,
    variants: [{ repo: "BAAI/bge-m3", quantization: "none" }],
    source: "huggingface.co/BAAI/bge-m3 config.json and model card",
  },
  // BGE reranker v2 m3: cross-encoder initialised from bge-m3 (XLMRobertaForSequenceClassification,
  // same encoder shape, one-logit head). 568M parameters (HF).
  {
    id: "bge-reranker-v2-m3",
    displayName: "BGE-Reranker-v2-M3",
    family: "bge",
    kind: "rerank",
    totalParams: 568e6,
    activeParams: 568e6,
    layers: 24,
    attentionHeads: 16,
    kvHeads: 16,
    headDim: 64,
    hiddenSize: 1024,
    intermediateSize: 4096,
    vocabSize: 250002,
    maxContext: 8192,
    tiedEmbeddings: false,
    moe: null,
    mla: null,
    nativeDtype: "fp32",
    variants: [{ repo: "BAAI/bge-reranker-v2-m3", quantization: "none" }],
    source: "huggingface.co/BAAI/bge-reranker-v2-m3 model card (based on bge-m3)",
  },
  // BGE small en v1.5: BAAI/bge-small-en-v1.5 config.json (BertModel: 12 layers, 12 heads,
  // hidden 384, intermediate 1536, vocab 30522, max_position_embeddings 512, float32); 33.4M
  // parameters (card). Pooling, normalisation and the query instruction: the model card ("use
  // the [CLS] embedding ... normalize_embeddings=True"; "Represent this sentence for searching
  // relevant passages: " for short queries to passages) and its 1_Pooling/config.json
  // (pooling_mode_cls_token true). Served by the `embedded` engine from the int8 ONNX export
  // (Xenova/bge-small-en-v1.5 model_quantized.onnx), see src/engines/embedded/artifacts.ts.
  {
    id: "bge-small-en-v1.5",
    displayName: "BGE small en v1.5",
    family: "bge",
    kind: "embedding",
    totalParams: 33.4e6,
    activeParams: 33.4e6,
    layers: 12,
    attentionHeads: 12,
    kvHeads: 12,
    headDim: 32,
    hiddenSize: 384,
    intermediateSize: 1536,
    vocabSize: 30522,
    maxContext: 512,
    tiedEmbeddings: false,
    moe: null,
    mla: null,
    nativeDtype: "fp32",
    embeddingDims: 384,
    embedding: {
      pooling: "cls",
      normalize: true,
      maxTokens: 512,
      queryInstruction: "Represent this sentence for searching relevant passages: ",
      matryoshka: false,
    },
    variants: [{ repo: "BAAI/bge-small-en-v1.5", quantization: "none" }],
    source: "huggingface.co/BAAI/bge-small-en-v1.5 config.json, 1_Pooling/config.json and model card",
  },
];

/** Qwen publishes the same four repos for every size: BF16, AWQ, GPTQ-Int4, GPTQ-Int8 (+ base). */
function qwenVariants(size: string): ModelVariant[] {
  return [
    { repo: `Qwen/Qwen2.5-${size}-Instruct`, quantization: "none" },
    { repo: `Qwen/Qwen2.5-${size}-Instruct-AWQ`, quantization: "awq" },
    { repo: `Qwen/Qwen2.5-${size}-Instruct-GPTQ-Int4`, quantization: "gptq-int4" },
    { repo: `Qwen/Qwen2.5-${size}-Instruct-GPTQ-Int8`, quantization: "gptq-int8" },
    {
      repo: `Qwen/Qwen2.5-${size}`,
      quantization: "none",
      base: true,
      note: "max_position_embeddings 131072",
    },
  ];
}

const BY_ID: ReadonlyMap<string, ModelSpec> = new Map(MODELS.map((m) => [m.id, m]));

const BY_REPO: ReadonlyMap<string, { model: ModelSpec; variant: ModelVariant }> = new Map(
  MODELS.flatMap((model) =>
    model.variants.map((variant) => [variant.repo.toLowerCase(), { model, variant }] as const),
  ),
);

/** Every model in the catalog, in a stable order. */
export function listModels(): readonly ModelSpec[] {
  return MODELS;
}

export function isModelId(id: string): id is ModelId {
  return BY_ID.has(id);
}

/** The model with this id (exact, then case-insensitive), or `undefined`. */
export function findModel(id: string): ModelSpec | undefined {
  const exact = BY_ID.get(id);
  if (exact !== undefined) return exact;
  const lower = id.toLowerCase();
  return MODELS.find((m) => m.id === lower);
}

/** The model with this id; throws `catalog_unknown_model` naming the known ids. */
export function getModel(id: string): ModelSpec {
  const model = findModel(id);
  if (model === undefined) {
    throw new InferplaneError(
      "catalog_unknown_model",
      `Unknown model "${id}". Known models: ${MODEL_IDS.join(", ")}.`,
    );
  }
  return model;
}

/**
 * The catalog model and variant a Hugging Face repo id belongs to, case-insensitively; an
 * `hf://` prefix, surrounding blanks, a trailing slash and a `@revision` / `:revision` suffix
 * are ignored. `undefined` when the repo is not in the catalog.
 */
export function findModelByRepo(repoId: string): { model: ModelSpec; variant: ModelVariant } | undefined {
  const key = repoId
    .trim()
    .replace(/^hf:\/\//i, "")
    .replace(/[@:][^/]*$/, "")
    .replace(/\/+$/, "")
    .toLowerCase();
  return BY_REPO.get(key);
}

/** The catalog model of a speculative draft: an `hf://` repo, else a catalog id. */
export function draftCatalogModel(draft: string): ModelSpec | undefined {
  return draft.startsWith("hf://") ? findModelByRepo(draft)?.model : findModel(draft);
}
