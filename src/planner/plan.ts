/**
 * The planner's pipeline: per model, the candidate units of its pool (whole GPUs at each
 * tensor-parallel size, each MIG profile, a time-slicing share), each sized by the memory model
 * and given the replicas its SLO needs on the simulator; the cheapest feasible unit wins
 * (model-plan.ts). Then every pool is packed (exact search up to `exactLimit` GPUs), hour by hour
 * over the daily load profile for the scaled cost, and laid out per node with its mig-parted
 * config (pool-plan.ts). Last, the cost waterfall.
 */
import { isExternalEngine } from "../engines/index.js";
import type { Platform } from "../spec/schema.js";
import { LatencyOracle } from "./latency.js";
import { planModel } from "./model-plan.js";
import { engineMemory } from "./own-memory.js";
import { planPool } from "./pool-plan.js";
import { type Chosen, HOURS_PER_MONTH, type PoolInfo, poolInfo, round } from "./pools.js";
import type {
  Infeasibility,
  MigPartedConfig,
  NodePlan,
  Plan,
  PlanCost,
  PlanOptions,
  PlanUnit,
  PoolPlan,
} from "./types.js";
import { gpuShareOf } from "./units.js";

export function buildPlan(spec: Platform, options: PlanOptions): Plan {
  const oracle = new LatencyOracle(options.seed ?? 1, options.simulatedRequests ?? 100);
  const infeasible: Infeasibility[] = [];
  const pools = new Map(spec.gpus.map((p) => [p.name, poolInfo(p)]));
  const chosen: Chosen[] = [];
  for (const m of spec.models) {
    if (!m.gpu || isExternalEngine(m.engine)) continue;
    const info = pools.get(m.gpu.pool);
    if (!info) continue; // the spec's checks already reject an unknown pool
    chosen.push(planModel(spec, m, info, oracle, infeasible));
  }
  const own = engineMemory(spec, options.ownMemory ?? {}, infeasible);
  const poolPlans: PoolPlan[] = [];
  const nodes: NodePlan[] = [];
  const migConfigs: MigPartedConfig[] = [];
  const perPool: PlanCost["perPool"] = [];
  for (const info of pools.values()) {
    const out = planPool(info, chosen, options, infeasible);
    nodes.push(...out.nodes);
    migConfigs.push(...out.configs);
    perPool.push(out.cost);
    poolPlans.push(out.plan);
  }
  return {
    version: 1,
    platform: spec.metadata.name,
    env: options.env ?? null,
    models: chosen.map((c) => c.plan),
    pools: poolPlans,
    nodes,
    migConfigs,
    cost: planCost(spec, pools, chosen, poolPlans, perPool),
    infeasible,
    feasible: infeasible.length === 0,
    ...(own.length > 0 ? { engineMemory: own } : {}),
  };
}

/** The cost waterfall: the whole inventory, the GPUs used at peak, scaled by the day, on spot. */
function planCost(
  spec: Platform,
  pools: ReadonlyMap<string, PoolInfo>,
  chosen: readonly Chosen[],
  poolPlans: readonly PoolPlan[],
  perPool: PlanCost["perPool"],
): PlanCost {
  const sum = (f: (x: PlanCost["perPool"][number]) => number) => round(perPool.reduce((s, x) => s + f(x), 0));
  const inventory = round(
    spec.gpus.reduce((s, p) => s + p.count * (pools.get(p.name)?.price ?? 0) * HOURS_PER_MONTH, 0),
  );
  const onDemand = sum((x) => x.onDemandMonthly);
  const scaled = sum((x) => x.scaledMonthly);
  const spot = sum((x) => x.spotMonthly);
  const totalGpus = spec.gpus.reduce((s, p) => s + p.count, 0);
  const usedGpus = poolPlans.reduce((s, p) => s + p.gpusUsed, 0);
  return {
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
    perPool,
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
}
