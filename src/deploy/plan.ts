/**
 * The plan render reads: the planner's, for the spec with the environment applied.
 *
 * Render needs placement only (unit, resource, node selector, memory share, MIG geometry). For a
 * model whose unit the spec already fixes (a GPU count, or a MIG profile),
 * the planner's SLO simulation only decides replica counts and costs, which render does not use;
 * those models are planned without `load`/`slo`. Environments whose placement inputs are the
 * same (staging changing only CPU and memory, dev only replicas) share one plan.
 *
 * A planner that throws (a spec it cannot plan) leaves placement to the spec's `gpu` fields, as
 * does a plan without a unit for a model (see placement.ts).
 */

import type { Plan } from "../planner/index.js";
import { planSpec } from "../planner/index.js";
import type { ModelSpec, Platform } from "../spec/schema.js";

/**
 * Whether the spec fixes the unit: a MIG profile, or a GPU count (the schema: "GPUs per replica,
 * or `auto` to let the planner choose"). Placement checks the plan agrees (placement.ts).
 */
function unitFixedBySpec(m: ModelSpec): boolean {
  return m.gpu !== undefined && (m.gpu.count !== "auto" || m.gpu.migProfile !== undefined);
}

/**
 * Fields of a model that do not change its placement: replica counts change how many replicas
 * the plan places, not the unit each one runs on (the unit is chosen per replica, by memory fit
 * and the SLO under the expected load), so environments differing only in replicas share a plan.
 */
const NOT_PLANNED = new Set([
  "replicas",
  "autoscaling",
  "resources",
  "cache",
  "shmSize",
  "apiKeyEnv",
  "image",
  "endpoints",
  "discovery",
  "servedModelName",
]);

export type Planner = (platform: Platform, env: string | null) => Plan | null;

/** A planner for one render: plans each distinct planning input once. */
export function makePlanner(): Planner {
  const cache = new Map<string, Plan | null>();
  return (platform, env) => {
    const models = platform.models.map((m) =>
      unitFixedBySpec(m) ? { ...m, load: undefined, slo: undefined } : m,
    );
    const key = JSON.stringify({
      gpus: platform.gpus,
      models: models.map((m) => Object.fromEntries(Object.entries(m).filter(([k]) => !NOT_PLANNED.has(k)))),
    });
    if (!cache.has(key)) {
      let plan: Plan | null = null;
      try {
        plan = planSpec({ ...platform, models }, env === null ? {} : { env });
      } catch {
        plan = null;
      }
      cache.set(key, plan);
    }
    return cache.get(key) ?? null;
  };
}

/** One-off planning (no sharing between calls). */
export function planFor(platform: Platform, env: string | null): Plan | null {
  return makePlanner()(platform, env);
}
