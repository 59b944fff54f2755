/**
 * The plan: what `inferplane plan` decides and what the deploy compiler (`inferplane render`)
 * reads — per model the unit each replica runs on (whole GPUs with a tensor-parallel size, a
 * MIG instance, or a time-slicing share), its Kubernetes resource name and node selector, the
 * replica range and vLLM's gpu_memory_utilization; per GPU node its layout and the mig-parted
 * config name; costs; and every infeasibility explained in words with numbers.
 *
 * Plain JSON data (no classes, no Maps) so `--json` prints it as is and golden files stay
 * byte-stable. Byte figures are decimal bytes; durations are seconds.
 */
import type { OwnReplicaMemory } from "../engines/index.js";

/** How one replica uses GPUs. */
export type PlanUnit =
  | {
      kind: "gpu";
      /** Tensor-parallel size: whole GPUs per replica, all on one node. */
      tp: number;
    }
  | {
      kind: "mig";
      /** MIG profile, as the device plugin names it: `1g.10gb`. */
      profile: string;
      /** Compute slices / memory slices of the profile. */
      computeSlices: number;
      memorySlices: number;
    }
  | {
      kind: "time-slice";
      /** Shares (device-plugin replicas) each GPU of the pool is split into. */
      sharesPerGpu: number;
      /** Fraction of the GPU's memory this replica may use (its gpu_memory_utilization). */
      memoryFraction: number;
      /** `time-slicing` or `mps`: how the pool shares the GPU. */
      mode: "time-slicing" | "mps";
    };

/** Memory of one replica on one GPU (per tensor-parallel rank), bytes. */
export interface MemoryFit {
  /** Memory the unit offers: the device total, a MIG instance's usable framebuffer. */
  deviceBytes: number;
  /** gpu_memory_utilization × deviceBytes: what vLLM may use. */
  budgetBytes: number;
  /** Weights per rank. */
  weightBytes: number;
  /** Peak activations per rank (profiled by vLLM at start; estimated here). */
  activationBytes: number;
  /** CUDA context, workspaces and CUDA graphs (vLLM's non-torch memory). */
  overheadBytes: number;
  /** What is left for the KV cache per rank (negative when the weights do not fit). */
  kvBytes: number;
  /** KV bytes per token of the whole model (all layers), in the KV dtype. */
  kvBytesPerToken: number;
  /** KV bytes per token on one rank (KV heads split across ranks, at least one per rank). */
  kvBytesPerTokenPerRank: number;
  /** Tokens the replica's KV pool holds. */
  kvTokens: number;
  /** Context length the plan sizes for (maxModelLen). */
  contextTokens: number;
  /** Sequences of `contextTokens` tokens that fit at once. */
  maxSequencesAtContext: number;
  /**
   * A speculative-decoding draft model on the same ranks: its weights come out of the KV pool
   * (`kvBytes` is what is left after them) and every token's KV holds both models' layers
   * (`kvTokens` counts at target + draft bytes per token).
   */
  draft?: DraftMemory;
}

export interface DraftMemory {
  /** Catalog id of the draft model. */
  model: string;
  /** Draft weights per rank. */
  weightBytes: number;
  kvBytesPerToken: number;
  kvBytesPerTokenPerRank: number;
}

/** Latency a replica count reaches on the simulator's virtual clock. */
export interface LatencyEstimate {
  replicas: number;
  /** Request rate simulated, per second (the whole model, not per replica). */
  requestsPerSecond: number;
  ttftP: number;
  tpotP: number;
  /** The percentile of ttftP / tpotP (the SLO's). */
  percentile: number;
  /** Whether the SLO holds at this replica count. */
  meetsSlo: boolean;
}

