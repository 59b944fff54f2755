/**
 * The `validate` report: the spec as written and, unless one environment is asked for, every
 * environment's overlay too — an override that breaks production is found before a deploy.
 */
import { type ErrorCode, isInferplaneError, type Problem } from "../errors.js";
import { environmentNames, parseSpec, readSpecText, resolveSpecFile } from "./load.js";
import { type PlatformSummary, summarize } from "./summary.js";

export interface ValidationOutcome {
  /** `null` for the spec as written, else the environment applied. */
  env: string | null;
  valid: boolean;
  code?: ErrorCode;
  message?: string;
  problems: Problem[];
}

export interface ValidationReport {
  file: string;
  valid: boolean;
  /** Summary of the spec (with `--env`, of that environment), when it is valid. */
  summary?: PlatformSummary;
  outcomes: ValidationOutcome[];
}

function attempt(
  text: string,
  file: string,
  env: string | null,
): ValidationOutcome & { summary?: PlatformSummary } {
  try {
    const { platform } = parseSpec(text, env === null ? { file, deploy: true } : { file, env, deploy: true });
    return { env, valid: true, problems: [], summary: summarize(platform) };
  } catch (err) {
    if (!isInferplaneError(err)) throw err;
    return { env, valid: false, code: err.code, message: err.message, problems: err.problems };
  }
}

export function validateSpecFile(options: { file?: string; env?: string } = {}): ValidationReport {
  const file = resolveSpecFile(options.file);
  const text = readSpecText(file);
  const first = attempt(text, file, options.env ?? null);
  const outcomes: ValidationOutcome[] = [first];
  if (options.env === undefined && first.valid) {
    for (const env of environmentNames(text)) outcomes.push(attempt(text, file, env));
  }
  const { summary, ...own } = first;
  outcomes[0] = own;
  return { file, valid: outcomes.every((o) => o.valid), ...(summary ? { summary } : {}), outcomes };
}
