/**
 * One model's plan in its pool: the candidate units, each sized by the memory model and given
 * the replicas its SLO needs on the simulator, cheapest first; the cheapest feasible unit wins.
 */
import { type WeightFormat, weightBytes } from "../catalog/kv.js";
import type { ModelSpec as CatalogModel } from "../catalog/models.js";
import { catalogModelOf, minimumReplicas } from "../spec/checks.js";
import type { ModelSpec, Platform } from "../spec/schema.js";
import {
  binomialQuantile,
  type EngineShape,
  type LatencyOracle,
  type LoadShape,
  type Objectives,
} from "./latency.js";
import { gb, timeSliceGpu } from "./memory.js";
import type { PackItem } from "./packing.js";
import {
  type Chosen,
  fmtS,
  HOURS_PER_MONTH,
  type PoolInfo,
  productSelector,
  round,
  TIME_SLICE_MEMORY_CAP,
} from "./pools.js";
import type { CandidateUnit, Infeasibility, ModelPlan, PlanUnit } from "./types.js";
import {
  candidateUnits,
  explainCandidate,
  gpuShareOf,
  kvDtypeOf,
  resourceName,
  unitLabel,
  weightFormatOf,
} from "./units.js";

/** Everything the phases of one model's planning read. */
interface ModelContext {
  m: ModelSpec;
  info: PoolInfo;
  oracle: LatencyOracle;
  cat: CatalogModel;
  format: WeightFormat;
  kvDtype: number;
  maxModelLen: number;
  o: Objectives;
  load: LoadShape | null;
  /** Requests per second at peak. */
  rate: number;
  autoscaled: boolean;
  floor: number;
}

type Considered = CandidateUnit & { engine: EngineShape | null; placed: number };

function objectivesOf(spec: Platform, m: ModelSpec): Objectives {
  const slo = m.slo;
  const o: Objectives = { percentile: slo?.percentile ?? 99 };
  if (slo?.ttft !== undefined) o.ttft = slo.ttft / 1000;
  if (slo?.tpot !== undefined) o.tpot = slo.tpot / 1000;
  // No objective at all: keep the p99 TTFT under the alert threshold the spec already sets.
  if (o.ttft === undefined && o.tpot === undefined) o.ttft = spec.observability.alerts.ttftP99 / 1000;
  return o;
}

/** The plan before a unit is chosen: what the spec says. */
function basePlan(
  m: ModelSpec,
  info: PoolInfo,
  cat: CatalogModel | undefined,
  format: WeightFormat,
): ModelPlan {
  return {
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
}

const unplaced = (plan: ModelPlan, info: PoolInfo): Chosen => ({
  plan,
  pool: info,
  item: () => ({ kind: "gpu", key: "", tp: 1 }),
});

export function planModel(
  spec: Platform,
  m: ModelSpec,
  info: PoolInfo,
  oracle: LatencyOracle,
  infeasible: Infeasibility[],
): Chosen {
  const cat = catalogModelOf(m);
  const format = weightFormatOf(m, cat);
  const base = basePlan(m, info, cat, format);
  if (!cat) {
    infeasible.push({
      subject: { kind: "model", name: m.name },
      code: "unknown-model",
      message: `${m.name} (${m.source}) is not in the catalog, so its memory cannot be sized; set \`catalog\` to a catalog model id`,
    });
    return unplaced(base, info);
  }
  const ctx: ModelContext = {
    m,
    info,
    oracle,
    cat,
    format,
    kvDtype: kvDtypeOf(m),
    maxModelLen: base.maxModelLen,
    o: objectivesOf(spec, m),
    load: m.load
      ? {
          inputTokens: m.load.inputTokens,
          // An encoder (embeddings, reranking) answers in one forward pass: no decode steps.
          outputTokens: cat.kind === "chat" ? m.load.outputTokens : 1,
          sharedPrefixTokens: m.load.sharedPrefixTokens,
        }
      : null,
    rate: m.load?.requestsPerSecond ?? 0,
    autoscaled: m.autoscaling?.enabled === true,
    floor: minimumReplicas(m),
  };
  const { units, chosenBy, note } = candidateUnits(m, info);
  base.chosenBy = chosenBy;
  const considered = units.map((u) => consider(ctx, u));
  simulate(ctx, considered);
  base.candidates = considered.map(({ engine: _e, placed: _p, ...c }) => c);
  if (note) base.notes.push(note);
  const best = cheapest(considered);
  if (!best) {
    infeasible.push(noUnitServes(ctx, base, considered, note));
    return unplaced(base, info);
  }
  const plan = chosenPlan(ctx, base, best);
  return { plan, pool: info, item: packItemOf(best.unit) };
}

/** A unit sized by the memory model, with the engine shape the simulator runs when it fits. */
function consider(ctx: ModelContext, u: PlanUnit): Considered {
  const { m, info } = ctx;
  const c = explainCandidate(ctx.cat, u, info, m, {
    format: ctx.format,
    kvDtype: ctx.kvDtype,
    maxModelLen: ctx.maxModelLen,
  });
  const engine: EngineShape | null =
    c.reason === ""
      ? {
          model: ctx.cat,
          gpu: c.gpu,
          tp: c.unit.kind === "gpu" ? c.unit.tp : 1,
          weightFormat: ctx.format,
          kvDtypeBytes: ctx.kvDtype,
          gpuMemoryUtilization: c.util,
          maxNumSeqs: m.maxNumSeqs,
          maxNumBatchedTokens: m.maxNumBatchedTokens,
          maxModelLen: ctx.maxModelLen,
          kvTokens: simulatedKvTokens(ctx, c.fit),
          enablePrefixCaching: m.enablePrefixCaching,
        }
      : null;
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
    engine,
    placed: 0,
  };
}

