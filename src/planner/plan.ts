import type { Platform } from "../spec/schema.js";
import type { Plan, PlanOptions } from "./types.js";

/** First version: an empty plan for the spec (the full planner replaces this). */
export function buildPlan(spec: Platform, options: PlanOptions): Plan {
  return {
    version: 1,
    platform: spec.metadata.name,
    env: options.env ?? null,
    models: [],
    pools: [],
    nodes: [],
    migConfigs: [],
    cost: {
      hoursPerMonth: 730,
      inventoryMonthly: 0,
      onDemandMonthly: 0,
      scaledMonthly: 0,
      spotMonthly: 0,
      waterfall: [],
      perPool: [],
      perModel: [],
    },
    infeasible: [],
    feasible: true,
  };
}
