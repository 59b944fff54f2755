/**
 * Memory model of one replica on one unit (whole GPUs under tensor parallelism, a MIG instance,
 * or a time-slicing share): weights, activations, overhead and the KV pool vLLM is left with,
 * and how many sequences of the context length fit in it.
 *
 * Formulas (docs/planner.md has them with examples):
 * - weights = total parameters × bytes per parameter of the format (catalog `weightBytes`:
 *   BF16/FP16 2, FP8/INT8 1, AWQ/GPTQ-int4 0.5 + group-128 scales ≈ 0.52, GGUF Q4_K_M ≈ 0.61;
 *   embeddings and LM head stay 16-bit in AWQ/GPTQ/FP8), divided evenly across TP ranks;
 * - KV bytes per token = 2 × layers × KV heads × head_dim × KV dtype bytes (MLA: layers ×
 *   (kv_lora_rank + qk_rope_head_dim) × bytes), catalog `kvBytesPerToken`. Under tensor
 *   parallelism each rank holds ⌈KV heads ÷ TP⌉ heads (vLLM replicates a head when TP exceeds
 *   the KV heads); MLA's latent is replicated on every rank;
 * - KV pool per rank = gpu_memory_utilization × unit memory − weights − activations − non-torch
 *   overhead (sim/model/config.ts `memoryBreakdown`, vLLM's `determine_available_memory`);
 *   a MIG instance offers its usable framebuffer (catalog `memoryMiB`), not the nominal size.
 *
 * Engines that map a GGUF file (llama.cpp) reckon their own: the file as stored plus the KV cache
 * allocated up front for every slot's context (`engineReplicaMemory`, asked from the engine).
 */
import type { GpuSpec, MigProfile } from "../catalog/gpus.js";
import { kvBytesPerToken, type WeightFormat, weightBytes } from "../catalog/kv.js";
import type { ModelSpec } from "../catalog/models.js";
import { engineDefinition, type OwnReplicaMemory } from "../engines/index.js";
import { memoryBreakdown } from "../sim/model/config.js";
import type { ModelSpec as SpecModel } from "../spec/schema.js";
import type { DraftMemory, MemoryFit } from "./types.js";

const MiB = 2 ** 20;

/** Engine settings that decide memory. */
export interface MemorySettings {
  tp: number;
  weightFormat: WeightFormat;
  kvDtypeBytes: number;
  gpuMemoryUtilization: number;
  maxNumBatchedTokens: number;
  maxNumSeqs: number;
  contextTokens: number;
  /** A speculative-decoding draft model served on the same ranks (vLLM's draft TP = target TP). */
  draft?: { model: ModelSpec; weightFormat: WeightFormat };
}

/**
 * The GPU a MIG instance behaves as: its usable framebuffer, and bandwidth and FLOP/s in
 * proportion to its memory and compute slices (an instance owns its slices' memory controllers
 * and SMs; MIG user guide "Terminology").
 */
export function migInstanceGpu(gpu: GpuSpec, profile: MigProfile): GpuSpec {
  const slices = gpu.migSlices;
  if (slices === null) throw new RangeError(`${gpu.id} has no MIG`);
  const c = profile.computeSlices / slices.compute;
  const m = profile.memorySlices / slices.memory;
  const scale = (x: number | null) => (x === null ? null : x * c);
  return {
    ...gpu,
    memoryBytes: profile.memoryMiB * MiB,
    memoryGiB: Math.round((profile.memoryMiB / 1024) * 100) / 100,
    memoryBandwidthBytesPerSec: gpu.memoryBandwidthBytesPerSec * m,
    bf16Flops: scale(gpu.bf16Flops),
    fp16Flops: gpu.fp16Flops * c,
    fp8Flops: scale(gpu.fp8Flops),
    int8Ops: scale(gpu.int8Ops),
    migSlices: null,
    migProfiles: [],
  };
}

/**
 * A time-sliced replica's GPU while `contending` processes are busy on it: the full memory (its
 * budget is set by gpu_memory_utilization) but 1/contending of the throughput (time slicing
 * round-robins whole-GPU time slices between busy processes; context switches are not counted).
 */
export function timeSliceGpu(gpu: GpuSpec, contending: number): GpuSpec {
  const f = 1 / contending;
  const scale = (x: number | null) => (x === null ? null : x * f);
  return {
    ...gpu,
    memoryBandwidthBytesPerSec: gpu.memoryBandwidthBytesPerSec * f,
    bf16Flops: scale(gpu.bf16Flops),
    fp16Flops: gpu.fp16Flops * f,
    fp8Flops: scale(gpu.fp8Flops),
    int8Ops: scale(gpu.int8Ops),
  };
}

/** KV bytes per token held by one rank: ⌈KV heads ÷ TP⌉ heads, or the whole MLA latent. */
export function kvBytesPerTokenPerRank(model: ModelSpec, tp: number, dtypeBytes: number): number {
  const total = kvBytesPerToken(model, dtypeBytes);
  if (total === 0 || model.mla !== null || tp <= 1) return total;
  const headsPerRank = Math.max(1, Math.ceil(model.kvHeads / tp));
  return 2 * model.layers * headsPerRank * model.headDim * dtypeBytes;
}

