/**
 * The units a model can run on in a pool (whole GPUs at each tensor-parallel size, MIG
 * profiles, a time-slicing share) and each one sized by the memory model: fits, or why not.
 */
import type { GpuSpec } from "../catalog/gpus.js";
import { kvCacheDtypeBytes, type WeightFormat } from "../catalog/kv.js";
import { type ModelSpec as CatalogModel, findModelByRepo } from "../catalog/models.js";
import type { GpuPool, ModelSpec } from "../spec/schema.js";
import { explainFit, fitMemory, migInstanceGpu, smallestUtilization } from "./memory.js";
import { type PoolInfo, TIME_SLICE_MEMORY_CAP } from "./pools.js";
import { speculativeDraft } from "./speculative.js";
import type { PlanUnit } from "./types.js";

const TP_SIZES = [1, 2, 4, 8, 16];

export function weightFormatOf(m: ModelSpec, cat: CatalogModel | undefined): WeightFormat {
  let format: WeightFormat = m.quantization ?? "none";
  if (m.quantization === undefined && m.source.startsWith("hf://")) {
    format = findModelByRepo(m.source)?.variant.quantization ?? "none";
  }
  if (format !== "none") return format;
  if (m.dtype === "bfloat16") return "bf16";
  if (m.dtype === "float16") return "fp16";
  // vLLM `--dtype auto` loads FP32 checkpoints in FP16 ("auto: FP16 for FP32 and FP16 models,
  // BF16 for BF16 models", vLLM engine arguments docs).
  return cat?.nativeDtype === "fp32" ? "fp16" : "none";
}

export function kvDtypeOf(m: ModelSpec): number {
  const i = m.extraArgs.findIndex((a) => a === "--kv-cache-dtype" || a.startsWith("--kv-cache-dtype="));
  if (i < 0) return 2;
  const arg = m.extraArgs[i] as string;
  const value = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : (m.extraArgs[i + 1] ?? "auto");
  return kvCacheDtypeBytes(value);
}

export function resourceName(unit: PlanUnit, pool: GpuPool): string {
  if (unit.kind === "mig" && pool.sharing.mig?.strategy !== "single") return `nvidia.com/mig-${unit.profile}`;
  return "nvidia.com/gpu";
}

export function unitLabel(unit: PlanUnit, gpu: GpuSpec): string {
  if (unit.kind === "gpu")
    return unit.tp === 1 ? `1 × ${gpu.id}` : `${unit.tp} × ${gpu.id} with TP ${unit.tp}`;
  if (unit.kind === "mig") return `a MIG ${unit.profile} instance of ${gpu.id}`;
  return `a 1/${unit.sharesPerGpu} time-slice of ${gpu.id}`;
}

/** GPU-equivalents one replica occupies, for ranking and per-model cost. */
export function gpuShareOf(unit: PlanUnit, gpu: GpuSpec): number {
  if (unit.kind === "gpu") return unit.tp;
  if (unit.kind === "mig") {
    const s = gpu.migSlices;
    return s ? Math.max(unit.computeSlices / s.compute, unit.memorySlices / s.memory) : 1;
  }
  return Math.max(unit.memoryFraction, 1 / unit.sharesPerGpu);
}

export function candidateUnits(
  m: ModelSpec,
  info: PoolInfo,
): { units: PlanUnit[]; chosenBy: "spec" | "planner"; note?: string } {
  const { pool, gpu, perNode } = info;
  const req = m.gpu;
  const mode = pool.sharing.mode;
  const tps = (count: number | "auto") => (count === "auto" ? TP_SIZES.filter((t) => t <= perNode) : [count]);
  if (mode === "time-slicing" || mode === "mps") {
    const shares = pool.sharing.replicas ?? 1;
    const unit: PlanUnit = { kind: "time-slice", sharesPerGpu: shares, memoryFraction: 0, mode };
    if (req?.count !== undefined && req.count !== "auto" && req.count > 1) {
      return {
        units: [],
        chosenBy: "spec",
        note: `gpu.count ${req.count}: pool ${pool.name} is time-sliced, and a replica asking for ${req.count} shares may get them on one GPU, so tensor parallelism is not planned there`,
      };
    }
    return { units: [unit], chosenBy: req?.count === "auto" ? "planner" : "spec" };
  }
  const profiles = mode === "mig" ? gpu.migProfiles : [];
  const migUnit = (name: string): PlanUnit[] => {
    const p = profiles.find((x) => x.name === name);
    return p
      ? [{ kind: "mig", profile: p.name, computeSlices: p.computeSlices, memorySlices: p.memorySlices }]
      : [];
  };
  if (req?.migProfile !== undefined)
    return { units: migUnit(req.migProfile.replace(/^.*mig-/, "")), chosenBy: "spec" };
  const count = req?.count ?? 1;
  const whole: PlanUnit[] = tps(count).map((tp) => ({ kind: "gpu", tp }));
  if (count === "auto") {
    const mig = profiles.flatMap((p) => migUnit(p.name));
    return { units: [...mig, ...whole], chosenBy: "planner" };
  }
  return { units: whole, chosenBy: "spec" };
}

