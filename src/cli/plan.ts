import { renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { OwnReplicaMemory } from "../engines/index.js";
import { localCacheDir } from "../engines/local.js";
import { EXIT_STATUSES, InferplaneError } from "../errors.js";
import { renderHtml } from "../planner/html.js";
import { planSpec } from "../planner/index.js";
import { engineReplicaMemory } from "../planner/memory.js";
import { renderMarkdown, renderText } from "../planner/report.js";
import { loadSpec } from "../spec/load.js";
import type { Platform } from "../spec/schema.js";
import { type CliIO, printJson } from "./io.js";

export interface PlanCliOptions {
  config?: string;
  env?: string;
  json?: boolean;
  md?: boolean;
  html?: string;
}

/** Exit code when the plan has infeasibilities (every one is printed with its reason). */
export const PLAN_INFEASIBLE_EXIT = EXIT_STATUSES.plan_infeasible;

/** Writes `text` to `file` through a temporary file and a rename, so a reader never sees half a page. */
function writeAtomically(file: string, text: string): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new InferplaneError("usage", `cannot write --html ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Replica memory of the models whose engine reckons its own from files on this machine. */
async function ownMemoryOf(platform: Platform): Promise<Record<string, OwnReplicaMemory>> {
  const out: Record<string, OwnReplicaMemory> = {};
  for (const m of platform.models) {
    const mem = await engineReplicaMemory(m, localCacheDir());
    if (mem) out[m.name] = mem;
  }
  return out;
}

export async function planCommand(opts: PlanCliOptions, io: CliIO): Promise<number> {
  if (opts.json && opts.md) throw new InferplaneError("usage", "give either --json or --md, not both");
  if (opts.html !== undefined && opts.html.trim() === "")
    throw new InferplaneError("usage", "--html needs a file name");
  const { platform, env } = loadSpec({ file: opts.config, env: opts.env, deploy: true });
  const ownMemory = await ownMemoryOf(platform);
  const plan = planSpec(platform, { ...(env === undefined ? {} : { env }), ownMemory });
  if (opts.html !== undefined) writeAtomically(opts.html, renderHtml(plan));
  if (opts.json) printJson(io, plan);
  else if (opts.md) io.out(renderMarkdown(plan));
  else io.out(renderText(plan));
  if (opts.html !== undefined && !opts.json) io.err(`wrote ${opts.html}`);
  return plan.feasible ? 0 : PLAN_INFEASIBLE_EXIT;
}
