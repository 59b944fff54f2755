import { formatSarif, formatText, LintUsageError, lintPaths } from "../deploy/lint/index.js";
import { type CliIO, printJson } from "./io.js";

export interface LintCliOptions {
  format?: string;
}

/** Exit 0 when no errors (warnings allowed), 1 on errors, 2 on usage problems. */
export function lintCommand(paths: string[], opts: LintCliOptions, io: CliIO): number {
  const format = opts.format ?? "text";
  if (!["text", "json", "sarif"].includes(format)) {
    io.err(`✖ unknown --format ${format}: use text, json or sarif`);
    return 2;
  }
  let report: ReturnType<typeof lintPaths>;
  try {
    report = lintPaths(paths);
  } catch (err) {
    if (err instanceof LintUsageError) {
      io.err(`✖ ${err.message}`);
      return 2;
    }
    throw err;
  }
  if (format === "json") printJson(io, report);
  else if (format === "sarif") io.out(formatSarif(report));
  else io.out(formatText(report));
  return report.errors > 0 ? 1 : 0;
}
