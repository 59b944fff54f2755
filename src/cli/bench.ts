/**
 * `inferplane bench`: flags → BenchOptions (src/bench/run.ts), then the report: live progress on
 * a TTY (quiet otherwise), the final table, and the files asked for (--json, --md, --chart).
 */
import { EXIT_STATUSES, InferplaneError } from "../errors.js";
import { renderTable } from "../report/table.js";
import type { CliIO } from "./io.js";

export interface BenchCliOptions {
  url?: string;
  model?: string;
  api?: string;
  stream?: boolean;
  ignoreEos?: boolean;
  rate?: string;
  arrivals?: string;
  concurrency?: string;
  requests?: string;
  duration?: string;
  warmup?: string;
  workload?: string;
  inputTokens?: string;
  outputTokens?: string;
  prefixes?: string;
  prefixTokens?: string;
  turns?: string;
  thinkTime?: string;
  dataset?: string;
  slo?: string;
  seed?: string;
  header?: string[];
  apiKey?: string;
  extraBody?: string;
  timeout?: string;
  json?: string | boolean;
  records?: boolean;
  md?: string;
  compare?: string;
  compareModel?: string;
  sweep?: string;
  chart?: string;
  selfTest?: boolean;
}

const usage = (m: string) => new InferplaneError("usage", m);

function int(flag: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < min)
    throw usage(`--${flag} must be an integer ≥ ${min}, got "${v}"`);
  return n;
}

/** `60`, `60s`, `500ms`, `2m` → ms. */
export function durationMs(flag: string, v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(v);
  if (!m) throw usage(`--${flag} must be a duration such as 60s, 500ms or 2m, got "${v}"`);
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
}

function rateOf(flag: string, v: string): number {
  if (/^\s*inf(inity)?\s*$/i.test(v)) return Number.POSITIVE_INFINITY;
  const n = Number(v);
  if (v.trim() === "" || !(n > 0) || !Number.isFinite(n))
    throw usage(`--${flag} must be a positive number or inf, got "${v}"`);
  return n;
}

type BenchOptions = import("../bench/run.js").BenchOptions;
type ParseLength = typeof import("../bench/workload.js").parseLength;

/** --url and --compare: present where required, and http(s); returns --url. */
function checkUrls(o: BenchCliOptions): string {
  if (!o.url) throw usage("--url is required (the server's base URL, e.g. http://127.0.0.1:8000)");
  if (o.compareModel && !o.compare) throw usage("--compare-model goes with --compare URL");
  for (const [flag, u] of [
    ["url", o.url],
    ["compare", o.compare],
  ] as const) {
    if (u === undefined) continue;
    try {
      const p = new URL(u);
      if (p.protocol !== "http:" && p.protocol !== "https:") throw new Error("not http(s)");
    } catch {
      throw usage(`--${flag} must be an http(s) URL, got "${u}"`);
    }
  }
  return o.url;
}

function apiOf(o: BenchCliOptions): BenchOptions["api"] {
  const api = o.api ?? "chat";
  if (api !== "chat" && api !== "completions") throw usage(`--api must be chat or completions, got "${api}"`);
  return api;
}

/** Open loop (--rate, --arrivals) or closed loop (--concurrency), never both. */
function loadOf(o: BenchCliOptions): BenchOptions["load"] {
  if (o.rate !== undefined && o.concurrency !== undefined)
    throw usage("--rate (open loop) and --concurrency (closed loop) exclude each other");
  const arrivals = o.arrivals ?? "poisson";
  if (arrivals !== "poisson" && arrivals !== "uniform")
    throw usage(`--arrivals must be poisson or uniform, got "${arrivals}"`);
  const concurrency = int("concurrency", o.concurrency);
  return concurrency !== undefined
    ? { concurrency }
    : { rate: rateOf("rate", o.rate ?? "inf"), arrivals: arrivals as "poisson" | "uniform" };
}

/** --requests or --duration (100 requests when neither is given). */
function requestsOf(o: BenchCliOptions): number | undefined {
  if (o.requests !== undefined && o.duration !== undefined)
    throw usage("give --requests or --duration, not both");
  return int("requests", o.requests) ?? (o.duration === undefined ? 100 : undefined);
}