/** A draft model's weights and KV bytes per token on each of `tp` ranks. */
export function draftMemory(
  model: ModelSpec,
  format: WeightFormat,
  tp: number,
  kvDtypeBytes: number,
): DraftMemory {
  return {
    model: model.id,
    weightBytes: weightBytes(model, format) / tp,
    kvBytesPerToken: kvBytesPerToken(model, kvDtypeBytes),
    kvBytesPerTokenPerRank: kvBytesPerTokenPerRank(model, tp, kvDtypeBytes),
  };
}

/** Memory of one replica of `model` on `gpu` (a whole GPU, or a MIG instance's GPU). */
export function fitMemory(model: ModelSpec, gpu: GpuSpec, s: MemorySettings): MemoryFit {
  const b = memoryBreakdown(model, gpu, { ...s, blockSize: 16 });
  const perToken = kvBytesPerToken(model, s.kvDtypeBytes);
  const perRank = kvBytesPerTokenPerRank(model, s.tp, s.kvDtypeBytes);
  const draft = s.draft ? draftMemory(s.draft.model, s.draft.weightFormat, s.tp, s.kvDtypeBytes) : undefined;
  const kv = b.kv - (draft?.weightBytes ?? 0);
  // vLLM v1 gives the draft's layers KV blocks from the same pool as the target's.
  const tokenBytes = perRank + (draft?.kvBytesPerTokenPerRank ?? 0);
  // Encoders (embedding, rerank) keep no KV cache: their batch is bounded by max_num_seqs alone.
  const kvTokens = perRank > 0 ? Math.max(0, Math.floor(kv / tokenBytes)) : 0;
  return {
    deviceBytes: gpu.memoryBytes,
    budgetBytes: b.budget,
    weightBytes: b.weights,
    activationBytes: b.activations,
    overheadBytes: b.nonTorch,
    kvBytes: kv,
    kvBytesPerToken: perToken,
    kvBytesPerTokenPerRank: perRank,
    kvTokens,
    ...(draft ? { draft } : {}),
    contextTokens: s.contextTokens,
    maxSequencesAtContext:
      perRank === 0 ? s.maxNumSeqs : s.contextTokens > 0 ? Math.floor(kvTokens / s.contextTokens) : 0,
  };
}

/**
 * The smallest gpu_memory_utilization (in steps of 0.01) at which the replica holds
 * `kvTokensNeeded` tokens of KV cache, or null when even `cap` is not enough.
 */
export function smallestUtilization(
  model: ModelSpec,
  gpu: GpuSpec,
  s: Omit<MemorySettings, "gpuMemoryUtilization">,
  kvTokensNeeded: number,
  cap: number,
): number | null {
  for (let pct = 1; pct <= Math.round(cap * 100); pct++) {
    const fit = fitMemory(model, gpu, { ...s, gpuMemoryUtilization: pct / 100 });
    // A model with no KV cache (an encoder: embeddings, reranking) needs only room beside its weights.
    if (fit.kvBytes > 0 && (fit.kvBytesPerToken === 0 || fit.kvTokens >= kvTokensNeeded)) return pct / 100;
  }
  return null;
}

/** Decimal gigabytes with one decimal, as the explanations print them. */
export const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(1)} GB`;

/** Why a replica does not fit, in words with numbers; null when it fits. */
export function explainFit(fit: MemoryFit, what: string, tp: number, utilization: number): string | null {
  const perRank = tp > 1 ? " per GPU" : "";
  if (fit.kvBytes <= 0) {
    const need = fit.weightBytes + fit.activationBytes + fit.overheadBytes;
    return (
      `${what}: ${gb(fit.weightBytes)} of weights${perRank} + ${gb(fit.activationBytes)} activations + ` +
      `${gb(fit.overheadBytes)} CUDA overhead = ${gb(need)}, above the ${gb(fit.budgetBytes)} vLLM may use ` +
      `(${utilization} × ${gb(fit.deviceBytes)})`
    );
  }
  if (fit.kvBytesPerToken > 0 && fit.kvTokens < fit.contextTokens) {
    return (
      `${what}: ${gb(fit.budgetBytes)} budget − ${gb(fit.weightBytes)} weights − ${gb(fit.activationBytes)} ` +
      `activations − ${gb(fit.overheadBytes)} overhead leaves ${gb(fit.kvBytes)}${perRank} for KV = ` +
      `${fit.kvTokens.toLocaleString("en-US")} tokens at ${fit.kvBytesPerTokenPerRank.toLocaleString("en-US")} B/token, ` +
      `fewer than one ${fit.contextTokens.toLocaleString("en-US")}-token context (vLLM refuses to start; lower maxModelLen to ${fit.kvTokens.toLocaleString("en-US")} or use a larger unit)`
    );
  }
  return null;
}

/**
 * Memory of one replica of an engine that reckons its own (GGUF engines: file + KV for context ×
 * slots, src/engines/llamacpp/memory.ts); `undefined` for engines `fitMemory` sizes, or while the
 * weights are not on this machine yet (`cacheDir`: where `up` keeps the engine's venv).
 */
export async function engineReplicaMemory(
  m: SpecModel,
  cacheDir: string,
): Promise<OwnReplicaMemory | undefined> {
  return engineDefinition(m.engine).replicaMemory?.(m, cacheDir);
}
