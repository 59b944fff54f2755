/**
 * What a simulated replica of a spec's model looks like: the catalog model, the GPU (a whole
 * GPU, several for tensor parallelism, or one MIG slice), and the engine settings of the spec.
 */
import { type GpuSpec, getGpu } from "../catalog/gpus.js";
import type { WeightFormat } from "../catalog/kv.js";
import { migProfile } from "../catalog/mig.js";
import { isExternalEngine } from "../engines/index.js";
import { InferplaneError } from "../errors.js";
import { catalogModelOf, servedModelName } from "../spec/checks.js";
import type { ModelSpec, Platform } from "../spec/schema.js";
import type { EngineConfigInput } from "./model/config.js";

export interface SimReplicaPlan {
  model: string;
  engine: ModelSpec["engine"];
  engineVersion?: string;
  servedModelName: string;
  config: EngineConfigInput;
  replicas: number;
}

/**
 * A MIG instance as a GPU of its own: its usable memory, and the share of bandwidth and
 * compute its memory and compute slices get (NVIDIA MIG user guide: slices are dedicated).
 */
export function migSliceGpu(gpu: GpuSpec, profileName: string): GpuSpec {
  const profile = migProfile(gpu.id, profileName);
  if (!profile || !gpu.migSlices) {
    throw new InferplaneError("catalog_unknown_gpu", `${gpu.id} has no MIG profile ${profileName}`);
  }
  const mem = profile.memoryMiB * 2 ** 20;
  const bw = profile.memorySlices / gpu.migSlices.memory;
  const compute = profile.computeSlices / gpu.migSlices.compute;
  return {
    ...gpu,
    memoryBytes: mem,
    memoryGiB: Math.round((profile.memoryMiB / 1024) * 100) / 100,
    memoryBandwidthBytesPerSec: gpu.memoryBandwidthBytesPerSec * bw,
    bf16Flops: gpu.bf16Flops === null ? null : gpu.bf16Flops * compute,
    fp16Flops: gpu.fp16Flops * compute,
    fp8Flops: gpu.fp8Flops === null ? null : gpu.fp8Flops * compute,
    int8Ops: gpu.int8Ops === null ? null : gpu.int8Ops * compute,
    migProfiles: [],
    migSlices: null,
  };
}

const FORMAT: Record<string, WeightFormat> = {
  none: "none",
  awq: "awq",
  gptq: "gptq",
  "gptq-int4": "gptq-int4",
  "gptq-int8": "gptq-int8",
  fp8: "fp8",
  gguf: "gguf",
  bitsandbytes: "bitsandbytes",
};

/** The simulated replicas `inferplane up` starts for a model that has no endpoints. */
export function simPlanFor(platform: Platform, m: ModelSpec): SimReplicaPlan {
  if (isExternalEngine(m.engine)) {
    throw new InferplaneError(
      "spec_invalid",
      `model ${m.name} is an external provider (engine openai): give it \`endpoints\`, it cannot be simulated`,
    );
  }
  const cat = catalogModelOf(m);
  if (!cat) {
    throw new InferplaneError(
      "catalog_unknown_model",
      `model ${m.name} (${m.source}) is not in the catalog: set \`catalog\` to a similar catalog model to simulate it, or give \`endpoints\``,
    );
  }
  const pool = m.gpu ? platform.gpus.find((g) => g.name === m.gpu?.pool) : undefined;
  const whole = pool ? getGpu(pool.type) : getGpu("L4");
  const gpu = m.gpu?.migProfile ? migSliceGpu(whole, m.gpu.migProfile) : whole;
  const tp = typeof m.gpu?.count === "number" && !m.gpu.migProfile ? m.gpu.count : 1;
  const replicas = m.autoscaling?.enabled ? Math.max(1, m.autoscaling.minReplicas) : Math.max(1, m.replicas);
  return {
    model: cat.id,
    engine: m.engine,
    ...(m.engineVersion ? { engineVersion: m.engineVersion } : {}),
    servedModelName: servedModelName(m),
    replicas,
    config: {
      model: cat,
      gpu,
      tp,
      weightFormat: FORMAT[m.quantization ?? "none"] ?? "none",
      gpuMemoryUtilization: m.gpuMemoryUtilization,
      maxNumSeqs: m.maxNumSeqs,
      maxNumBatchedTokens: m.maxNumBatchedTokens,
      enablePrefixCaching: m.enablePrefixCaching,
      ...(m.maxModelLen ? { maxModelLen: m.maxModelLen } : {}),
    },
  };
}
