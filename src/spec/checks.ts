/**
 * Cross-reference checks that a schema cannot express: names that must exist, be unique,
 * agree with each other and with the catalog. Pure: platform in, problems out.
 */
import type { Platform } from "./schema.js";

export interface CheckProblem {
  path: (string | number)[];
  message: string;
}

export function crossCheck(_p: Platform): CheckProblem[] {
  return [];
}