/** One unit the planner considered for a model, chosen or not, and why. */
export interface CandidateUnit {
  unit: PlanUnit;
  /** `nvidia.com/gpu`, `nvidia.com/mig-1g.10gb`, `nvidia.com/gpu.shared`. */
  resourceName: string;
  feasible: boolean;
  /** Why not, in words with numbers (empty when feasible). */
  reason: string;
  memory: MemoryFit | null;
  /** Replicas needed at peak load for the SLO (null when infeasible or not simulated). */
  replicasForSlo: number | null;
  /** Latency at `replicasForSlo` (or at the most replicas tried when the SLO is never met). */
  latency: LatencyEstimate | null;
  /** GPU-equivalents per replica (tp, slices ÷ 7, shares' memory fraction), for ranking. */
  gpuShare: number;
  /** USD per month at peak replicas, charging the unit's share of a GPU. */
  monthlyCostShare: number | null;
}

export interface ModelPlan {
  /** `models[].name`. */
  name: string;
  /** Catalog model id (`qwen2.5-7b`), or null when the model is not in the catalog. */
  catalogId: string | null;
  /** Weight format sized (`awq`, `bf16`, …). */
  weightFormat: string;
  /** GPU pool (`gpus[].name`) the replicas run in. */
  pool: string;
  /** Whether the planner chose the unit (`gpu.count: auto` or no migProfile on a MIG pool). */
  chosenBy: "spec" | "planner";
  /** The unit each replica runs on; null when no unit is feasible. */
  unit: PlanUnit | null;
  /** Kubernetes extended resource each replica requests, and how many of it. */
  resourceName: string | null;
  resourceCount: number;
  /** Node labels the replicas' pods select. */
  nodeSelector: Record<string, string>;
  /** vLLM --gpu-memory-utilization for the chosen unit. */
  gpuMemoryUtilization: number;
  /** --tensor-parallel-size. */
  tensorParallelSize: number;
  /** --max-model-len the memory fit was computed for. */
  maxModelLen: number;
  replicas: {
    /** Autoscaled: `autoscaling.minReplicas`; fixed: `placed`. */
    min: number;
    /** Autoscaled: the spec's maxReplicas, raised to `placed` when the SLO needs more; fixed: `placed`. */
    max: number;
    /** Replicas needed at the peak rate for the SLO (null without `load`). */
    forSlo: number | null;
    /** Replicas placed on the inventory: max(floor, forSlo), fewer when the pool runs out. */
    placed: number;
    /**
     * Replicas the pool holds at most, beside the other models' placed replicas (spread over
     * nodes as the Deployment spreads them): the ceiling autoscaling can reach without Pending pods.
     */
    holds: number;
  };
  memory: MemoryFit | null;
  latency: LatencyEstimate | null;
  /** Every unit considered, chosen one included. */
  candidates: CandidateUnit[];
  /** Replicas needed per hour of the daily load profile (24 entries; all `placed` without one). */
  hourlyReplicas: number[];
  /** Adjustments the planner made to the spec, in words. */
  notes: string[];
}

/** One MIG instance on one GPU. */
export interface MigSlicePlacement {
  profile: string;
  /** First memory slice (placement start, `nvidia-smi mig -lgipp`). */
  start: number;
  /** Memory slices occupied. */
  size: number;
  /** Model (`models[].name`) whose replica uses it, or null for a free instance. */
  model: string | null;
  /** Which replica of the model (0-based), or null when free. */
  replica: number | null;
}

export interface TimeSliceShare {
  model: string;
  replica: number;
  memoryFraction: number;
}

/** How one GPU is used. */
export type GpuLayout =
  | { mode: "unused" }
  | {
      mode: "exclusive";
      model: string;
      replica: number;
      /** Rank within the replica's tensor-parallel group. */
      rank: number;
      tp: number;
    }
  | { mode: "mig"; slices: MigSlicePlacement[] }
  | { mode: "time-slicing"; sharesPerGpu: number; shares: TimeSliceShare[] };

export interface GpuPlan {
  /** Device index on the node (nvidia-smi index). */
  index: number;
  layout: GpuLayout;
}

export interface NodePlan {
  /** `<pool>-<k>`: the k-th node of the pool (0-based). */
  name: string;
  pool: string;
  /** Catalog GPU id. */
  gpuType: string;
  gpus: GpuPlan[];
  /**
   * mig-parted config this node selects with the label `nvidia.com/mig.config`, or null when no
   * GPU of the node is MIG-partitioned (the operator's `all-disabled`).
   */
  migConfig: string | null;
  /** Labels the node should carry for this plan (`nvidia.com/mig.config`, …). */
  labels: Record<string, string>;
}

