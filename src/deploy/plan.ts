/**
 * The plan render reads: the planner's, for the spec with the environment applied. A planner
 * that throws (a spec it cannot plan) leaves placement to the spec's `gpu` fields, as does a
 * plan without an entry for a model (see placement.ts).
 */
import { planSpec } from "../planner/index.js";
import type { Plan } from "../planner/types.js";
import type { Platform } from "../spec/schema.js";

export function planFor(platform: Platform, env: string | null): Plan | null {
  try {
    return planSpec(platform, env === null ? {} : { env });
  } catch {
    return null;
  }
}
