/**
 * What one simulated replica is: a catalog model on a catalog GPU with an engine's settings,
 * and how many KV blocks that leaves — computed the way vLLM sizes its KV pool at start-up.
 */
import { findGpu, type GpuSpec, getGpu } from "../../catalog/gpus.js";
import { kvBytesPerToken, type WeightFormat, weightBytes } from "../../catalog/kv.js";
import { getModel, type ModelSpec } from "../../catalog/models.js";
import { type EfficiencyProfile, efficiencyFor } from "./efficiency.js";

export interface EngineConfig {
  model: ModelSpec;
  gpu: GpuSpec;
  /** Tensor-parallel size: GPUs per replica. */
  tp: number;
  /** Weight format (`none` = the model's native dtype). */
  weightFormat: WeightFormat;
  /** Bytes per KV element (2 for BF16/FP16, 1 for an FP8 KV cache). */
  kvDtypeBytes: number;
  gpuMemoryUtilization: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  maxModelLen: number;
  blockSize: number;
  enablePrefixCaching: boolean;
  /** KV blocks of the replica (all TP ranks together). */
  numGpuBlocks: number;
  efficiency: EfficiencyProfile;
}

export interface EngineConfigInput {
  model: string | ModelSpec;
  gpu: string | GpuSpec;
  tp?: number;
  weightFormat?: WeightFormat;
  kvDtypeBytes?: number;
  gpuMemoryUtilization?: number;
  maxNumSeqs?: number;
  maxNumBatchedTokens?: number;
  maxModelLen?: number;
  blockSize?: number;
  enablePrefixCaching?: boolean;
  /** Override the computed KV capacity (to study KV pressure). */
  numGpuBlocks?: number;
  efficiency?: Partial<EfficiencyProfile>;
}

/** CUDA context, cuBLAS/NCCL workspaces and CUDA graphs that vLLM counts as non-torch memory;
 * vLLM start-up logs for 7–8B models typically report 0.5–1.5 GiB of it per GPU. */
export const NON_TORCH_BYTES_PER_GPU = 1.0 * 2 ** 30;

export interface MemoryBreakdown {
  /** Per GPU, bytes. */
  budget: number;
  weights: number;
  activations: number;
  nonTorch: number;
  kv: number;
  /** KV bytes of one block across the replica's TP ranks. */
  bytesPerBlock: number;
  numGpuBlocks: number;
}

/**
 * vLLM's KV pool: gpu_memory_utilization × device memory − weights − peak activations −
 * non-torch memory, per GPU (vLLM `gpu_worker.determine_available_memory`). Peak activations are
 * estimated, not profiled: one forward pass of max_num_batched_tokens holds the MLP's gate/up
 * output (2 × intermediate) plus about four hidden-size tensors (residual, norm, attention
 * in/out) in 16-bit, split across TP ranks; plus FP32 logits for max_num_seqs sequences.
 */
export function memoryBreakdown(
  model: ModelSpec,
  gpu: GpuSpec,
  o: Pick<
    EngineConfig,
    | "tp"
    | "weightFormat"
    | "kvDtypeBytes"
    | "gpuMemoryUtilization"
    | "maxNumBatchedTokens"
    | "maxNumSeqs"
    | "blockSize"
  >,
): MemoryBreakdown {
  const budget = gpu.memoryBytes * o.gpuMemoryUtilization;
  const weights = weightBytes(model, o.weightFormat) / o.tp;
  const activations =
    (o.maxNumBatchedTokens * (2 * model.intermediateSize + 4 * model.hiddenSize) * 2) / o.tp +
    o.maxNumSeqs * model.vocabSize * 4;
  const kv = budget - weights - activations - NON_TORCH_BYTES_PER_GPU;
  const bytesPerBlock = kvBytesPerToken(model, o.kvDtypeBytes) * o.blockSize;
  const numGpuBlocks = bytesPerBlock > 0 ? Math.max(0, Math.floor((kv * o.tp) / bytesPerBlock)) : 0;
  return { budget, weights, activations, nonTorch: NON_TORCH_BYTES_PER_GPU, kv, bytesPerBlock, numGpuBlocks };
}

export function engineConfig(input: EngineConfigInput): EngineConfig {
  const model = typeof input.model === "string" ? getModel(input.model) : input.model;
  const gpu = typeof input.gpu === "string" ? (findGpu(input.gpu) ?? getGpu(input.gpu)) : input.gpu;
  const base = {
    tp: input.tp ?? 1,
    weightFormat: input.weightFormat ?? "none",
    kvDtypeBytes: input.kvDtypeBytes ?? 2,
    gpuMemoryUtilization: input.gpuMemoryUtilization ?? 0.9,
    maxNumSeqs: input.maxNumSeqs ?? 256,
    maxNumBatchedTokens: input.maxNumBatchedTokens ?? 8192,
    blockSize: input.blockSize ?? 16,
  };
  const mem = memoryBreakdown(model, gpu, base);
  const numGpuBlocks = input.numGpuBlocks ?? mem.numGpuBlocks;
  if (numGpuBlocks < 1) {
    throw new RangeError(
      `${model.id} (${input.weightFormat ?? "native"}) does not fit on ${base.tp} × ${gpu.id}: ` +
        `${(mem.weights / 1e9).toFixed(1)} GB of weights per GPU leave no KV cache`,
    );
  }
  return {
    model,
    gpu,
    ...base,
    maxModelLen: input.maxModelLen ?? model.maxContext,
    enablePrefixCaching: input.enablePrefixCaching ?? true,
    numGpuBlocks,
    efficiency: { ...efficiencyFor(gpu), ...input.efficiency },
  };
}
