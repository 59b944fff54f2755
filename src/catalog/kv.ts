/**
 * Small pure helpers over catalog facts: KV-cache bytes per token and weight bytes.
 *
 * KV cache (vLLM `vllm/v1/kv_cache_interface.py`, `FullAttentionSpec.page_size_bytes`):
 *   standard / GQA attention: 2 (K and V) × layers × KV heads × head_dim × dtype bytes per token.
 *   Sizing with attention heads (or hidden size) instead of KV heads overstates GQA models, e.g.
 *   Llama-3.1-8B by 4× (32 heads vs 8 KV heads).
 *   MLA (DeepSeek-V2/V3, vLLM `MLAAttentionSpec`): one latent of kv_lora_rank + qk_rope_head_dim
 *   per layer and token, no factor 2 — DeepSeek-V3: 61 × (512 + 64) × 2 = 70,272 bytes in BF16.
 *   Encoder-only embedding / rerank models keep no KV cache between requests: 0.
 *
 * Weights: parameters × bytes per parameter of the format, where quantized formats only shrink
 * the decoder's linear layers. Token embeddings and the LM head stay 16-bit (AWQ and GPTQ
 * quantize `nn.Linear` modules inside the decoder blocks only; FP8 recipes such as llm-compressor's
 * and DeepSeek-V3's own keep `embed_tokens` and `lm_head` in BF16). Norms and biases are noise.
 * Check: Llama-3.1-8B AWQ → 6.98B × 0.5195 + 1.05B × 2 ≈ 5.73 GB; the
 * hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4 safetensors are 4.68 + 1.05 = 5.73 GB.
 */
import type { ModelSpec, NativeDtype } from "./models.js";

/**
 * Weight formats we can size. `none` is the model's native dtype. The spec's quantization names
 * (`awq`, `gptq`, `gptq-int4`, `gptq-int8`, `fp8`, `gguf`, `bitsandbytes`) are all accepted.
 */
export type WeightFormat =
  | "none"
  | "fp32"
  | "bf16"
  | "fp16"
  | "fp8"
  | "int8"
  | "awq"
  | "gptq"
  | "gptq-int4"
  | "gptq-int8"
  | "gguf"
  | "bitsandbytes";

export interface WeightFormatInfo {
  /** Bytes per parameter of the (quantized) linear layers, scales and zero points included. */
  bytesPerParam: number;
  /** Whether embeddings and LM head stay 16-bit (true for every format but plain dtypes and GGUF). */
  embeddingsUnquantized: boolean;
  note: string;
}

/** 4-bit with group size 128: per group an FP16 scale (2 B) and a packed 4-bit zero (0.5 B). */
const INT4_G128 = 0.5 + 2.5 / 128;
/** 8-bit GPTQ with group size 128: FP16 scale plus an 8-bit zero per group. */
const INT8_G128 = 1 + 3 / 128;

export const WEIGHT_FORMATS: Readonly<Record<Exclude<WeightFormat, "none">, WeightFormatInfo>> = {
  fp32: { bytesPerParam: 4, embeddingsUnquantized: false, note: "full precision" },
  bf16: { bytesPerParam: 2, embeddingsUnquantized: false, note: "16-bit" },
  fp16: { bytesPerParam: 2, embeddingsUnquantized: false, note: "16-bit" },
  fp8: {
    bytesPerParam: 1,
    embeddingsUnquantized: true,
    note: "FP8 e4m3; per-tensor/per-channel or 128×128 block scales add < 0.1%",
  },
  int8: { bytesPerParam: 1, embeddingsUnquantized: true, note: "INT8 W8A8 with per-channel scales" },
  awq: {
    bytesPerParam: INT4_G128,
    embeddingsUnquantized: true,
    note: "4-bit, group 128, FP16 scales + 4-bit zeros",
  },
  gptq: { bytesPerParam: INT4_G128, embeddingsUnquantized: true, note: "assumed 4-bit, group 128" },
  "gptq-int4": { bytesPerParam: INT4_G128, embeddingsUnquantized: true, note: "4-bit, group 128" },
  "gptq-int8": { bytesPerParam: INT8_G128, embeddingsUnquantized: true, note: "8-bit, group 128" },
  gguf: {
    bytesPerParam: 4.85 / 8,
    embeddingsUnquantized: false,
    note: "estimate for Q4_K_M (≈4.85 bits per weight averaged over all tensors)",
  },
  bitsandbytes: {
    bytesPerParam: 0.5 + 4 / 64,
    embeddingsUnquantized: true,
    note: "NF4, block 64 with FP32 absmax (double quantization saves ≈0.05 B/param more)",
  },
};

