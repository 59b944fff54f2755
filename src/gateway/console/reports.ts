/**
 * What the console shows beyond the live state: the spec in force (redacted), the planner's
 * page for it (`plan --html`) and the results of a `bench --sweep` run. The plan and the sweep
 * chart are standalone documents with their own styles, so the page shows them in a frame and
 * an image; a frame cannot send the admin token, so they are served under short-lived random
 * links that only the token can mint (`ReportLinks`).
 */
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { sweepReport, type TargetReport } from "../../bench/report.js";
import { sweepSvg } from "../../bench/svg.js";
import { renderHtml } from "../../planner/html.js";
import { planSpec } from "../../planner/index.js";
import type { Platform } from "../../spec/schema.js";
import type { BenchView } from "./source.js";

/** The variable naming the JSON file of a `bench --sweep … --json FILE` run the console shows. */
export const BENCH_ENV = "INFERPLANE_CONSOLE_BENCH";
/** A sweep file (with `--records`) larger than this is refused rather than read into memory. */
const MAX_BENCH_BYTES = 32 * 1024 * 1024;

/** Never show credentials embedded in a URL (endpoints, the spec). */
export function publicUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString().replace(/\/$/, "");
  } catch {
    return url.replace(/\/\/[^/@]*@/, "//");
  }
}

/**
 * The spec with every `hash` (GitOps keys) replaced and credentials cut out of URLs. Secrets
 * themselves never sit in a spec (they are named by `*Env` fields); hashes and URLs may.
 */
export function redactSpec(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) return value.map((v) => redactSpec(v));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSpec(v, k)]));
  }
  if (typeof value === "string") {
    if (/hash/i.test(key) && !key.endsWith("Env")) return "[redacted]";
    if (/^[a-z][a-z0-9+.-]*:\/\/[^/\s]*@/i.test(value)) return publicUrl(value);
  }
  return value;
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const plans = new WeakMap<Platform, string>();

/** `plan --html` for the spec in force, computed once per loaded spec. */
export function planPage(spec: Platform): string {
  let page = plans.get(spec);
  if (page === undefined) {
    try {
      page = renderHtml(planSpec(spec));
    } catch (err) {
      page = `<!doctype html><meta charset="utf-8"><title>Plan</title><p>The planner could not plan this spec: ${escapeHtml((err as Error).message)}</p>`;
    }
    plans.set(spec, page);
  }
  return page;
}

interface SweepFile {
  tool?: unknown;
  startedAt?: unknown;
  settings?: { sweep?: unknown; load?: unknown; workload?: unknown };
  targets?: unknown;
}

/** The sweep in `$INFERPLANE_CONSOLE_BENCH`, read at each call (a new run replaces the file). */
export function readBench(env: NodeJS.ProcessEnv): BenchView | { missing: string } {
  const name = env[BENCH_ENV];
  if (!name) {
    return {
      missing: `no sweep configured: run \`inferplane bench --sweep … --json FILE\` and start the gateway with ${BENCH_ENV}=FILE`,
    };
  }
  const file = resolve(name);
  let doc: SweepFile;
  try {
    if (statSync(file).size > MAX_BENCH_BYTES) {
      return { missing: `${BENCH_ENV}: ${file} is over ${MAX_BENCH_BYTES} bytes` };
    }
    doc = JSON.parse(readFileSync(file, "utf8")) as SweepFile;
  } catch (err) {
    return { missing: `${BENCH_ENV}: cannot read ${file}: ${(err as Error).message}` };
  }
  const loads = doc.settings?.sweep;
  const targets = doc.targets;
  if (
    doc.tool !== "inferplane bench" ||
    !Array.isArray(loads) ||
    !Array.isArray(targets) ||
    targets.length !== loads.length
  ) {
    return { missing: `${BENCH_ENV}: ${file} is not the --json output of \`inferplane bench --sweep\`` };
  }
  const by = String(doc.settings?.load ?? "").startsWith("closed") ? "concurrency" : "rate";
  const sweep = sweepReport(
    by,
    loads.map((v, i) => ({
      load: v === "inf" ? Number.POSITIVE_INFINITY : Number(v),
      target: targets[i] as TargetReport,
    })),
  );
  return {
    file,
    startedAt: String(doc.startedAt ?? ""),
    workload: String(doc.settings?.workload ?? ""),
    header: sweep.header,
    rows: sweep.rows,
    svg: sweepSvg(sweep),
  };
}

/** Random links to the report documents, valid for `ttlMs`; the newest `max` are kept. */
export class ReportLinks {
  private readonly links = new Map<string, number>();

  constructor(
    private readonly ttlMs = 10 * 60_000,
    private readonly max = 64,
  ) {}

  mint(now = Date.now()): string {
    for (const [id, until] of this.links) if (until <= now) this.links.delete(id);
    while (this.links.size >= this.max) this.links.delete(this.links.keys().next().value as string);
    const id = randomBytes(24).toString("base64url");
    this.links.set(id, now + this.ttlMs);
    return id;
  }

  valid(id: string, now = Date.now()): boolean {
    const until = this.links.get(id);
    return until !== undefined && until > now;
  }
}
