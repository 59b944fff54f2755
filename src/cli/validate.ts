import { EXIT_STATUSES, formatProblem } from "../errors.js";
import { renderTable } from "../report/table.js";
import { validateSpecFile } from "../spec/validate.js";
import { type CliIO, printJson } from "./io.js";

export interface ValidateOptions {
  config?: string;
  env?: string;
  json?: boolean;
}

export function validateCommand(file: string | undefined, opts: ValidateOptions, io: CliIO): number {
  const report = validateSpecFile({ file: file ?? opts.config, env: opts.env });
  if (opts.json) {
    printJson(io, report);
    return report.valid ? EXIT_STATUSES.ok : EXIT_STATUSES.spec_invalid;
  }
  for (const o of report.outcomes.filter((x) => !x.valid)) {
    const where = o.env === null ? "" : ` (environment ${o.env})`;
    io.err(`✖ ${report.file}${where}: ${o.message}`);
    for (const p of o.problems) io.err(`  ${formatProblem(p, report.file)}`);
  }
  const s = report.summary;
  if (!s) return EXIT_STATUSES.spec_invalid;
  const envNote = report.outcomes[0]?.env ? ` with environment ${report.outcomes[0].env}` : "";
  const lines = [
    `${report.valid ? "✔" : "✖"} ${report.file}${envNote}: platform ${s.name}, namespace ${s.namespace}`,
    "",
    "MODELS",
    renderTable(
      ["NAME", "KIND", "SOURCE", "ENGINE", "QUANT", "GPUS PER REPLICA", "REPLICAS"],
      s.models.map((m) => [m.name, m.kind, m.source, m.engine, m.quantization, m.gpus, m.replicas]),
    ),
    "",
    "GPU POOLS",
    s.gpuPools.length
      ? renderTable(
          ["NAME", "TYPE", "GPUS", "SHARING", "SPOT"],
          s.gpuPools.map((g) => [g.name, g.type, String(g.count), g.sharing, g.spot ? "yes" : "no"]),
        )
      : "(none)",
    "",
    "ROUTES",
    renderTable(
      ["NAME", "ALIASES", "TARGETS", "BALANCER", "FALLBACKS"],
      s.routes.map((r) => [
        r.name,
        r.aliases.join(", ") || "-",
        r.targets,
        r.balancer,
        r.fallbacks.join(" → ") || "-",
      ]),
    ),
  ];
  const envs = report.outcomes.filter((o) => o.env !== null);
  if (s.environments.length > 0) {
    const checked = new Map(envs.map((o) => [o.env, o]));
    lines.push(
      "",
      "ENVIRONMENTS",
      renderTable(
        ["NAME", "NAMESPACE", "OVERLAY"],
        s.environments.map((e) => {
          const o = checked.get(e.name);
          const status = !o ? "not checked" : o.valid ? "valid" : `${o.problems.length || 1} problem(s)`;
          return [e.name, e.namespace, status];
        }),
      ),
    );
  }
  io.out(`${lines.join("\n")}\n`);
  return report.valid ? EXIT_STATUSES.ok : EXIT_STATUSES.spec_invalid;
}
