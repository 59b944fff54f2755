/**
 * From request records to the figures a benchmark reports: per target, TTFT, inter-token latency
 * (every gap), TPOT ((E2E − TTFT) / (output tokens − 1), per request), E2E, request and token
 * throughput over the measured window, errors by type, goodput under an SLO — and renderings of
 * them: a terminal table, Markdown, side-by-side comparisons with ratios, and rate sweeps.
 */
import type { RequestRecord } from "./load.js";
import { formatSlo, meetsSlo, type Slo } from "./slo.js";
import { type Summary, summarize } from "./stats.js";

export interface TargetReport {
  url: string;
  model: string;
  requests: { sent: number; ok: number; failed: number; errors: Record<string, number>; firstError?: string };
  /** First measured send → last measured end, seconds. */
  durationS: number;
  requestThroughput: number;
  outputTokenThroughput: number;
  inputTokenThroughput: number;
  totalOutputTokens: number;
  totalInputTokens: number;
  /** Latencies in ms. ITL pools every gap of every request. */
  ttftMs: Summary;
  itlMs: Summary;
  tpotMs: Summary;
  e2eMs: Summary;
  /** Open loop: how late sends were against the schedule (the client's own timer slop), ms. */
  sendLagMs?: Summary;
  /** The gateway's own time per request, from its x-inferplane-overhead-ms header, ms. */
  gatewayOverheadMs?: Summary;
  /**
   * Mean time requests waited in the server's queue, from its /metrics histogram scraped before
   * and after the run (warm-up included); only servers that expose one (vLLM, TGI, the sim).
   */
  serverQueue?: { meanMs: number; requests: number; metric: string };
  /** Prompt tokens the server reports served from its prefix cache, share of prompt tokens. */
  cachedShare?: number;
  goodput?: { slo: Slo; requestsPerS: number; share: number };
}

export interface ClientStats {
  /** CPU time of the benchmark process per measured request, µs. */
  cpuUsPerRequest: number;
  /** Share of one core the client used over the run. */
  cpuShare: number;
  /** Event-loop delay of the client during the run, ms (a busy client adds this much to latencies). */
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
}

export interface BenchReport {
  tool: "inferplane bench";
  startedAt: string;
  settings: Record<string, unknown>;
  targets: TargetReport[];
  client: ClientStats;
  records?: RequestRecord[];
}

export function targetReport(
  records: readonly RequestRecord[],
  target: number,
  windowMs: number,
  meta: { url: string; model: string; stream: boolean },
  slo?: Slo,
): TargetReport {
  const mine = records.filter((r) => r.target === target && r.measured);
  const ok = mine.filter((r) => r.ok);
  const errors: Record<string, number> = {};
  let firstError: string | undefined;
  for (const r of mine) {
    if (r.ok) continue;
    const k = r.errorType ?? "error";
    errors[k] = (errors[k] ?? 0) + 1;
    firstError ??= r.error;
  }
  const seconds = windowMs / 1000;
  const rate = (n: number) => (seconds > 0 ? n / seconds : Number.NaN);
  const outTokens = ok.reduce((s, r) => s + r.outputTokens, 0);
  const inTokens = ok.reduce((s, r) => s + (r.promptTokens || r.inputTokens), 0);
  const itl: number[] = [];
  for (const r of ok) for (const g of r.itlMs) itl.push(g);
  const tpot = ok.filter((r) => r.outputTokens > 1 && meta.stream).map(tpotOf);
  const lag = mine.flatMap((r) => (r.lagMs === undefined ? [] : [r.lagMs]));
  const overhead = ok.flatMap((r) => (r.overheadMs === undefined ? [] : [r.overheadMs]));
  const prompt = ok.reduce((s, r) => s + r.promptTokens, 0);
  const cached = ok.reduce((s, r) => s + r.cachedTokens, 0);
  const report: TargetReport = {
    url: meta.url,
    model: meta.model,
    requests: {
      sent: mine.length,
      ok: ok.length,
      failed: mine.length - ok.length,
      errors,
      ...(firstError ? { firstError } : {}),
    },
    durationS: seconds,
    requestThroughput: rate(ok.length),
    outputTokenThroughput: rate(outTokens),
    inputTokenThroughput: rate(inTokens),
    totalOutputTokens: outTokens,
    totalInputTokens: inTokens,
    ttftMs: summarize(meta.stream ? ok.map((r) => r.ttftMs) : []),
    itlMs: summarize(itl),
    tpotMs: summarize(tpot),
    e2eMs: summarize(ok.map((r) => r.e2eMs)),
  };
  if (lag.length > 0) report.sendLagMs = summarize(lag);
  if (overhead.length > 0) report.gatewayOverheadMs = summarize(overhead);
  if (cached > 0) report.cachedShare = cached / prompt;
  if (slo) {
    const good = mine.filter((r) =>
      meetsSlo({ ...r, tpotMs: r.outputTokens > 1 ? tpotOf(r) : Number.NaN }, slo),
    ).length;
    report.goodput = {
      slo,
      requestsPerS: rate(good),
      share: mine.length > 0 ? good / mine.length : Number.NaN,
    };
  }
  return report;
}

