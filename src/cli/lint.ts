import { formatSarif, formatText, lintPaths } from "../deploy/lint/index.js";
import { EXIT_STATUSES, InferplaneError } from "../errors.js";
import { type CliIO, printJson } from "./io.js";

export interface LintCliOptions {
  format?: string;
}

const FORMATS = ["text", "json", "sarif"];

/** Exit 0 when no errors (warnings allowed), 1 on errors; bad input throws `usage` (exit 2). */
export function lintCommand(paths: string[], opts: LintCliOptions, io: CliIO): number {
  const format = opts.format ?? "text";
  if (!FORMATS.includes(format))
    throw new InferplaneError("usage", `unknown --format ${format}: use ${FORMATS.join(", ")}`);
  const report = lintPaths(paths);
  if (format === "json") printJson(io, report);
  else if (format === "sarif") io.out(formatSarif(report));
  else io.out(formatText(report));
  return report.errors > 0 ? EXIT_STATUSES.failures_found : EXIT_STATUSES.ok;
}
