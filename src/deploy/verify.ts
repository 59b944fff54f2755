/**
 * `render --verify`: the checks that need outside tools, run on a written tree — `kustomize
 * build` (through kubectl or the standalone binary) of every kustomization, and `promtool check
 * rules` plus `promtool test rules` (one unit test per alert) for every environment. A tool that
 * is not installed is reported as skipped, never as a pass.
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { alertDefs, promtoolTests, ruleGroups } from "./monitoring.js";
import type { RenderResult } from "./render.js";
import { toYaml } from "./yaml.js";

export interface VerifyReport {
  checks: { what: string; ok: boolean; detail?: string }[];
  skipped: string[];
}

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // keep looking
    }
  }
  return undefined;
}

function run(cmd: string, args: string[]): { ok: boolean; detail: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 120_000 });
  return {
    ok: r.status === 0,
    detail: `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n").slice(-5).join("\n"),
  };
}

export function verifyTree(outDir: string, result: RenderResult): VerifyReport {
  const report: VerifyReport = { checks: [], skipped: [] };
  const kubectl = which("kubectl");
  const kustomize = kubectl
    ? { cmd: kubectl, pre: ["kustomize"] }
    : which("kustomize")
      ? { cmd: "kustomize", pre: ["build"] }
      : undefined;
  const dirs = result.files
    .filter((f) => f.path.endsWith("/kustomization.yaml") && !f.path.startsWith("components/"))
    .map((f) => f.path.slice(0, -"/kustomization.yaml".length));
  if (kustomize) {
    for (const d of dirs) {
      const r = run(kustomize.cmd, [...kustomize.pre, join(outDir, d)]);
      report.checks.push({ what: `kustomize build ${d}`, ok: r.ok, ...(r.ok ? {} : { detail: r.detail }) });
    }
  } else report.skipped.push("kustomize build (neither kubectl nor kustomize on PATH)");
  const promtool = which("promtool");
  if (!promtool) {
    report.skipped.push("promtool check/test rules (promtool not on PATH)");
    return report;
  }
  const tmp = mkdtempSync(join(tmpdir(), "inferplane-verify-"));
  try {
    for (const env of [result.base, ...result.environments]) {
      if (!env.platform.observability.alerts.enabled) continue;
      const defs = alertDefs(env.platform);
      const rules = join(tmp, `${env.name}-rules.yaml`);
      const tests = join(tmp, `${env.name}-tests.yaml`);
      writeFileSync(rules, toYaml({ groups: ruleGroups(defs) }));
      writeFileSync(tests, promtoolTests(defs, rules));
      const c = run(promtool, ["check", "rules", rules]);
      report.checks.push({
        what: `promtool check rules (${env.name})`,
        ok: c.ok,
        ...(c.ok ? {} : { detail: c.detail }),
      });
      const t = run(promtool, ["test", "rules", tests]);
      report.checks.push({
        what: `promtool test rules (${env.name}, ${defs.length} alerts)`,
        ok: t.ok,
        ...(t.ok ? {} : { detail: t.detail }),
      });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return report;
}