/** A unit sized by the memory model: the GPU (or MIG instance) it runs on, its memory share, the fit, and why not. */
export interface Explained {
  gpu: GpuSpec;
  util: number;
  fit: ReturnType<typeof fitMemory> | null;
  reason: string;
  unit: PlanUnit;
}

type FitSettings = Omit<Parameters<typeof fitMemory>[2], "tp" | "gpuMemoryUtilization">;

export function explainCandidate(
  cat: CatalogModel,
  unit: PlanUnit,
  info: PoolInfo,
  m: ModelSpec,
  s: {
    format: WeightFormat;
    kvDtype: number;
    maxModelLen: number;
  },
): Explained {
  const settings: FitSettings = {
    weightFormat: s.format,
    kvDtypeBytes: s.kvDtype,
    maxNumBatchedTokens: m.maxNumBatchedTokens,
    maxNumSeqs: m.maxNumSeqs,
    contextTokens: s.maxModelLen,
    ...speculativeDraft(m),
  };
  if (unit.kind === "gpu") return explainWhole(cat, unit, info, m, settings);
  if (unit.kind === "mig") return explainMig(cat, unit, info, m, settings);
  return explainShare(cat, unit, info, settings, s.maxModelLen);
}

function explainWhole(
  cat: CatalogModel,
  unit: Extract<PlanUnit, { kind: "gpu" }>,
  info: PoolInfo,
  m: ModelSpec,
  settings: FitSettings,
): Explained {
  const label = unitLabel(unit, info.gpu);
  const refused = (reason: string): Explained => ({
    gpu: info.gpu,
    util: m.gpuMemoryUtilization,
    fit: null,
    unit,
    reason,
  });
  if (unit.tp > info.perNode)
    return refused(
      `${label}: pool ${info.pool.name} has ${info.perNode} GPUs per node and tensor parallelism stays within a node`,
    );
  if (cat.attentionHeads % unit.tp !== 0)
    return refused(
      `${label}: vLLM needs the ${cat.attentionHeads} attention heads to divide evenly by TP ${unit.tp}`,
    );
  const fit = fitMemory(cat, info.gpu, {
    ...settings,
    tp: unit.tp,
    gpuMemoryUtilization: m.gpuMemoryUtilization,
  });
  return {
    gpu: info.gpu,
    util: m.gpuMemoryUtilization,
    fit,
    unit,
    reason: explainFit(fit, label, unit.tp, m.gpuMemoryUtilization) ?? "",
  };
}

function explainMig(
  cat: CatalogModel,
  unit: Extract<PlanUnit, { kind: "mig" }>,
  info: PoolInfo,
  m: ModelSpec,
  settings: FitSettings,
): Explained {
  const profile = info.gpu.migProfiles.find((p) => p.name === unit.profile);
  if (!profile)
    return {
      gpu: info.gpu,
      util: 0,
      fit: null,
      unit,
      reason: `${info.gpu.id} has no MIG profile ${unit.profile}`,
    };
  const gpu = migInstanceGpu(info.gpu, profile);
  const fit = fitMemory(cat, gpu, { ...settings, tp: 1, gpuMemoryUtilization: m.gpuMemoryUtilization });
  const label = `${unitLabel(unit, info.gpu)} (${profile.memoryMiB.toLocaleString("en-US")} MiB usable)`;
  const reason = explainFit(fit, label, 1, m.gpuMemoryUtilization);
  return { gpu, util: m.gpuMemoryUtilization, fit, unit, reason: reason ?? "" };
}

/**
 * Time slicing: the smallest memory fraction that holds one context; the GPU's speed is divided
 * among the shares busy at once (see engineFor in model-plan.ts).
 */
function explainShare(
  cat: CatalogModel,
  unit: Extract<PlanUnit, { kind: "time-slice" }>,
  info: PoolInfo,
  settings: FitSettings,
  maxModelLen: number,
): Explained {
  const gpu = info.gpu;
  const label = unitLabel(unit, gpu);
  const util = smallestUtilization(cat, gpu, { ...settings, tp: 1 }, maxModelLen, TIME_SLICE_MEMORY_CAP);
  if (util === null) {
    const fit = fitMemory(cat, gpu, { ...settings, tp: 1, gpuMemoryUtilization: TIME_SLICE_MEMORY_CAP });
    const reason = explainFit(
      fit,
      `${label} (at most ${TIME_SLICE_MEMORY_CAP} of its memory)`,
      1,
      TIME_SLICE_MEMORY_CAP,
    );
    return { gpu, util: TIME_SLICE_MEMORY_CAP, fit, unit, reason: reason ?? `${label}: does not fit` };
  }
  const fit = fitMemory(cat, gpu, { ...settings, tp: 1, gpuMemoryUtilization: util });
  return { gpu, util, fit, unit: { ...unit, memoryFraction: util }, reason: "" };
}