/** --warmup: a bare count is sessions, anything else a duration. */
function warmupOf(o: BenchCliOptions): BenchOptions["warmup"] {
  const warm = o.warmup ?? "10";
  return /^\s*\d+\s*$/.test(warm) ? { sessions: Number(warm) } : { ms: durationMs("warmup", warm) };
}

function workloadOf(o: BenchCliOptions, parseLength: ParseLength): BenchOptions["workload"] {
  const kind = o.workload ?? "random";
  const output = parseLength("output-tokens", o.outputTokens ?? "179");
  switch (kind) {
    case "random":
      return { kind, input: parseLength("input-tokens", o.inputTokens ?? "202"), output };
    case "shared-prefix":
      return {
        kind,
        prefixes: int("prefixes", o.prefixes ?? "16") as number,
        prefixTokens: int("prefix-tokens", o.prefixTokens ?? "1500") as number,
        input: parseLength("input-tokens", o.inputTokens ?? "150"),
        output: parseLength("output-tokens", o.outputTokens ?? "120"),
        turns: parseLength("turns", o.turns ?? "1"),
        thinkMs: durationMs("think-time", o.thinkTime ?? "0"),
      };
    case "sharegpt":
    case "jsonl":
      if (!o.dataset) throw usage(`--workload ${kind} needs --dataset FILE`);
      return { kind, path: o.dataset, output };
    default:
      throw usage(`--workload must be random, shared-prefix, sharegpt or jsonl, got "${kind}"`);
  }
}

/** --header NAME: VALUE (names lower-cased) and --api-key as a bearer token. */
function headersOf(o: BenchCliOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const h of o.header ?? []) {
    const i = h.indexOf(":");
    if (i <= 0) throw usage(`--header must be NAME: VALUE, got "${h}"`);
    headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
  }
  if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
  return headers;
}

function extraBodyOf(o: BenchCliOptions): Record<string, unknown> {
  if (o.extraBody === undefined) return {};
  let extraBody: Record<string, unknown>;
  try {
    extraBody = JSON.parse(o.extraBody) as Record<string, unknown>;
  } catch (err) {
    throw usage(`--extra-body must be a JSON object: ${(err as Error).message}`);
  }
  if (extraBody === null || typeof extraBody !== "object" || Array.isArray(extraBody))
    throw usage("--extra-body must be a JSON object");
  return extraBody;
}

/** --sweep: concurrencies in a closed loop, rates in an open one. */
function sweepOf(o: BenchCliOptions, load: BenchOptions["load"]): number[] | undefined {
  const closed = "concurrency" in load;
  const sweep = o.sweep
    ?.split(",")
    .map((v) => (closed ? (int("sweep", v.trim()) as number) : rateOf("sweep", v)));
  if (sweep !== undefined && sweep.length === 0) throw usage("--sweep lists no value");
  return sweep;
}

/** Flags → options; throws `usage` errors naming the flag. */
export async function benchOptionsFromFlags(o: BenchCliOptions): Promise<BenchOptions> {
  const { parseLength } = await import("../bench/workload.js");
  const { parseSlo } = await import("../bench/slo.js");
  const url = checkUrls(o);
  const api = apiOf(o);
  const load = loadOf(o);
  const requests = requestsOf(o);
  const warmup = warmupOf(o);
  const workload = workloadOf(o, parseLength);
  const headers = headersOf(o);
  const extraBody = extraBodyOf(o);
  const sweep = sweepOf(o, load);
  const seed = int("seed", o.seed ?? "1", 0) as number;
  return {
    urls: o.compare ? [url, o.compare] : [url],
    ...(o.model ? { model: o.model } : {}),
    ...(o.compareModel ? { compareModel: o.compareModel } : {}),
    api,
    stream: o.stream !== false,
    ignoreEos: o.ignoreEos === true,
    headers,
    extraBody,
    timeoutMs: durationMs("timeout", o.timeout ?? "600s"),
    load,
    ...(requests !== undefined ? { requests } : {}),
    ...(o.duration !== undefined ? { durationMs: durationMs("duration", o.duration) } : {}),
    warmup,
    workload,
    ...(o.slo !== undefined ? { slo: parseSlo(o.slo) } : {}),
    seed,
    ...(sweep ? { sweep } : {}),
    records: o.records === true,
  };
}

