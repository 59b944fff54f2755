/**
 * The planner's pipeline: per model, the candidate units of its pool (whole GPUs at each
 * tensor-parallel size, each MIG profile, a time-slicing share), each sized by the memory model
 * and given the replicas its SLO needs on the simulator; the cheapest feasible unit wins. Then
 * every pool is packed (exact search up to `exactLimit` GPUs), hour by hour over the daily load
 * profile for the scaled cost, and the result is laid out per node with its mig-parted config.
 */
import { type GpuSpec, getGpu, priceMidpoint } from "../catalog/gpus.js";
import { kvCacheDtypeBytes, type WeightFormat, weightBytes } from "../catalog/kv.js";
import { type ModelSpec as CatalogModel, findModelByRepo } from "../catalog/models.js";
import { catalogModelOf, minimumReplicas } from "../spec/checks.js";
import type { GpuPool, ModelSpec, Platform } from "../spec/schema.js";
import {
  binomialQuantile,
  type EngineShape,
  LatencyOracle,
  type LoadShape,
  type Objectives,
} from "./latency.js";
import { explainFit, fitMemory, gb, migInstanceGpu, smallestUtilization, timeSliceGpu } from "./memory.js";
import { type PackItem, type PackPool, type PackResult, packPool } from "./packing.js";
import { speculativeDraft } from "./speculative.js";
import type {
  CandidateUnit,
  GpuLayout,
  GpuPlan,
  Infeasibility,
  MigPartedConfig,
  ModelPlan,
  NodePlan,
  Plan,
  PlanCost,
  PlanOptions,
  PlanUnit,
  PoolPlan,
} from "./types.js";

/** Hours in an average month: 8,760 / 12. */
export const HOURS_PER_MONTH = 730;
/**
 * Spot discount when a spot pool gives none: AWS and GCP spot GPU prices typically sit 60–70%
 * below on demand (AWS "Spot Instance advisor" savings column; GCP "Spot VMs pricing"), the
 * guide assumes 70%.
 */
export const DEFAULT_SPOT_DISCOUNT = 0.6;
/** Time-sliced replicas together may set at most this much gpu_memory_utilization per GPU: the
 * driver, and each process's CUDA context, take memory outside vLLM's budget. */
export const TIME_SLICE_MEMORY_CAP = 0.95;
const TP_SIZES = [1, 2, 4, 8, 16];

interface PoolInfo {
  pool: GpuPool;
  gpu: GpuSpec;
  perNode: number;
  price: number;
  spotDiscount: number;
  fixed: (string[] | null)[];
}

interface Chosen {
  plan: ModelPlan;
  pool: PoolInfo;
  /** Packing item per replica. */
  item: (key: string) => PackItem;
}

/**
 * GPU Feature Discovery's product label for a pool's nodes. Time slicing and MPS (with
 * `renameByDefault: false`) append `-SHARED`; MIG strategy `single` appends `-MIG-<profile>`,
 * which is not knowable per pool, so single-strategy pools need their own `nodeSelector`
 * (NVIDIA k8s-device-plugin README, "Deploying with gpu-feature-discovery").
 */
function productSelector(info: PoolInfo): Record<string, string> {
  const mode = info.pool.sharing.mode;
  const shared = mode === "time-slicing" || mode === "mps";
  return { "nvidia.com/gpu.product": `${info.gpu.nvidiaProductName}${shared ? "-SHARED" : ""}` };
}

function poolInfo(pool: GpuPool): PoolInfo {
  const gpu = getGpu(pool.type);
  const fixed: (string[] | null)[] = Array.from({ length: pool.count }, () => null);
  if (pool.sharing.mode === "mig") {
    let k = 0;
    for (const layout of pool.sharing.mig?.layouts ?? []) {
      for (let j = 0; j < layout.gpus && k < pool.count; j++) fixed[k++] = [...layout.profiles];
    }
  }
  return {
    pool,
    gpu,
    perNode: pool.gpusPerNode ?? Math.min(pool.count, 8),
    price: pool.pricePerGpuHour ?? priceMidpoint(gpu),
    spotDiscount: pool.spot ? (pool.spotDiscount ?? DEFAULT_SPOT_DISCOUNT) : 0,
    fixed,
  };
}

