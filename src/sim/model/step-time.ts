/**
 * Time of one engine step: a roofline, max(compute, memory), plus tensor-parallel all-reduces
 * and the fixed CPU-side costs vLLM pays per step, layer, sequence and sampled token.
 *
 * compute = linear FLOPs (2 × active parameters × tokens) + attention FLOPs (4 × layers × heads ×
 *           head_dim per (query, key) pair), prefill and decode at their own MFU;
 * memory  = weight bytes (for MoE only the experts a batch touches) + KV bytes read.
 */
import { peak16BitFlops } from "../../catalog/gpus.js";
import { kvBytesPerToken, weightBytes } from "../../catalog/kv.js";
import type { ModelSpec } from "../../catalog/models.js";
import type { EngineConfig } from "./config.js";

/** One sequence's share of a step: `tokens` new tokens after `context` already cached. */
export interface StepItem {
  tokens: number;
  context: number;
  /** Whether this is a decode (one token after a finished prompt). */
  decode: boolean;
  /** Whether the step samples a token for it (prompt complete after this chunk). */
  samples: boolean;
}

export interface StepCost {
  seconds: number;
  computeS: number;
  memoryS: number;
  commS: number;
  overheadS: number;
}

/** Parameters that live in routed experts (all experts, all MoE layers). */
function expertParams(m: ModelSpec): number {
  if (!m.moe) return 0;
  return m.moe.experts * 3 * m.hiddenSize * m.moe.moeIntermediateSize * (m.layers - m.moe.denseLayers);
}

/** Precomputed per-config constants, so a step costs a few multiplications per item. */
export class StepTimer {
  private readonly c: EngineConfig;
  private readonly peak: number;
  private readonly bw: number;
  private readonly weightBytes: number;
  private readonly expertShare: number;
  private readonly kvPerToken: number;
  private readonly attnFlopsPerPair: number;

  constructor(cfg: EngineConfig) {
    this.c = cfg;
    const m = cfg.model;
    const fp8 = cfg.weightFormat === "fp8" && cfg.gpu.fp8Flops !== null;
    this.peak = (fp8 ? (cfg.gpu.fp8Flops as number) : peak16BitFlops(cfg.gpu)) * cfg.tp;
    const int4 = ["awq", "gptq", "gptq-int4", "gguf", "bitsandbytes"].includes(cfg.weightFormat);
    this.bw =
      cfg.gpu.memoryBandwidthBytesPerSec *
      cfg.tp *
      cfg.efficiency.mbu *
      (int4 ? cfg.efficiency.int4BandwidthFactor : 1);
    this.weightBytes = weightBytes(m, cfg.weightFormat);
    this.expertShare = m.moe ? expertParams(m) / m.totalParams : 0;
    this.kvPerToken = kvBytesPerToken(m, cfg.kvDtypeBytes);
    const qkDim = m.mla ? m.mla.qkNopeHeadDim + m.mla.qkRopeHeadDim : m.headDim;
    const vDim = m.mla ? m.mla.vHeadDim : m.headDim;
    // QKᵀ and AV: 2 FLOPs per multiply-add each.
    this.attnFlopsPerPair = 2 * m.layers * m.attentionHeads * (qkDim + vDim);
  }

  /** Share of routed-expert weights a batch of `tokens` reads: 1 − (1 − k/E)^tokens. */
  private touchedExperts(tokens: number): number {
    const moe = this.c.model.moe;
    if (!moe) return 0;
    return 1 - (1 - moe.expertsPerToken / moe.experts) ** tokens;
  }

  cost(items: readonly StepItem[]): StepCost {
    const m = this.c.model;
    const e = this.c.efficiency;
    let prefillTokens = 0;
    let decodeTokens = 0;
    let prefillAttn = 0;
    let decodeAttn = 0;
    let kvRead = 0;
    let sampled = 0;
    for (const it of items) {
      // Σ over the chunk's queries of the keys each one sees: n·c + n(n+1)/2.
      const pairs = it.tokens * it.context + (it.tokens * (it.tokens + 1)) / 2;
      if (it.decode) {
        decodeTokens += it.tokens;
        decodeAttn += pairs;
      } else {
        prefillTokens += it.tokens;
        prefillAttn += pairs;
      }
      kvRead += (it.context + it.tokens) * this.kvPerToken;
      if (it.samples) sampled++;
    }
    const tokens = prefillTokens + decodeTokens;
    const linear = 2 * m.activeParams;
    const computeS =
      (linear * prefillTokens + this.attnFlopsPerPair * prefillAttn) / (this.peak * e.mfuPrefill) +
      (linear * decodeTokens + this.attnFlopsPerPair * decodeAttn) / (this.peak * e.mfuDecode);
    const weightsRead =
      this.weightBytes * (1 - this.expertShare + this.expertShare * this.touchedExperts(tokens));
    const memoryS = (weightsRead + kvRead) / this.bw;
    const tp = this.c.tp;
    // Two all-reduces of the hidden states per layer (after attention and after the MLP), ring algorithm.
    const commS =
      tp > 1
        ? 2 *
          m.layers *
          (e.allReduceLatencyS + (tokens * m.hiddenSize * 2 * 2 * (tp - 1)) / tp / e.interconnectBytesPerSec)
        : 0;
    const overheadS =
      e.stepOverheadS + e.perLayerS * m.layers + e.perSeqS * items.length + e.perOutputTokenS * sampled;
    return { seconds: Math.max(computeS, memoryS) + commS + overheadS, computeS, memoryS, commS, overheadS };
  }
}