export async function benchCommand(o: BenchCliOptions, io: CliIO): Promise<number> {
  if (o.selfTest) return selfTestCommand(io);
  const options = await benchOptionsFromFlags(o);
  const { runBench } = await import("../bench/run.js");
  const { Progress } = await import("../bench/progress.js");
  const report = await import("../bench/report.js");
  const { writeFileAtomic } = await import("../bench/files.js");
  if (o.records && (o.json === undefined || o.json === true))
    throw usage("--records goes into the --json FILE: give one");
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once("SIGINT", onSignal);
  let progress: InstanceType<typeof Progress> | undefined;
  const total =
    options.requests !== undefined
      ? (options.requests + ("sessions" in options.warmup ? options.warmup.sessions : 0)) *
        options.urls.length
      : undefined;
  try {
    if (io.isTTY && !options.sweep) progress = new Progress(io.err, total).start();
    const outcome = await runBench({
      ...options,
      signal: ac.signal,
      ...(io.isTTY
        ? {
            onPoint: (v: number, i: number) => {
              if (!options.sweep) return;
              progress?.stop();
              const label = `[${i + 1}/${options.sweep.length}] ${Number.isFinite(v) ? v : "inf"}: `;
              progress = new Progress(io.err, total, label).start();
            },
            onRecord: (r) => progress?.onRecord(r),
          }
        : {}),
    });
    progress?.stop();
    const { report: rep, sweep } = outcome;
    if (o.json === true) {
      io.out(JSON.stringify(rep, null, 2));
    } else {
      io.out(`${rep.settings.workload}`);
      if (sweep) io.out(renderTable(sweep.header, sweep.rows));
      else {
        const { header, rows } = report.tableData(rep);
        io.out(renderTable(header, rows));
      }
      io.out(report.clientLine(rep.client));
    }
    if (typeof o.json === "string") writeFileAtomic(o.json, `${JSON.stringify(rep, null, 2)}\n`);
    if (o.md) writeFileAtomic(o.md, report.markdownReport(rep, sweep));
    if (sweep) {
      const { sweepSvg } = await import("../bench/svg.js");
      const chart = o.chart ?? "bench-sweep.svg";
      writeFileAtomic(chart, sweepSvg(sweep));
      if (o.json !== true) io.out(`chart: ${chart}`);
    }
    const failed = rep.targets.every((t) => t.requests.ok === 0);
    if (failed) {
      io.err(`✖ every request failed: ${rep.targets[0]?.requests.firstError ?? "unknown error"}`);
      return EXIT_STATUSES.failures_found;
    }
    return ac.signal.aborted ? EXIT_STATUSES.interrupted : EXIT_STATUSES.ok;
  } finally {
    progress?.stop();
    process.off("SIGINT", onSignal);
  }
}

async function selfTestCommand(io: CliIO): Promise<number> {
  const { selfTest } = await import("../bench/self-test.js");
  const { fmt } = await import("../bench/report.js");
  const rows = await selfTest({ requests: 20_000, onStep: (n) => io.isTTY && io.err(`… ${n}`) });
  io.out("Client overhead against a zero-latency `inferplane sim` (TTFT 0, ITL 0) in its own process:");
  io.out(
    renderTable(
      [
        "Case",
        "ok",
        "req/s",
        "TTFT p50 ms",
        "ITL p50 ms",
        "E2E p50 ms",
        "E2E p99 ms",
        "client CPU µs/req",
        "sim CPU µs/req",
      ],
      rows.map((r) => [
        r.name,
        String(r.requests),
        fmt(r.requestThroughput, 0),
        fmt(r.ttftP50Ms, 3),
        fmt(r.itlP50Ms, 3),
        fmt(r.e2eP50Ms, 3),
        fmt(r.e2eP99Ms, 3),
        fmt(r.clientCpuUsPerRequest, 1),
        fmt(r.serverCpuUsPerRequest, 1),
      ]),
    ),
  );
  const first = rows[0];
  if (first) {
    io.out(
      `One client process: ${fmt(first.requestThroughput, 0)} non-streaming req/s, ${fmt(1e6 / first.clientCpuUsPerRequest, 0)} req/s per core of client CPU.`,
    );
  }
  return 0;
}
