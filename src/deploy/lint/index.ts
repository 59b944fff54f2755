/**
 * `inferplane lint`: load files and directories, run every rule, report findings. Inferplane
 * specs among the files are validated (problems become `spec-invalid` findings at their line)
 * and checked for the spec-level forms of the same mistakes.
 */
import { existsSync } from "node:fs";
import { InferplaneError, isInferplaneError } from "../../errors.js";
import { parseSpec } from "../../spec/load.js";
import type { Platform } from "../../spec/schema.js";
import { type LintInput, type LoadedDoc, loadPaths } from "./load.js";
import { Linter, RULES } from "./rules.js";
import type { Finding, RuleId } from "./types.js";

export { RULES } from "./rules.js";
export type { Finding, RuleId, RuleInfo, Severity } from "./types.js";

export interface LintReport {
  files: number;
  findings: Finding[];
  errors: number;
  warnings: number;
  notes: number;
}

function isSpec(doc: LoadedDoc): boolean {
  const v = doc.value as { apiVersion?: unknown; kind?: unknown } | null;
  return typeof v === "object" && v !== null && v.apiVersion === "inferplane.dev/v1" && v.kind === "Platform";
}

function lintSpec(doc: LoadedDoc, out: Finding[]): void {
  const add = (
    rule: RuleId,
    message: string,
    path: (string | number)[],
    severity: "error" | "warning" = "error",
  ) => {
    const w = doc.where(path);
    out.push({ rule, severity, message, file: doc.file, line: w.line, column: w.column });
  };
  let p: Platform;
  try {
    p = parseSpec(doc.source, { file: doc.file }).platform;
  } catch (err) {
    if (!isInferplaneError(err)) throw err;
    if (err.problems.length === 0) add("spec-invalid", err.message, []);
    for (const pr of err.problems) {
      out.push({
        rule: "spec-invalid",
        severity: "error",
        message: `${pr.path}: ${pr.message}`,
        file: doc.file,
        line: pr.line ?? 1,
        column: pr.column ?? 1,
      });
    }
    return;
  }
  p.models.forEach((m, i) => {
    const a = m.autoscaling;
    if (a?.enabled && a.metric === "kv_cache_usage" && a.target > 1) {
      add(
        "fraction-target-as-percent",
        `models[${i}].autoscaling.target ${a.target} on kv_cache_usage, a 0–1 fraction: write ${a.target / 100}`,
        ["models", i, "autoscaling", "target"],
      );
    }
  });
  p.gpus.forEach((pool, gi) => {
    const n = pool.sharing.replicas ?? 0;
    if ((pool.sharing.mode !== "time-slicing" && pool.sharing.mode !== "mps") || n < 2) return;
    p.models.forEach((m, i) => {
      if (m.gpu?.pool !== pool.name) return;
      if (m.gpuMemoryUtilization * n > 1 + 1e-9) {
        add(
          "time-slice-memory-oversubscribed",
          `model ${m.name} uses gpuMemoryUtilization ${m.gpuMemoryUtilization} on pool ${pool.name}, time-sliced ${n} ways (gpus[${gi}].sharing.replicas): ${n} replicas on one GPU claim ${(m.gpuMemoryUtilization * n).toFixed(2)} of its memory (use ≤ ${(1 / n).toFixed(2)})`,
          ["models", i, "gpuMemoryUtilization"],
        );
      }
    });
  });
  p.gpus.forEach((pool, gi) => {
    const mig = pool.sharing.mig;
    if (pool.sharing.mode !== "mig" || !mig || mig.strategy !== "single") return;
    const profiles = new Set((mig.layouts ?? []).flatMap((l) => l.profiles));
    if (profiles.size > 1) {
      add(
        "mig-strategy-single-mixed",
        `pool ${pool.name} mixes ${[...profiles].join(", ")} under mig.strategy single: set strategy: mixed`,
        ["gpus", gi, "sharing", "mig", "strategy"],
      );
    }
  });
}

export function lintInput(input: LintInput): Finding[] {
  const specs = input.docs.filter(isSpec);
  const rest: LintInput = { ...input, docs: input.docs.filter((d) => !isSpec(d)) };
  const findings = new Linter(rest).run();
  for (const s of specs) lintSpec(s, findings);
  return findings;
}

export function lintPaths(paths: readonly string[]): LintReport {
  const list = paths.length > 0 ? paths : ["."];
  for (const p of list)
    if (!existsSync(p)) throw new InferplaneError("usage", `no such file or directory: ${p}`);
  const input = loadPaths(list);
  const findings = lintInput(input);
  const files = new Set([...input.docs.map((d) => d.file), ...input.dockerfiles.map((d) => d.file)]).size;
  return {
    files,
    findings,
    errors: findings.filter((f) => f.severity === "error").length,
    warnings: findings.filter((f) => f.severity === "warning").length,
    notes: findings.filter((f) => f.severity === "note").length,
  };
}

export function formatText(r: LintReport): string {
  const lines = r.findings.map(
    (f) => `${f.file}:${f.line}:${f.column}: ${f.severity} [${f.rule}] ${f.message}`,
  );
  lines.push(
    r.findings.length === 0
      ? `✔ ${r.files} file(s) checked: no problems`
      : `${r.errors > 0 ? "✖" : "!"} ${r.files} file(s) checked: ${r.errors} error(s), ${r.warnings} warning(s)${r.notes > 0 ? `, ${r.notes} note(s)` : ""}`,
  );
  return `${lines.join("\n")}\n`;
}

/** SARIF 2.1.0, as GitHub code scanning reads it. */
export function formatSarif(r: LintReport): string {
  const sarif = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "inferplane-lint",
            informationUri: "https://github.com/inferplane/inferplane/blob/main/docs/deploy.md",
            rules: RULES.map((rule) => ({
              id: rule.id,
              shortDescription: { text: rule.title },
              defaultConfiguration: { level: rule.severity },
            })),
          },
        },
        results: r.findings.map((f) => ({
          ruleId: f.rule,
          ruleIndex: RULES.findIndex((x) => x.id === f.rule),
          // SARIF 2.1.0 §3.27.10 levels are "error", "warning", "note": the same words as ours.
          level: f.severity,
          message: { text: f.message },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: f.file },
                region: { startLine: f.line, startColumn: f.column },
              },
            },
          ],
        })),
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}