function weightFormatOf(m: ModelSpec, cat: CatalogModel | undefined): WeightFormat {
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

function kvDtypeOf(m: ModelSpec): number {
  const i = m.extraArgs.findIndex((a) => a === "--kv-cache-dtype" || a.startsWith("--kv-cache-dtype="));
  if (i < 0) return 2;
  const arg = m.extraArgs[i] as string;
  const value = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : (m.extraArgs[i + 1] ?? "auto");
  return kvCacheDtypeBytes(value);
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const fmtS = (s: number) => (s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`);

function resourceName(unit: PlanUnit, pool: GpuPool): string {
  if (unit.kind === "mig" && pool.sharing.mig?.strategy !== "single") return `nvidia.com/mig-${unit.profile}`;
  return "nvidia.com/gpu";
}

function unitLabel(unit: PlanUnit, gpu: GpuSpec): string {
  if (unit.kind === "gpu")
    return unit.tp === 1 ? `1 × ${gpu.id}` : `${unit.tp} × ${gpu.id} with TP ${unit.tp}`;
  if (unit.kind === "mig") return `a MIG ${unit.profile} instance of ${gpu.id}`;
  return `a 1/${unit.sharesPerGpu} time-slice of ${gpu.id}`;
}

/** GPU-equivalents one replica occupies, for ranking and per-model cost. */
function gpuShareOf(unit: PlanUnit, gpu: GpuSpec): number {
  if (unit.kind === "gpu") return unit.tp;
  if (unit.kind === "mig") {
    const s = gpu.migSlices;
    return s ? Math.max(unit.computeSlices / s.compute, unit.memorySlices / s.memory) : 1;
  }
  return Math.max(unit.memoryFraction, 1 / unit.sharesPerGpu);
}

function candidateUnits(
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

function explainCandidate(
  cat: CatalogModel,
  unit: PlanUnit,
  info: PoolInfo,
  m: ModelSpec,
  s: {
    format: WeightFormat;
    kvDtype: number;
    maxModelLen: number;
  },
): { gpu: GpuSpec; util: number; fit: ReturnType<typeof fitMemory> | null; reason: string; unit: PlanUnit } {
  const settings = {
    weightFormat: s.format,
    kvDtypeBytes: s.kvDtype,
    maxNumBatchedTokens: m.maxNumBatchedTokens,
    maxNumSeqs: m.maxNumSeqs,
    contextTokens: s.maxModelLen,
    ...speculativeDraft(m),
  };
  const label = unitLabel(unit, info.gpu);
  if (unit.kind === "gpu") {
    if (unit.tp > info.perNode) {
      return {
        gpu: info.gpu,
        util: m.gpuMemoryUtilization,
        fit: null,
        unit,
        reason: `${label}: pool ${info.pool.name} has ${info.perNode} GPUs per node and tensor parallelism stays within a node`,
      };
    }
    if (cat.attentionHeads % unit.tp !== 0) {
      return {
        gpu: info.gpu,
        util: m.gpuMemoryUtilization,
        fit: null,
        unit,
        reason: `${label}: vLLM needs the ${cat.attentionHeads} attention heads to divide evenly by TP ${unit.tp}`,
      };
    }
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
  if (unit.kind === "mig") {
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
    const reason = explainFit(
      fit,
      `${label} (${profile.memoryMiB.toLocaleString("en-US")} MiB usable)`,
      1,
      m.gpuMemoryUtilization,
    );
    return { gpu, util: m.gpuMemoryUtilization, fit, unit, reason: reason ?? "" };
  }
  // Time slicing: the smallest memory fraction that holds one context; the GPU's speed is
  // divided among the shares busy at once (see engineFor).
  const gpu = info.gpu;
  const util = smallestUtilization(
    cat,
    info.gpu,
    { ...settings, tp: 1 },
    s.maxModelLen,
    TIME_SLICE_MEMORY_CAP,
  );
  if (util === null) {
    const fit = fitMemory(cat, info.gpu, { ...settings, tp: 1, gpuMemoryUtilization: TIME_SLICE_MEMORY_CAP });
    return {
      gpu,
      util: TIME_SLICE_MEMORY_CAP,
      fit,
      unit,
      reason:
        explainFit(
          fit,
          `${label} (at most ${TIME_SLICE_MEMORY_CAP} of its memory)`,
          1,
          TIME_SLICE_MEMORY_CAP,
        ) ?? `${label}: does not fit`,
    };
  }
  const fit = fitMemory(cat, info.gpu, { ...settings, tp: 1, gpuMemoryUtilization: util });
  return { gpu, util, fit, unit: { ...unit, memoryFraction: util }, reason: "" };
}

function objectivesOf(spec: Platform, m: ModelSpec): Objectives {
  const slo = m.slo;
  const o: Objectives = { percentile: slo?.percentile ?? 99 };
  if (slo?.ttft !== undefined) o.ttft = slo.ttft / 1000;
  if (slo?.tpot !== undefined) o.tpot = slo.tpot / 1000;
  // No objective at all: keep the p99 TTFT under the alert threshold the spec already sets.
  if (o.ttft === undefined && o.tpot === undefined) o.ttft = spec.observability.alerts.ttftP99 / 1000;
  return o;
}

function planModel(
  spec: Platform,
  m: ModelSpec,
  info: PoolInfo,
  oracle: LatencyOracle,
  infeasible: Infeasibility[],
): Chosen | null {
  const cat = catalogModelOf(m);
  const format = weightFormatOf(m, cat);
  const base: ModelPlan = {
    name: m.name,
    catalogId: cat?.id ?? null,
    weightFormat: cat ? (format === "none" ? cat.nativeDtype : format) : format,
    pool: info.pool.name,
    chosenBy: "spec",
    unit: null,
    resourceName: null,
    resourceCount: 0,
    nodeSelector: {},
    gpuMemoryUtilization: m.gpuMemoryUtilization,
    tensorParallelSize: 1,
    maxModelLen: m.maxModelLen ?? cat?.maxContext ?? 0,
    replicas: {
      min: minimumReplicas(m),
      max: m.autoscaling?.enabled ? m.autoscaling.maxReplicas : m.replicas,
      forSlo: null,
      placed: 0,
      holds: 0,
    },
    memory: null,
    latency: null,
    candidates: [],
    hourlyReplicas: [],
    notes: [],
  };
  const subject = { kind: "model" as const, name: m.name };
  if (!cat) {
    infeasible.push({
      subject,
      code: "unknown-model",
      message: `${m.name} (${m.source}) is not in the catalog, so its memory cannot be sized; set \`catalog\` to a catalog model id`,
    });
    return { plan: base, pool: info, item: () => ({ kind: "gpu", key: "", tp: 1 }) };
  }
  const kvDtype = kvDtypeOf(m);
  const maxModelLen = base.maxModelLen;
  const { units, chosenBy, note } = candidateUnits(m, info);
  base.chosenBy = chosenBy;
  const o = objectivesOf(spec, m);
  const load: LoadShape | null = m.load
    ? {
        inputTokens: m.load.inputTokens,
        outputTokens: m.load.outputTokens,
        sharedPrefixTokens: m.load.sharedPrefixTokens,
      }
    : null;
  const rate = m.load?.requestsPerSecond ?? 0;
  const autoscaled = m.autoscaling?.enabled === true;
  const floor = minimumReplicas(m);

  const engineOf = (c: ReturnType<typeof explainCandidate>): EngineShape => ({
    model: cat,
    gpu: c.gpu,
    tp: c.unit.kind === "gpu" ? c.unit.tp : 1,
    weightFormat: format,
    kvDtypeBytes: kvDtype,
    gpuMemoryUtilization: c.util,
    maxNumSeqs: m.maxNumSeqs,
    maxNumBatchedTokens: m.maxNumBatchedTokens,
    maxModelLen,
    kvTokens: c.fit?.kvTokens ?? 0,
    enablePrefixCaching: m.enablePrefixCaching,
  });

  /**
   * Time-sliced replicas share the GPU's time: a replica is slowed by 1 + the co-located replicas
   * busy at the same moment — the 99th percentile of Binomial(k − 1, u), with k replicas per GPU
   * and u = each one's busy fraction (its per-replica rate × mean end-to-end latency when alone).
   */
  const engineFor = (u: PlanUnit, engine: EngineShape, l: LoadShape) => {
    if (u.kind !== "time-slice") return engine;
    const k = Math.max(
      1,
      Math.min(u.sharesPerGpu, Math.floor(TIME_SLICE_MEMORY_CAP / Math.max(0.01, u.memoryFraction))),
    );
    return (r: number): EngineShape => {
      if (r <= 0 || k <= 1) return engine;
      const alone = oracle.replica(engine, l, 0, o.percentile);
      const busy = binomialQuantile(k - 1, Math.min(1, r * alone.meanE2e), 0.99);
      return busy === 0 ? engine : { ...engine, gpu: timeSliceGpu(info.gpu, 1 + busy) };
    };
  };
  type Considered = CandidateUnit & { engine: EngineShape | null; placed: number };
  const considered: Considered[] = units.map((u) => {
    const c = explainCandidate(cat, u, info, m, { format, kvDtype, maxModelLen });
    return {
      unit: c.unit,
      resourceName: resourceName(c.unit, info.pool),
      feasible: c.reason === "",
      reason: c.reason,
      memory: c.fit,
      replicasForSlo: null,
      latency: null,
      gpuShare: round(gpuShareOf(c.unit, info.gpu), 4),
      monthlyCostShare: null,
      engine: c.reason === "" ? engineOf(c) : null,
      placed: 0,
    };
  });
  // Cheapest first. The first unit that meets the SLO at the minimum replica count bounds the
  // rest: a unit is simulated only at replica counts that could still cost less.
  const minimum = Math.max(1, autoscaled ? floor : m.replicas);
  const ranked = [...considered].sort((a, b) => a.gpuShare - b.gpuShare);
  let bestCost = Number.POSITIVE_INFINITY;
  if (load) {
    for (const cand of ranked) {
      if (!cand.feasible || cand.engine === null) continue;
      if (oracle.meetsAt(engineFor(cand.unit, cand.engine, load), load, rate, o, minimum)) {
        bestCost = cand.gpuShare * minimum;
        break;
      }
    }
  }
  for (const cand of ranked) {
    if (!cand.feasible || cand.engine === null) continue;
    if (cand.gpuShare * minimum > bestCost) {
      cand.feasible = false;
      cand.reason = `not simulated: at ${minimum} replica${minimum > 1 ? "s" : ""} it costs more than the chosen unit`;
      continue;
    }
    let forSlo: number | null = null;
    if (load) {
      const limit = Number.isFinite(bestCost) ? Math.floor(bestCost / cand.gpuShare + 1e-9) : 256;
      const r = oracle.replicasFor(engineFor(cand.unit, cand.engine, load), load, rate, o, limit);
      if (r.replicas === null && r.at > 0 && limit < 256) {
        cand.feasible = false;
        cand.reason = `not chosen: above ${limit} replica${limit > 1 ? "s" : ""} it costs more than the chosen unit, and ${limit} miss the SLO`;
        continue;
      }
      cand.latency = {
        replicas: r.replicas ?? r.at,
        requestsPerSecond: rate,
        ttftP: round(r.latency.ttft, 4),
        tpotP: round(r.latency.tpot, 5),
        percentile: o.percentile,
        meetsSlo: r.replicas !== null,
      };
      if (r.replicas === null) {
        cand.feasible = false;
        const objective = [
          o.ttft !== undefined ? `TTFT p${o.percentile} ≤ ${fmtS(o.ttft)}` : "",
          o.tpot !== undefined ? `TPOT p${o.percentile} ≤ ${fmtS(o.tpot)}` : "",
        ]
          .filter(Boolean)
          .join(" and ");
        const label = unitLabel(cand.unit, info.gpu);
        cand.reason =
          r.at === 0
            ? `${label}: even one request at a time sees TTFT p${o.percentile} ${fmtS(r.latency.ttft)} and TPOT p${o.percentile} ${fmtS(r.latency.tpot)}, missing ${objective}`
            : `${label}: ${r.at} replicas still see TTFT p${o.percentile} ${fmtS(r.latency.ttft)} and TPOT p${o.percentile} ${fmtS(r.latency.tpot)} at ${rate} req/s, missing ${objective}`;
        continue;
      }
      forSlo = r.replicas;
      cand.replicasForSlo = forSlo;
    }
    cand.placed = autoscaled ? Math.max(floor, forSlo ?? m.replicas) : Math.max(m.replicas, forSlo ?? 0);
    cand.monthlyCostShare = round(cand.gpuShare * cand.placed * info.price * HOURS_PER_MONTH);
    bestCost = Math.min(bestCost, cand.gpuShare * Math.max(1, cand.placed));
  }
  base.candidates = considered.map(({ engine: _e, placed: _p, ...c }) => c);
  if (note) base.notes.push(note);

  const feasible = considered.filter((c) => c.feasible);
  feasible.sort(
    (a, b) =>
      a.gpuShare * Math.max(1, a.placed) - b.gpuShare * Math.max(1, b.placed) ||
      (a.unit.kind === "gpu" ? a.unit.tp : 0) - (b.unit.kind === "gpu" ? b.unit.tp : 0),
  );
  const best = feasible[0];
  if (!best) {
    const weights = weightBytes(cat, format);
    const reasons = considered.map((c) => c.reason).filter(Boolean);
    if (note) reasons.push(note);
    // Some unit holds the model but none meets the SLO: the objective, not memory, is the problem.
    const sloOnly = considered.some((c) => c.latency !== null);
    infeasible.push({
      subject,
      code: sloOnly ? "slo-unreachable" : "no-fitting-unit",
      message:
        `${m.name} (${cat.displayName} in ${base.weightFormat}) needs ${gb(weights)} of weights and ` +
        `${(considered[0]?.memory?.kvBytesPerToken ?? 0).toLocaleString("en-US")} B of KV cache per token at a ${maxModelLen.toLocaleString("en-US")}-token context; ` +
        `no unit of pool ${info.pool.name} (${info.pool.count} × ${info.gpu.id}, sharing ${info.pool.sharing.mode}) serves it: ` +
        (reasons.length ? reasons.join("; ") : "the pool offers no unit for this request"),
    });
    return { plan: base, pool: info, item: () => ({ kind: "gpu", key: "", tp: 1 }) };
  }

  const unit = best.unit;
  const engine = best.engine as EngineShape;
  const forSlo = best.replicasForSlo;
  const placed = best.placed;
  const plan: ModelPlan = {
    ...base,
    unit,
    resourceName: best.resourceName,
    resourceCount: unit.kind === "gpu" ? unit.tp : 1,
    nodeSelector:
      Object.keys(info.pool.nodeSelector).length > 0 ? { ...info.pool.nodeSelector } : productSelector(info),
    gpuMemoryUtilization: unit.kind === "time-slice" ? unit.memoryFraction : m.gpuMemoryUtilization,
    tensorParallelSize: unit.kind === "gpu" ? unit.tp : 1,
    replicas: {
      min: autoscaled ? floor : placed,
      max: autoscaled ? Math.max(m.autoscaling?.maxReplicas ?? placed, placed) : placed,
      forSlo,
      placed,
      holds: placed,
    },
    memory: best.memory,
    latency: best.latency,
  };
  if (forSlo !== null && !autoscaled && forSlo > m.replicas) {
    plan.notes.push(
      `the spec fixes ${m.replicas} replicas; the SLO needs ${forSlo}, so the plan places ${forSlo}`,
    );
  }
  if (forSlo !== null && autoscaled && m.autoscaling && forSlo > m.autoscaling.maxReplicas) {
    plan.notes.push(
      `autoscaling.maxReplicas is ${m.autoscaling.maxReplicas} but the SLO needs ${forSlo} at peak; the plan raises the ceiling to ${forSlo}`,
    );
  }
  // Replicas hour by hour: the floor, or what the hour's load needs.
  const profile = m.load?.dailyProfile;
  plan.hourlyReplicas = Array.from({ length: 24 }, (_, h) => {
    if (!autoscaled || !profile || !load) return placed;
    const r = oracle.replicasFor(engineFor(unit, engine, load), load, rate * (profile[h] ?? 1), o);
    return Math.min(placed, Math.max(floor, r.replicas ?? placed));
  });
  const item = (key: string): PackItem =>
    unit.kind === "gpu"
      ? { kind: "gpu", key, tp: unit.tp }
      : unit.kind === "mig"
        ? { kind: "mig", key, profile: unit.profile }
        : { kind: "share", key, units: Math.round(unit.memoryFraction * 100) };
  return { plan, pool: info, item };
}

