/**
 * One benchmark, start to finish: workload → load → figures, for one target, two compared
 * side by side, or a sweep of rates (or concurrencies). The CLI (src/cli/bench.ts) turns flags
 * into BenchOptions and prints what this returns; tests and bench/ scripts call it directly.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { InferplaneError } from "../errors.js";
import type { LengthDist } from "../sim/model/workload.js";
import type { Api, Target } from "./client.js";
import { type LoadMode, type RequestRecord, runLoad } from "./load.js";
import { type BenchReport, type ClientStats, type SweepReport, sweepReport, targetReport } from "./report.js";
import { queueBetween, scrapeQueue } from "./server-metrics.js";
import type { Slo } from "./slo.js";
import {
  jsonlWorkload,
  randomWorkload,
  sharedPrefixWorkload,
  sharegptWorkload,
  type Workload,
} from "./workload.js";

export type WorkloadSpec =
  | { kind: "random"; input: LengthDist; output: LengthDist }
  | {
      kind: "shared-prefix";
      prefixes: number;
      prefixTokens: number;
      input: LengthDist;
      output: LengthDist;
      turns: LengthDist;
      thinkMs: number;
    }
  | { kind: "sharegpt"; path: string; output: LengthDist }
  | { kind: "jsonl"; path: string; output: LengthDist };

export interface BenchOptions {
  /** One URL, or two for a comparison. */
  urls: string[];
  /** Served model name; undefined: the first one /v1/models lists (of the first URL). */
  model?: string;
  /** Model name for the second URL when it differs (a gateway's route vs the replica's name). */
  compareModel?: string;
  api: Api;
  stream: boolean;
  ignoreEos: boolean;
  headers: Record<string, string>;
  extraBody: Record<string, unknown>;
  timeoutMs: number;
  /** Open loop (rate, Infinity = all at once) or closed loop. */
  load: { rate: number; arrivals: "poisson" | "uniform" } | { concurrency: number };
  /** Measured sessions (single-turn workloads: requests); or `durationMs`. */
  requests?: number;
  durationMs?: number;
  warmup: { sessions: number } | { ms: number };
  workload: WorkloadSpec;
  slo?: Slo;
  seed: number;
  /** Rates (open loop) or concurrencies (closed loop) to run in turn. */
  sweep?: number[];
  /** Keep per-request records in the report. */
  records: boolean;
  onRecord?: (r: RequestRecord) => void;
  /** Called before each sweep point starts. */
  onPoint?: (load: number, index: number) => void;
  signal?: AbortSignal;
}

export interface BenchOutcome {
  report: BenchReport;
  sweep?: SweepReport;
}

const usage = (m: string) => new InferplaneError("usage", m);

export function buildWorkload(spec: WorkloadSpec, sessions: number, seed: number): Workload {
  switch (spec.kind) {
    case "random":
      return randomWorkload({ sessions, input: spec.input, output: spec.output, seed });
    case "shared-prefix":
      return sharedPrefixWorkload({ ...spec, sessions, seed });
    case "sharegpt":
      return sharegptWorkload({ path: spec.path, sessions, output: spec.output, seed });
    case "jsonl":
      return jsonlWorkload({ path: spec.path, sessions, output: spec.output, seed });
  }
}