/**
 * The KV tokens the simulated engine admits sequences against. An encoder keeps no cache (its
 * memory fit has none), so only its batch limits it: room for `maxNumSeqs` full contexts.
 */
function simulatedKvTokens(
  ctx: ModelContext,
  fit: { kvTokens: number; kvBytesPerToken: number } | null | undefined,
): number {
  if (!fit) return 0;
  return fit.kvBytesPerToken === 0 ? ctx.m.maxNumSeqs * ctx.maxModelLen : fit.kvTokens;
}

/**
 * Time-sliced replicas share the GPU's time: a replica is slowed by 1 + the co-located replicas
 * busy at the same moment — the 99th percentile of Binomial(k − 1, u), with k replicas per GPU
 * and u = each one's busy fraction (its per-replica rate × mean end-to-end latency when alone).
 */
function engineFor(ctx: ModelContext, u: PlanUnit, engine: EngineShape, l: LoadShape) {
  if (u.kind !== "time-slice") return engine;
  const k = Math.max(
    1,
    Math.min(u.sharesPerGpu, Math.floor(TIME_SLICE_MEMORY_CAP / Math.max(0.01, u.memoryFraction))),
  );
  return (r: number): EngineShape => {
    if (r <= 0 || k <= 1) return engine;
    const alone = ctx.oracle.replica(engine, l, 0, ctx.o.percentile);
    const busy = binomialQuantile(k - 1, Math.min(1, r * alone.meanE2e), 0.99);
    return busy === 0 ? engine : { ...engine, gpu: timeSliceGpu(ctx.info.gpu, 1 + busy) };
  };
}

/**
 * Replicas for the SLO and cost of each fitting unit, cheapest first. The first unit that meets
 * the SLO at the minimum replica count bounds the rest: a unit is simulated only at replica
 * counts that could still cost less.
 */
function simulate(ctx: ModelContext, considered: Considered[]): void {
  const { m, load } = ctx;
  const minimum = Math.max(1, ctx.autoscaled ? ctx.floor : m.replicas);
  const ranked = [...considered].sort((a, b) => a.gpuShare - b.gpuShare);
  let bestCost = firstMeetingCost(ctx, ranked, minimum);
  for (const cand of ranked) {
    if (!cand.feasible || cand.engine === null) continue;
    if (cand.gpuShare * minimum > bestCost) {
      cand.feasible = false;
      cand.reason = `not simulated: at ${minimum} replica${minimum > 1 ? "s" : ""} it costs more than the chosen unit`;
      continue;
    }
    const forSlo = load ? replicasForSlo(ctx, cand, load, bestCost) : null;
    if (forSlo === undefined) continue;
    cand.placed = ctx.autoscaled
      ? Math.max(ctx.floor, forSlo ?? m.replicas)
      : Math.max(m.replicas, forSlo ?? 0);
    cand.monthlyCostShare = round(cand.gpuShare * cand.placed * ctx.info.price * HOURS_PER_MONTH);
    bestCost = Math.min(bestCost, cand.gpuShare * Math.max(1, cand.placed));
  }
}

/** What the cheapest unit meeting the SLO at `minimum` replicas costs (∞ when none does, or without load). */
function firstMeetingCost(ctx: ModelContext, ranked: readonly Considered[], minimum: number): number {
  const load = ctx.load;
  if (!load) return Number.POSITIVE_INFINITY;
  const meets = ranked.find(
    (cand) =>
      cand.feasible &&
      cand.engine !== null &&
      ctx.oracle.meetsAt(engineFor(ctx, cand.unit, cand.engine, load), load, ctx.rate, ctx.o, minimum),
  );
  return meets ? meets.gpuShare * minimum : Number.POSITIVE_INFINITY;
}

/** Replicas a unit needs for the SLO; undefined (and the unit marked infeasible) when none do. */
function replicasForSlo(
  ctx: ModelContext,
  cand: Considered,
  load: LoadShape,
  bestCost: number,
): number | undefined {
  const { o, rate } = ctx;
  const limit = Number.isFinite(bestCost) ? Math.floor(bestCost / cand.gpuShare + 1e-9) : 256;
  const engine = engineFor(ctx, cand.unit, cand.engine as EngineShape, load);
  const r = ctx.oracle.replicasFor(engine, load, rate, o, limit);
  if (r.replicas === null && r.at > 0 && limit < 256) {
    cand.feasible = false;
    cand.reason = `not chosen: above ${limit} replica${limit > 1 ? "s" : ""} it costs more than the chosen unit, and ${limit} miss the SLO`;
    return undefined;
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
    cand.reason = sloMissed(ctx, cand.unit, r);
    return undefined;
  }
  cand.replicasForSlo = r.replicas;
  return r.replicas;
}