/** A mig-parted config: one entry per group of devices with the same geometry. */
export interface MigPartedConfig {
  name: string;
  devices: { devices: number[]; migEnabled: boolean; migDevices: Record<string, number> }[];
}

export interface PoolPlan {
  name: string;
  gpuType: string;
  gpus: number;
  gpusPerNode: number;
  sharing: "exclusive" | "mig" | "time-slicing" | "mps";
  gpusUsed: number;
  /** USD per GPU-hour (spec, else the catalog midpoint) and the spot discount applied. */
  pricePerGpuHour: number;
  spot: boolean;
  spotDiscount: number;
  /** Whether the packing is proven optimal (exact search) or a heuristic's result. */
  packing: "exact" | "heuristic";
  /** Lower bound on GPUs for this pool's demand (equals gpusUsed when exact). */
  lowerBound: number;
}

export interface CostLine {
  /** What this step of the waterfall is. */
  label: string;
  monthlyUsd: number;
  note: string;
}

export interface PlanCost {
  /** Hours in the month costs are computed for (730 = 8,760 / 12). */
  hoursPerMonth: number;
  /** Every GPU of the inventory on demand, all month. */
  inventoryMonthly: number;
  /** The GPUs the plan uses at peak, on demand, all month. */
  onDemandMonthly: number;
  /** GPUs used hour by hour over the daily profile (replicas scaled down when idle), on demand. */
  scaledMonthly: number;
  /** `scaledMonthly` with each spot pool's discount. */
  spotMonthly: number;
  /** The steps from inventory to the final figure, for the waterfall. */
  waterfall: CostLine[];
  perPool: {
    pool: string;
    gpusUsed: number;
    onDemandMonthly: number;
    scaledMonthly: number;
    spotMonthly: number;
  }[];
  /** Each model's share (GPU-equivalents × price), on demand at peak replicas. */
  perModel: { model: string; monthlyUsd: number }[];
}

export interface Infeasibility {
  /** Model or pool concerned. */
  subject: { kind: "model" | "pool"; name: string };
  /** Stable code: `no-fitting-unit`, `slo-unreachable`, `inventory-exhausted`, … */
  code: string;
  /** The explanation, in words with numbers. */
  message: string;
}

export interface Plan {
  /** Plan format version (bumped on breaking changes). */
  version: 1;
  platform: string;
  /** Environment applied to the spec, or null. */
  env: string | null;
  models: ModelPlan[];
  pools: PoolPlan[];
  nodes: NodePlan[];
  /** mig-parted configs (`config.yaml` of the MIG ConfigMap), one per distinct node geometry. */
  migConfigs: MigPartedConfig[];
  cost: PlanCost;
  infeasible: Infeasibility[];
  /** Whether every model's replicas are placed. */
  feasible: boolean;
  /** Replicas whose engine reckons its own memory (read from files here; absent when none). */
  engineMemory?: EngineMemory[];
}

/** One replica's memory as its engine reckons it (llama.cpp: GGUF file + KV of every slot). */
export interface EngineMemory {
  model: string;
  weightsBytes: number;
  kvBytes: number;
  totalBytes: number;
  slots: number;
  ctxPerSlot: number;
  /** `resources.memory` of the replica, bytes. */
  limitBytes?: number;
}

export interface PlanOptions {
  /** Environment name recorded in the plan (the spec passed in already has it applied). */
  env?: string;
  /** Seed of the simulated workloads (default 1). */
  seed?: number;
  /** Requests simulated per SLO check (default 200). */
  simulatedRequests?: number;
  /** Largest pool packed by exact search (default 16 GPUs); larger pools use the heuristic. */
  exactLimit?: number;
  /** Search nodes the exact packer may visit before settling for its best (default 200,000). */
  exactBudget?: number;
  /**
   * Per model, the replica memory its engine reckons from files on this machine
   * (`engineReplicaMemory`; the caller reads them, the planner stays pure).
   */
  ownMemory?: Readonly<Record<string, OwnReplicaMemory>>;
}
