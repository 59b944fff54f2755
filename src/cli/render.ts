import { readFileSync } from "node:fs";
import { type ClusterReport, verifyOnCluster } from "../deploy/cluster.js";
import { makePlanner } from "../deploy/plan.js";
import { type RenderResult, renderPlatform } from "../deploy/render.js";
import { validateObject } from "../deploy/validate.js";
import { type VerifyReport, verifyTree } from "../deploy/verify.js";
import { writeTree } from "../deploy/write.js";
import { EXIT_STATUSES, InferplaneError } from "../errors.js";
import { readSpecText, resolveSpecFile } from "../spec/load.js";
import { type CliIO, printJson } from "./io.js";

export interface RenderCliOptions {
  config?: string;
  out: string;
  json?: boolean;
  validate?: boolean;
  verify?: boolean;
  /** With verify: dry-run every tree against this cluster and check the engines' placement. */
  kubeconfig?: string;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/** Every rendered object against its schema; throws (nothing written) when one fails. */
function validateRendered(result: RenderResult): void {
  const problems: string[] = [];
  for (const { file: f, object } of result.objects) {
    for (const p of validateObject(object))
      problems.push(`${f}: ${object.kind}/${object.metadata.name}${p.path}: ${p.message}`);
  }
  if (problems.length > 0) {
    throw new InferplaneError(
      "internal",
      `rendered objects failed validation (${problems.length}); nothing was written`,
      {
        problems: problems.map((message) => ({ path: "", message })),
      },
    );
  }
}

interface RenderOutcome {
  result: RenderResult;
  written: number;
  ms: number;
  validated: boolean;
  verified: VerifyReport | undefined;
  cluster: ClusterReport | undefined;
}

function renderReport(specFile: string, opts: RenderCliOptions, removed: string[], o: RenderOutcome) {
  const { result, verified, cluster } = o;
  return {
    spec: specFile,
    out: opts.out,
    files: result.files.map((f) => f.path),
    objects: result.objects.length,
    environments: result.environments.map((e) => ({ name: e.name, namespace: e.namespace })),
    placement: Object.fromEntries([result.base, ...result.environments].map((e) => [e.name, e.placedFrom])),
    removed,
    warnings: result.warnings,
    validated: o.validated,
    ms: o.ms,
    ...(verified ? { verify: verified } : {}),
    ...(cluster ? { cluster } : {}),
  };
}

/** Warnings on stderr; the summary, the apply command and each verification on stdout. */
function printRendered(io: CliIO, out: string, o: RenderOutcome): void {
  const { result, verified, cluster } = o;
  const fromSpec = [result.base, ...result.environments].flatMap((e) =>
    Object.entries(e.placedFrom)
      .filter(([, from]) => from === "spec")
      .map(([model]) => `${model} (${e.name})`),
  );
  for (const w of result.warnings) io.err(`! ${w}`);
  if (fromSpec.length > 0) {
    io.err(`! placed from the spec's gpu fields, the plan has no agreeing unit: ${fromSpec.join(", ")}`);
  }
  const environments = result.environments.map((e) => ({ name: e.name, namespace: e.namespace }));
  io.out(
    `✔ rendered ${o.written} files (${result.objects.length} objects, ${o.validated ? "validated" : "not validated"}) to ${out} in ${o.ms} ms\n` +
      `  environments: ${environments.map((e) => `${e.name} (${e.namespace})`).join(", ") || "none"}\n` +
      `  apply: kubectl apply -k ${out}/overlays/${environments[0]?.name ?? ""}`.replace(
        /\/overlays\/$/,
        "/base",
      ) +
      "\n",
  );
  if (verified) {
    for (const c of verified.checks)
      io.out(`  ${c.ok ? "✔" : "✖"} ${c.what}${c.detail ? `\n${c.detail.replace(/^/gm, "      ")}` : ""}\n`);
    for (const s of verified.skipped) io.out(`  - skipped: ${s}\n`);
  }
  if (cluster) io.out(clusterText(cluster));
}

export function renderCommand(file: string | undefined, opts: RenderCliOptions, io: CliIO): number {
  const specFile = resolveSpecFile(file ?? opts.config);
  const text = readSpecText(specFile);
  const started = performance.now();
  const result = renderPlatform(text, {
    file: specFile,
    version: version(),
    plan: makePlanner(),
  });
  const validated = opts.validate !== false;
  if (validated) validateRendered(result);
  const { written, removed } = writeTree(opts.out, result.files);
  const ms = Math.round(performance.now() - started);
  if (opts.kubeconfig !== undefined && !opts.verify)
    throw new InferplaneError("usage", "--kubeconfig goes with --verify");
  const verified = opts.verify ? verifyTree(opts.out, result) : undefined;
  const cluster =
    opts.verify && opts.kubeconfig !== undefined
      ? verifyOnCluster(opts.out, result, { kubeconfig: opts.kubeconfig })
      : undefined;
  const failed = [
    ...(verified?.checks.filter((c) => !c.ok) ?? []),
    ...(cluster && !cluster.ok ? [cluster] : []),
  ];
  const outcome: RenderOutcome = { result, written, ms, validated, verified, cluster };
  if (opts.json) printJson(io, renderReport(specFile, opts, removed, outcome));
  else printRendered(io, opts.out, outcome);
  return failed.length > 0 ? EXIT_STATUSES.failures_found : EXIT_STATUSES.ok;
}

function clusterText(c: ClusterReport): string {
  const lines = [`  cluster ${c.server} (${c.dryRun ? "server-side dry-run" : "applied"}):`];
  if (c.createdNamespaces.length > 0)
    lines.push(
      `    namespaces the tree declares, created for the dry-run and deleted after: ${c.createdNamespaces.join(", ")}`,
    );
  for (const t of c.trees) {
    lines.push(`  ${t.ok ? "✔" : "✖"} ${t.tree}: ${t.objects} objects`);
    for (const e of t.errors) lines.push(`      ✖ ${e.object}: ${e.message.replace(/\n/g, "\n        ")}`);
    for (const w of t.warnings) lines.push(`      ! warning: ${w}`);
  }
  for (const p of c.placement) {
    const perNode = Object.entries(p.atMin)
      .map(([n, k]) => `${n}×${k}`)
      .join(" ");
    lines.push(
      `  ${p.ok ? "✔" : "✖"} placement ${p.engine} (${p.environment}): ${p.minReplicas} min on ${perNode || "no node"}; nodes hold ${p.holds} of ${p.maxReplicas} max${p.reason ? ` — ${p.reason}` : ""}`,
    );
  }
  return `${lines.join("\n")}\n`;
}