function packPoolOf(
  info: PoolInfo,
  options: PlanOptions,
): { pool: PackPool; budget: number; exactLimit: number } {
  const mode = info.pool.sharing.mode;
  const pool: PackPool = {
    gpuType: info.gpu.id,
    gpus: info.pool.count,
    gpusPerNode: info.perNode,
    fixed: info.fixed,
    ...(mode === "time-slicing" || mode === "mps"
      ? {
          sharesPerGpu: info.pool.sharing.replicas ?? 1,
          shareCapacity: Math.round(TIME_SLICE_MEMORY_CAP * 100),
        }
      : {}),
  };
  const exactLimit = options.exactLimit ?? 16;
  return { pool, budget: options.exactBudget ?? 200_000, exactLimit };
}

/** How many of `all` a pack result holds (all of them when feasible, else the prefix it placed). */
function packedCount(packed: PackResult, all: readonly PackItem[]): number {
  if (packed.feasible) {
    const keys = new Set(packed.gpus.flatMap((g) => g.items.map((x) => x.key)));
    return all.filter((x) => keys.has(x.key)).length;
  }
  return 0;
}

/** Items of a pool, each model's first replica before anyone's second (the order capacity is shared in). */
function itemsFor(chosen: readonly Chosen[], counts: (c: Chosen) => number): PackItem[] {
  const most = Math.max(0, ...chosen.map(counts));
  const out: PackItem[] = [];
  for (let r = 0; r < most; r++) {
    for (const c of chosen) if (c.plan.unit && r < counts(c)) out.push(c.item(`${c.plan.name}#${r}`));
  }
  return out;
}