/** Why a unit misses the SLO at any replica count: what it sees against what is asked. */
function sloMissed(
  ctx: ModelContext,
  unit: PlanUnit,
  r: { at: number; latency: { ttft: number; tpot: number } },
): string {
  const { o, rate } = ctx;
  const objective = [
    o.ttft !== undefined ? `TTFT p${o.percentile} ≤ ${fmtS(o.ttft)}` : "",
    o.tpot !== undefined ? `TPOT p${o.percentile} ≤ ${fmtS(o.tpot)}` : "",
  ]
    .filter(Boolean)
    .join(" and ");
  const label = unitLabel(unit, ctx.info.gpu);
  // An encoder generates no tokens: it has no TPOT to show.
  const seen = Number.isNaN(r.latency.tpot)
    ? `TTFT p${o.percentile} ${fmtS(r.latency.ttft)}`
    : `TTFT p${o.percentile} ${fmtS(r.latency.ttft)} and TPOT p${o.percentile} ${fmtS(r.latency.tpot)}`;
  return r.at === 0
    ? `${label}: even one request at a time sees ${seen}, missing ${objective}`
    : `${label}: ${r.at} replicas still see ${seen} at ${rate} req/s, missing ${objective}`;
}

/** The feasible unit that costs least for the replicas it places (smaller TP on a tie). */
function cheapest(considered: readonly Considered[]): Considered | undefined {
  const feasible = considered.filter((c) => c.feasible);
  feasible.sort(
    (a, b) =>
      a.gpuShare * Math.max(1, a.placed) - b.gpuShare * Math.max(1, b.placed) ||
      (a.unit.kind === "gpu" ? a.unit.tp : 0) - (b.unit.kind === "gpu" ? b.unit.tp : 0),
  );
  return feasible[0];
}

/** Why no unit of the pool serves the model, with its memory needs. */
function noUnitServes(
  ctx: ModelContext,
  base: ModelPlan,
  considered: readonly Considered[],
  note: string | undefined,
): Infeasibility {
  const { m, info, cat } = ctx;
  const weights = weightBytes(cat, ctx.format);
  const reasons = considered.map((c) => c.reason).filter(Boolean);
  if (note) reasons.push(note);
  // Some unit holds the model but none meets the SLO: the objective, not memory, is the problem.
  const sloOnly = considered.some((c) => c.latency !== null);
  return {
    subject: { kind: "model", name: m.name },
    code: sloOnly ? "slo-unreachable" : "no-fitting-unit",
    message:
      `${m.name} (${cat.displayName} in ${base.weightFormat}) needs ${gb(weights)} of weights and ` +
      `${(considered[0]?.memory?.kvBytesPerToken ?? 0).toLocaleString("en-US")} B of KV cache per token at a ${ctx.maxModelLen.toLocaleString("en-US")}-token context; ` +
      `no unit of pool ${info.pool.name} (${info.pool.count} × ${info.gpu.id}, sharing ${info.pool.sharing.mode}) serves it: ` +
      (reasons.length ? reasons.join("; ") : "the pool offers no unit for this request"),
  };
}

/** The plan with its unit chosen: resources, replicas, notes, and replicas hour by hour. */
function chosenPlan(ctx: ModelContext, base: ModelPlan, best: Considered): ModelPlan {
  const { m, info, autoscaled, floor } = ctx;
  const unit = best.unit;
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
  plan.hourlyReplicas = hourlyReplicas(ctx, unit, best.engine as EngineShape, placed);
  return plan;
}

/** Replicas hour by hour: the floor, or what the hour's load needs. */
function hourlyReplicas(ctx: ModelContext, unit: PlanUnit, engine: EngineShape, placed: number): number[] {
  const { load, autoscaled } = ctx;
  const profile = ctx.m.load?.dailyProfile;
  return Array.from({ length: 24 }, (_, h) => {
    if (!autoscaled || !profile || !load) return placed;
    const r = ctx.oracle.replicasFor(
      engineFor(ctx, unit, engine, load),
      load,
      ctx.rate * (profile[h] ?? 1),
      ctx.o,
    );
    return Math.min(placed, Math.max(ctx.floor, r.replicas ?? placed));
  });
}

function packItemOf(unit: PlanUnit): (key: string) => PackItem {
  return (key) =>
    unit.kind === "gpu"
      ? { kind: "gpu", key, tp: unit.tp }
      : unit.kind === "mig"
        ? { kind: "mig", key, profile: unit.profile }
        : { kind: "share", key, units: Math.round(unit.memoryFraction * 100) };
}