const NATIVE_FORMAT: Readonly<Record<NativeDtype, Exclude<WeightFormat, "none">>> = {
  fp32: "fp32",
  bf16: "bf16",
  fp16: "fp16",
  fp8: "fp8",
};

/** KV-cache bytes per token across all layers, in a cache of `dtypeBytes`-byte elements. */
export function kvBytesPerToken(model: ModelSpec, dtypeBytes = 2): number {
  if (model.kind !== "chat") return 0;
  if (model.mla !== null) {
    return model.layers * (model.mla.kvLoraRank + model.mla.qkRopeHeadDim) * dtypeBytes;
  }
  return 2 * model.layers * model.kvHeads * model.headDim * dtypeBytes;
}

/** KV-cache bytes for `tokens` tokens. */
export function kvBytes(model: ModelSpec, tokens: number, dtypeBytes = 2): number {
  return kvBytesPerToken(model, dtypeBytes) * tokens;
}

/**
 * Element size of a KV-cache dtype as vLLM's `--kv-cache-dtype` names it: `auto` follows the
 * activation dtype (16-bit for every catalog model served on GPU), `fp8*` is one byte.
 */
export function kvCacheDtypeBytes(dtype: string): number {
  const d = dtype.toLowerCase();
  if (d.startsWith("fp8")) return 1;
  if (d === "fp32" || d === "float32" || d === "float") return 4;
  return 2; // auto, bf16, bfloat16, fp16, float16, half
}

/** Parameters in the token embedding plus the LM head (counted once when tied or absent). */
export function embeddingParams(model: ModelSpec): number {
  const table = model.vocabSize * model.hiddenSize;
  // Encoders (embedding, rerank) have no LM head; decoders have one unless tied.
  return model.kind === "chat" && !model.tiedEmbeddings ? 2 * table : table;
}

/** The format `none` stands for: the model's native dtype. */
export function resolveWeightFormat(
  model: ModelSpec,
  format: WeightFormat = "none",
): Exclude<WeightFormat, "none"> {
  return format === "none" ? NATIVE_FORMAT[model.nativeDtype] : format;
}

/**
 * Bytes the weights occupy in `format` (`none`: the native dtype). Sized by TOTAL parameters —
 * every expert of an MoE model must be resident even though only a few run per token.
 */
export function weightBytes(model: ModelSpec, format: WeightFormat = "none"): number {
  const info = WEIGHT_FORMATS[resolveWeightFormat(model, format)];
  if (!info.embeddingsUnquantized) return Math.round(model.totalParams * info.bytesPerParam);
  const embed = Math.min(embeddingParams(model), model.totalParams);
  return Math.round((model.totalParams - embed) * info.bytesPerParam + embed * 2);
}

/** Tokens of KV cache that fit in `bytes`; `Infinity` for models without a KV cache. */
export function tokensThatFit(model: ModelSpec, bytes: number, dtypeBytes = 2): number {
  const per = kvBytesPerToken(model, dtypeBytes);
  if (per === 0) return Number.POSITIVE_INFINITY;
  return Math.max(0, Math.floor(bytes / per));
}