function runPacker(info: PoolInfo, items: readonly PackItem[], options: PlanOptions): PackResult {
  const { pool, budget, exactLimit } = packPoolOf(info, options);
  // Above the exact limit: first-fit decreasing with a little backtracking.
  const b = info.pool.count <= exactLimit ? budget : 20 * (items.length + 1);
  return packPool(pool, items, { budget: b });
}

export function buildPlan(spec: Platform, options: PlanOptions): Plan {
  const oracle = new LatencyOracle(options.seed ?? 1, options.simulatedRequests ?? 100);
  const infeasible: Infeasibility[] = [];
  const pools = new Map(spec.gpus.map((p) => [p.name, poolInfo(p)]));
  const chosen: Chosen[] = [];
  for (const m of spec.models) {
    if (!m.gpu || m.engine === "openai") continue;
    const info = pools.get(m.gpu.pool);
    if (!info) continue; // the spec's checks already reject an unknown pool
    const c = planModel(spec, m, info, oracle, infeasible);
    if (c) chosen.push(c);
  }

  const poolPlans: PoolPlan[] = [];
  const nodes: NodePlan[] = [];
  const migConfigs: MigPartedConfig[] = [];
  const perPoolCost: PlanCost["perPool"] = [];
  for (const info of pools.values()) {
    const mine = chosen.filter((c) => c.pool === info && c.plan.unit !== null);
    const all = itemsFor(mine, (c) => c.plan.replicas.placed);
    let packed = runPacker(info, all, options);
    if (!packed.feasible && all.length > 0) {
      // Place as many replicas as fit (in priority order), and say what the rest need.
      let lo = 0;
      let hi = all.length - 1;
      let bestFit: PackResult | null = null;
      while (lo <= hi) {
        const mid = Math.floor((lo + hi) / 2);
        // Probes use the quick search; the prefix kept is packed again below with the full one.
        const r = runPacker(info, all.slice(0, mid + 1), { ...options, exactBudget: 20 * (mid + 2) });
        if (r.feasible) {
          bestFit = r;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      const placedCount = lo;
      const rest = all.slice(placedCount);
      const unbounded = packPool(
        { ...packPoolOf(info, options).pool, gpus: rest.length * 16, gpusPerNode: info.perNode, fixed: [] },
        rest,
        { budget: 20 * (rest.length + 1) },
      );
      const byModel = new Map<string, number>();
      for (const x of rest) {
        const model = x.key.slice(0, x.key.lastIndexOf("#"));
        byModel.set(model, (byModel.get(model) ?? 0) + 1);
      }
      infeasible.push({
        subject: { kind: "pool", name: info.pool.name },
        code: "inventory-exhausted",
        message:
          `pool ${info.pool.name} (${info.pool.count} × ${info.gpu.id}) holds ${placedCount} of the ${all.length} replicas planned (${packed.reason}); ` +
          `the other ${rest.length} (${[...byModel]
            .map(([k, v]) => `${k} ×${v}`)
            .slice(0, 8)
            .join(", ")}${byModel.size > 8 ? `, … ${byModel.size - 8} more models` : ""}) ` +
          `need ${unbounded.feasible ? unbounded.used : "more"} more ${info.gpu.id} GPUs laid out the same way`,
      });
      for (const c of mine) {
        const placedHere = all
          .slice(0, placedCount)
          .filter((x) => x.key.startsWith(`${c.plan.name}#`)).length;
        if (placedHere < c.plan.replicas.placed) {
          c.plan.notes.push(
            `only ${placedHere} of ${c.plan.replicas.placed} replicas fit pool ${info.pool.name}`,
          );
          c.plan.replicas.placed = placedHere;
          c.plan.hourlyReplicas = c.plan.hourlyReplicas.map((h) => Math.min(h, placedHere));
        }
      }
      const exact = bestFit ? runPacker(info, all.slice(0, placedCount), options) : null;
      packed = exact?.feasible ? exact : (bestFit ?? runPacker(info, [], options));
    }

    // How far each model can really scale: its replicas the pool holds beside everyone
    // else's placed ones. A ceiling above it would leave pods Pending; say so.
    for (const c of mine) {
      const r = c.plan.replicas;
      let holds = r.placed;
      while (holds < r.max) {
        const extra = Array.from({ length: holds + 1 - r.placed }, (_, k) =>
          c.item(`${c.plan.name}#${r.placed + k}`),
        );
        const probe = runPacker(info, [...all.slice(0, packedCount(packed, all)), ...extra], {
          ...options,
          exactBudget: 20 * (all.length + extra.length + 1),
        });
        if (!probe.feasible) break;
        holds++;
      }
      r.holds = holds;
      if (holds < r.max) {
        c.plan.notes.push(
          `pool ${info.pool.name} holds ${holds} of the ${r.max} replicas maxReplicas allows (beside the other models' placed replicas); render caps the autoscaler at ${holds}`,
        );
      }
    }

    // Hour by hour: pack each distinct demand (the scaled cost).
    const hourly: number[] = [];
    const memo = new Map<string, number>();
    for (let h = 0; h < 24; h++) {
      const items = itemsFor(mine, (c) => c.plan.hourlyReplicas[h] ?? c.plan.replicas.placed);
      const key = items.map((x) => x.key).join(",");
      let used = memo.get(key);
      if (used === undefined) {
        const r = items.length === all.length ? packed : runPacker(info, items, options);
        used = r.feasible ? r.used : packed.used;
        memo.set(key, used);
      }
      hourly.push(used);
    }

    const layoutNodes = layoutPool(info, packed);
    nodes.push(...layoutNodes.nodes);
    migConfigs.push(...layoutNodes.configs);
    const monthly = packed.used * info.price * HOURS_PER_MONTH;
    const scaled = hourly.reduce((s, u) => s + u * info.price * (HOURS_PER_MONTH / 24), 0);
    perPoolCost.push({
      pool: info.pool.name,
      gpusUsed: packed.used,
      onDemandMonthly: round(monthly),
      scaledMonthly: round(scaled),
      spotMonthly: round(scaled * (1 - info.spotDiscount)),
    });
    poolPlans.push({
      name: info.pool.name,
      gpuType: info.gpu.id,
      gpus: info.pool.count,
      gpusPerNode: info.perNode,
      sharing: info.pool.sharing.mode,
      gpusUsed: packed.used,
      pricePerGpuHour: info.price,
      spot: info.pool.spot,
      spotDiscount: info.spotDiscount,
      packing: packed.exact && info.pool.count <= (options.exactLimit ?? 16) ? "exact" : "heuristic",
      lowerBound: packed.lowerBound,
    });
  }

  const sum = (f: (x: PlanCost["perPool"][number]) => number) =>
    round(perPoolCost.reduce((s, x) => s + f(x), 0));
  const inventory = round(
    spec.gpus.reduce((s, p) => s + p.count * (pools.get(p.name)?.price ?? 0) * HOURS_PER_MONTH, 0),
  );
  const onDemand = sum((x) => x.onDemandMonthly);
  const scaled = sum((x) => x.scaledMonthly);
  const spot = sum((x) => x.spotMonthly);
  const totalGpus = spec.gpus.reduce((s, p) => s + p.count, 0);
  const usedGpus = poolPlans.reduce((s, p) => s + p.gpusUsed, 0);
  const cost: PlanCost = {
    hoursPerMonth: HOURS_PER_MONTH,
    inventoryMonthly: inventory,
    onDemandMonthly: onDemand,
    scaledMonthly: scaled,
    spotMonthly: spot,
    waterfall: [
      {
        label: "inventory",
        monthlyUsd: inventory,
        note: `all ${totalGpus} GPUs on demand, ${HOURS_PER_MONTH} h`,
      },
      {
        label: "GPUs used at peak",
        monthlyUsd: onDemand,
        note: `${usedGpus} GPUs hold every placed replica`,
      },
      {
        label: "scaled by the daily profile",
        monthlyUsd: scaled,
        note: "GPUs in use hour by hour as autoscaled replicas follow the load (whole GPUs only are released)",
      },
      { label: "spot", monthlyUsd: spot, note: "spot pools at their discount" },
    ],
    perPool: perPoolCost,
    perModel: chosen
      .filter((c) => c.plan.unit)
      .map((c) => ({
        model: c.plan.name,
        monthlyUsd: round(
          gpuShareOf(c.plan.unit as PlanUnit, c.pool.gpu) *
            c.plan.replicas.placed *
            c.pool.price *
            HOURS_PER_MONTH,
        ),
      })),
  };
  return {
    version: 1,
    platform: spec.metadata.name,
    env: options.env ?? null,
    models: chosen.map((c) => c.plan),
    pools: poolPlans,
    nodes,
    migConfigs,
    cost,
    infeasible,
    feasible: infeasible.length === 0,
  };
}

/** Nodes of a pool from its packing: each GPU's layout, and the mig-parted config per distinct node geometry. */
function layoutPool(info: PoolInfo, packed: PackResult): { nodes: NodePlan[]; configs: MigPartedConfig[] } {
  const nodes: NodePlan[] = [];
  const configs = new Map<string, MigPartedConfig>();
  const split = (key: string) => {
    const k = key.lastIndexOf("#");
    return { model: key.slice(0, k), replica: Number(key.slice(k + 1)) };
  };
  const nodeCount = Math.ceil(info.pool.count / info.perNode);
  for (let n = 0; n < nodeCount; n++) {
    const gpus: GpuPlan[] = packed.gpus
      .filter((g) => g.node === n)
      .map((g) => {
        let layout: GpuLayout = { mode: "unused" };
        const first = g.items[0];
        if (g.mig !== null) {
          layout = {
            mode: "mig",
            slices: g.mig.map((s) => ({
              profile: s.profile,
              start: s.start,
              size: s.size,
              model: s.key === null ? null : split(s.key).model,
              replica: s.key === null ? null : split(s.key).replica,
            })),
          };
        } else if (first?.kind === "gpu") {
          const { model, replica } = split(first.key);
          layout = { mode: "exclusive", model, replica, rank: g.rank ?? 0, tp: first.tp };
        } else if (first?.kind === "share") {
          layout = {
            mode: "time-slicing",
            sharesPerGpu: info.pool.sharing.replicas ?? 1,
            shares: g.items.map((x) => ({
              ...split(x.key),
              memoryFraction: x.kind === "share" ? x.units / 100 : 0,
            })),
          };
        }
        return { index: g.index - n * info.perNode, layout };
      });
    const name = `${info.pool.name}-${n}`;
    const labels: Record<string, string> = {};
    let migConfig: string | null = null;
    if (info.pool.sharing.mode === "mig") {
      const groups = new Map<
        string,
        { devices: number[]; migEnabled: boolean; migDevices: Record<string, number> }
      >();
      for (const g of gpus) {
        const devices: Record<string, number> = {};
        if (g.layout.mode === "mig")
          for (const s of g.layout.slices) devices[s.profile] = (devices[s.profile] ?? 0) + 1;
        const sorted = Object.fromEntries(Object.entries(devices).sort(([a], [b]) => a.localeCompare(b)));
        const key = JSON.stringify(sorted);
        const group = groups.get(key) ?? {
          devices: [],
          migEnabled: Object.keys(sorted).length > 0,
          migDevices: sorted,
        };
        group.devices.push(g.index);
        groups.set(key, group);
      }
      const devices = [...groups.values()];
      if (devices.some((d) => d.migEnabled)) {
        const key = JSON.stringify(devices);
        let cfg = [...configs.values()].find((c) => JSON.stringify(c.devices) === key);
        if (!cfg) {
          const only = devices.length === 1 ? devices[0] : undefined;
          const cfgName = only
            ? `all-${Object.entries(only.migDevices)
                .map(([p, c]) => `${p}-x${c}`)
                .join("-")}`
            : `${info.pool.name}-mixed-${configs.size}`;
          cfg = { name: cfgName, devices };
          configs.set(cfgName, cfg);
        }
        migConfig = cfg.name;
      }
      labels["nvidia.com/mig.config"] = migConfig ?? "all-disabled";
    }
    // Time slicing and MPS are off until the node names its device-plugin config (the GPU
    // Operator's devicePlugin.config has one key per shared pool, see src/deploy/gpu.ts).
    if (info.pool.sharing.mode === "time-slicing" || info.pool.sharing.mode === "mps")
      labels["nvidia.com/device-plugin.config"] = info.pool.name;
    nodes.push({ name, pool: info.pool.name, gpuType: info.gpu.id, gpus, migConfig, labels });
  }
  return { nodes, configs: [...configs.values()] };
}