/** The served model of `url` (the first /v1/models lists). */
export async function discoverModel(url: string, headers: Record<string, string>): Promise<string> {
  const base = url.replace(/\/+$/, "").replace(/\/v1$/, "");
  let res: Response;
  try {
    res = await fetch(`${base}/v1/models`, { headers, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new InferplaneError(
      "usage",
      `cannot reach ${base}/v1/models to find the model (give --model): ${(err as Error).message}`,
    );
  }
  const body = (await res.json().catch(() => ({}))) as { data?: { id?: string }[] };
  const id = body.data?.[0]?.id;
  if (!res.ok || typeof id !== "string")
    throw usage(`${base}/v1/models lists no model (HTTP ${res.status}); give --model`);
  return id;
}

/** How many sessions a run sends: N + warm-up, or as many as a timed run gets to. */
function sessionCount(o: BenchOptions, warm: number): number {
  return o.requests !== undefined ? o.requests + warm : Number.POSITIVE_INFINITY;
}

async function runOnce(o: BenchOptions, models: string[], mode: LoadMode, seed: number) {
  const warm = "sessions" in o.warmup ? o.warmup.sessions : 0;
  const workload = buildWorkload(o.workload, sessionCount(o, warm), seed);
  const targets: Target[] = o.urls.map((url, i) => ({
    url,
    model: models[i] ?? (models[0] as string),
    api: o.api,
    stream: o.stream,
    headers: o.headers,
    extraBody: { ...(o.ignoreEos ? { ignore_eos: true } : {}), ...o.extraBody },
    timeoutMs: o.timeoutMs,
  }));
  // Sampled every 10 ms (finer sampling costs the client CPU of its own); each sample is the
  // whole interval, so the delay is what exceeds 10 ms.
  const queueBefore = await Promise.all(o.urls.map((u) => scrapeQueue(u, o.headers)));
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const result = await runLoad({
    targets,
    workload,
    mode,
    warmupSessions: warm,
    ...("ms" in o.warmup ? { warmupMs: o.warmup.ms } : {}),
    ...(o.durationMs !== undefined && o.requests === undefined
      ? { durationMs: o.durationMs + ("ms" in o.warmup ? o.warmup.ms : 0) }
      : {}),
    seed,
    ...(o.onRecord ? { onRecord: o.onRecord } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  loop.disable();
  const queueAfter = await Promise.all(o.urls.map((u) => scrapeQueue(u, o.headers)));
  const measured = result.records.filter((r) => r.measured).length;
  const client: ClientStats = {
    cpuUsPerRequest: result.clientCpuUs / Math.max(1, result.records.length),
    cpuShare: result.clientCpuUs / 1000 / Math.max(1, result.wallMs),
    eventLoopDelayP99Ms: Math.max(0, loop.percentile(99) / 1e6 - 10),
    eventLoopDelayMaxMs: Math.max(0, loop.max / 1e6 - 10),
  };
  const reports = targets.map((t, i) => {
    const meta = { url: t.url, model: t.model, stream: o.stream };
    const r = targetReport(result.records, i, result.windowMs[i] ?? 0, meta, o.slo);
    // Over the whole run (warm-up included): the server's histogram cannot tell them apart.
    const queue = queueBetween(queueBefore[i], queueAfter[i]);
    if (queue) r.serverQueue = queue;
    return r;
  });
  return { workload, result, reports, client, measured };
}

/** Combinations the flags alone cannot rule out. */
function checkBenchOptions(o: BenchOptions): void {
  if (o.urls.length < 1 || o.urls.length > 2) throw usage("give one --url, and at most one --compare");
  if (o.requests === undefined && o.durationMs === undefined)
    throw usage("give --requests N or --duration D");
  if (o.sweep && o.urls.length > 1)
    throw usage("--sweep and --compare do not go together: sweep each target on its own");
}

/** The model per target: given, or the first each server lists (a compared target keeps --model). */
async function modelsOf(o: BenchOptions): Promise<string[]> {
  const model = o.model ?? (await discoverModel(o.urls[0] as string, o.headers));
  if (o.urls.length <= 1) return [model];
  return [
    model,
    o.compareModel ?? (o.model === undefined ? await discoverModel(o.urls[1] as string, o.headers) : model),
  ];
}

/** The load mode at `v` (a sweep point), or at the load the options give. */
function modeOf(o: BenchOptions, v?: number): LoadMode {
  return "concurrency" in o.load
    ? { kind: "closed", concurrency: v ?? o.load.concurrency }
    : { kind: "open", rate: v ?? o.load.rate, arrivals: o.load.arrivals };
}

/** The settings the report repeats, in words. */
function settingsOf(o: BenchOptions, models: string[], base: LoadMode): Record<string, unknown> {
  const model = models[0];
  return {
    urls: o.urls,
    model: models.length > 1 && models[1] !== model ? models : model,
    api: o.api,
    stream: o.stream,
    ignoreEos: o.ignoreEos,
    load:
      base.kind === "open"
        ? `open loop, ${Number.isFinite(base.rate) ? `${base.rate} req/s ${base.arrivals}` : "all at once"}`
        : `closed loop, ${base.concurrency} concurrent`,
    ...(o.requests !== undefined ? { requests: o.requests } : { durationS: (o.durationMs ?? 0) / 1000 }),
    warmup: "sessions" in o.warmup ? `${o.warmup.sessions} requests` : `${o.warmup.ms / 1000} s`,
    seed: o.seed,
  };
}

/** One run per sweep point, in order, until the points run out or the run is aborted. */
async function runSweep(
  o: BenchOptions,
  sweepAt: number[],
  models: string[],
  settings: Record<string, unknown>,
  startedAt: string,
): Promise<BenchOutcome> {
  const points = [];
  let client: ClientStats | undefined;
  const records: RequestRecord[] = [];
  for (let i = 0; i < sweepAt.length; i++) {
    const v = sweepAt[i] as number;
    o.onPoint?.(v, i);
    const mode = modeOf(o, v);
    if (mode.kind === "open" && !Number.isFinite(mode.rate) && o.requests === undefined)
      throw usage("--sweep with inf needs --requests, not --duration");
    const run = await runOnce(o, models, mode, o.seed);
    settings.workload = run.workload.description;
    points.push({ load: v, target: run.reports[0] as BenchReport["targets"][number] });
    client = run.client;
    if (o.records) records.push(...run.result.records.map((r) => ({ ...r, sweepLoad: v })));
    if (o.signal?.aborted) break;
  }
  const sweep = sweepReport("concurrency" in o.load ? "concurrency" : "rate", points);
  const report: BenchReport = {
    tool: "inferplane bench",
    startedAt,
    settings: { ...settings, sweep: sweepAt.map((v) => (Number.isFinite(v) ? v : "inf")) },
    targets: points.map((p) => p.target),
    client: client as ClientStats,
    ...(o.records ? { records } : {}),
  };
  return { report, sweep };
}

export async function runBench(o: BenchOptions): Promise<BenchOutcome> {
  checkBenchOptions(o);
  const models = await modelsOf(o);
  const startedAt = new Date().toISOString();
  const base = modeOf(o);
  if (base.kind === "open" && !Number.isFinite(base.rate) && o.requests === undefined)
    throw usage("--rate inf sends every request at once: give --requests, not --duration");
  const settings = settingsOf(o, models, base);
  if (o.sweep) return runSweep(o, o.sweep, models, settings, startedAt);
  const run = await runOnce(o, models, base, o.seed);
  settings.workload = run.workload.description;
  const report: BenchReport = {
    tool: "inferplane bench",
    startedAt,
    settings,
    targets: run.reports,
    client: run.client,
    ...(o.records ? { records: run.result.records } : {}),
  };
  return { report };
}