export function tpotOf(r: { e2eMs: number; ttftMs: number; outputTokens: number }): number {
  return r.outputTokens > 1 ? (r.e2eMs - r.ttftMs) / (r.outputTokens - 1) : Number.NaN;
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/** Fixed decimals; "—" for NaN. */
export function fmt(x: number | undefined, digits = 2): string {
  if (x === undefined || !Number.isFinite(x)) return "—";
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** The rows of the final table: [figure, value] per target. */
export function figureRows(t: TargetReport): [string, string][] {
  const rows: [string, string][] = [
    ["Requests ok / sent", `${t.requests.ok} / ${t.requests.sent}`],
    ["Failed", failedText(t)],
    ["Duration (s)", fmt(t.durationS)],
    ["Request throughput (req/s)", fmt(t.requestThroughput)],
    ["Output token throughput (tok/s)", fmt(t.outputTokenThroughput)],
    ["Input token throughput (tok/s)", fmt(t.inputTokenThroughput)],
  ];
  if (t.goodput)
    rows.push([
      `Goodput (req/s, ${formatSlo(t.goodput.slo)})`,
      `${fmt(t.goodput.requestsPerS)} (${fmt(t.goodput.share * 100, 1)}%)`,
    ]);
  const lat = (name: string, s: Summary) => {
    if (s.count === 0) return;
    rows.push([`${name} mean / p50 (ms)`, `${fmt(s.mean)} / ${fmt(s.p50)}`]);
    rows.push([`${name} p90 / p95 / p99 (ms)`, `${fmt(s.p90)} / ${fmt(s.p95)} / ${fmt(s.p99)}`]);
  };
  lat("TTFT", t.ttftMs);
  lat("ITL", t.itlMs);
  lat("TPOT", t.tpotMs);
  lat("E2E", t.e2eMs);
  if (t.gatewayOverheadMs) lat("Gateway overhead", t.gatewayOverheadMs);
  if (t.serverQueue)
    rows.push([
      "Server queue time mean (ms)",
      `${fmt(t.serverQueue.meanMs)} (${t.serverQueue.metric}, ${t.serverQueue.requests} requests)`,
    ]);
  if (t.sendLagMs)
    rows.push(["Send lag p50 / p99 (ms)", `${fmt(t.sendLagMs.p50)} / ${fmt(t.sendLagMs.p99)}`]);
  if (t.cachedShare !== undefined)
    rows.push(["Prompt tokens from prefix cache", `${fmt(t.cachedShare * 100, 1)}%`]);
  return rows;
}

function failedText(t: TargetReport): string {
  const kinds = Object.entries(t.requests.errors)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`);
  return kinds.length === 0 ? "0" : `${t.requests.failed} (${kinds.join(", ")})`;
}

/** Numeric figures compared side by side (higher-is-better ones noted for the reader, not flipped). */
export function comparableFigures(t: TargetReport): [string, number][] {
  const out: [string, number][] = [
    ["Request throughput (req/s)", t.requestThroughput],
    ["Output token throughput (tok/s)", t.outputTokenThroughput],
  ];
  if (t.goodput) out.push(["Goodput (req/s)", t.goodput.requestsPerS]);
  const add = (name: string, s: Summary) => {
    if (s.count === 0) return;
    out.push([`${name} mean (ms)`, s.mean], [`${name} p50 (ms)`, s.p50], [`${name} p90 (ms)`, s.p90]);
    out.push([`${name} p95 (ms)`, s.p95], [`${name} p99 (ms)`, s.p99]);
  };
  add("TTFT", t.ttftMs);
  add("ITL", t.itlMs);
  add("TPOT", t.tpotMs);
  add("E2E", t.e2eMs);
  return out;
}

export function clientLine(c: ClientStats): string {
  return `client: ${fmt(c.cpuUsPerRequest, 1)} µs CPU per request (${fmt(c.cpuShare * 100, 1)}% of a core), event-loop delay p99 ${fmt(c.eventLoopDelayP99Ms)} ms, max ${fmt(c.eventLoopDelayMaxMs)} ms`;
}

/** The final table: one value column per target, and a ratio column (B / A) when comparing two. */
export function tableData(report: BenchReport): { header: string[]; rows: string[][] } {
  const ts = report.targets;
  if (ts.length === 1) {
    return { header: ["Figure", "Value"], rows: figureRows(ts[0] as TargetReport).map(([k, v]) => [k, v]) };
  }
  const a = ts[0] as TargetReport;
  const b = ts[1] as TargetReport;
  const header = ["Figure", "A", "B", "B / A"];
  const rows: string[][] = [
    ["Target", a.url, b.url, ""],
    [
      "Requests ok / sent",
      `${a.requests.ok} / ${a.requests.sent}`,
      `${b.requests.ok} / ${b.requests.sent}`,
      "",
    ],
    ["Failed", failedText(a), failedText(b), ""],
  ];
  const fb = new Map(comparableFigures(b));
  for (const [name, va] of comparableFigures(a)) {
    const vb = fb.get(name);
    if (vb === undefined) continue;
    rows.push([name, fmt(va), fmt(vb), va !== 0 && Number.isFinite(va / vb) ? `${fmt(vb / va, 3)}×` : "—"]);
  }
  return { header, rows };
}

export function markdownTable(header: string[], rows: string[][]): string {
  const esc = (c: string) => c.replace(/\|/g, "\\|");
  return [
    `| ${header.map(esc).join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ].join("\n");
}

export function markdownReport(report: BenchReport, sweep?: SweepReport): string {
  const lines = [`# inferplane bench`, "", `Started ${report.startedAt}.`, ""];
  lines.push("| Setting | Value |", "|---|---|");
  for (const [k, v] of Object.entries(report.settings))
    lines.push(`| ${k} | ${String(typeof v === "object" ? JSON.stringify(v) : v).replace(/\|/g, "\\|")} |`);
  lines.push("");
  if (sweep) {
    lines.push("## Sweep", "", markdownTable(sweep.header, sweep.rows), "");
  } else {
    const { header, rows } = tableData(report);
    lines.push("## Results", "", markdownTable(header, rows), "");
  }
  lines.push(clientLine(report.client), "");
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------
// Sweeps
// ---------------------------------------------------------------------------------------------

export interface SweepPoint {
  /** Offered rate (req/s; Infinity for all at once) or concurrency. */
  load: number;
  target: TargetReport;
}

export interface SweepReport {
  by: "rate" | "concurrency";
  points: SweepPoint[];
  header: string[];
  rows: string[][];
}

export function sweepReport(by: "rate" | "concurrency", points: SweepPoint[]): SweepReport {
  const header = [
    by === "rate" ? "Rate (req/s)" : "Concurrency",
    "ok / sent",
    "req/s",
    "out tok/s",
    "TTFT p50",
    "TTFT p99",
    "ITL p50",
    "TPOT p50",
    "TPOT p99",
    "E2E p50",
    "E2E p99",
  ];
  const hasGoodput = points.some((p) => p.target.goodput);
  if (hasGoodput) header.push("goodput req/s");
  const rows = points.map(({ load, target: t }) => {
    const row = [
      Number.isFinite(load) ? String(load) : "inf",
      `${t.requests.ok} / ${t.requests.sent}`,
      fmt(t.requestThroughput),
      fmt(t.outputTokenThroughput, 1),
      fmt(t.ttftMs.p50),
      fmt(t.ttftMs.p99),
      fmt(t.itlMs.p50),
      fmt(t.tpotMs.p50),
      fmt(t.tpotMs.p99),
      fmt(t.e2eMs.p50),
      fmt(t.e2eMs.p99),
    ];
    if (hasGoodput) row.push(fmt(t.goodput?.requestsPerS));
    return row;
  });
  return { by, points, header: header.map((h, i) => (i >= 4 && i <= 10 ? `${h} ms` : h)), rows };
}
