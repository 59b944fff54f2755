/**
 * A raw HTTP load generator (any method and path, e.g. GET /health; `inferplane bench` is the LLM
 * one) that runs in its own process (pinned to its own CPU), so that it never shares an event
 * loop with the server it measures. Two modes, both bounded in time:
 *
 * - `open`: requests are sent at scheduled moments (Poisson or uniform arrivals at `rate`/s),
 *   whatever the server does — an open loop, so a slow server does not slow the offered load.
 *   Latency is timed from the moment a request is handed to the client (undici) to the last
 *   byte of its response; how late each send was against its schedule is reported apart
 *   (`lagMs`), so timer slop in this process is visible and not mixed into the server's latency.
 * - `closed`: `connections` workers each send the next request when the previous one is done.
 *
 * Keep-alive connections through undici's Pool. Run as a script with one JSON argument
 * (LoadOptions) it prints a LoadResult as JSON; `runLoad` spawns it that way.
 *
 *   node --import tsx bench/lib/load-gen.ts '{"mode":"open","url":"http://127.0.0.1:8000/v1/chat/completions",...}'
 */
import { pathToFileURL } from "node:url";
import { Pool } from "undici";
import { percentileSorted } from "../../src/bench/stats.js";
import { rng } from "../../src/sim/model/workload.js";
import { ROOT, runToEnd } from "./procs.js";

export interface LoadOptions {
  mode: "open" | "closed";
  /** Full URL to send to. */
  url: string;
  /** Default POST (with `body`); GET sends no body. */
  method?: "GET" | "POST";
  headers: Record<string, string>;
  body: string;
  /** Open loop: requests per second. */
  rate?: number;
  arrivals?: "poisson" | "uniform";
  /** Measured seconds (after the warm-up). */
  durationS: number;
  /** Seconds of load before measuring (discarded). */
  warmupS: number;
  /** Closed loop: concurrent workers. Open loop: the most connections the client may open. */
  connections: number;
  seed?: number;
  /** Per-request timeout, ms (default 10 s). */
  timeoutMs?: number;
  /** Requests slower than this (ms) are listed in `slow` with their send time (default 20). */
  slowMs?: number;
}

export interface LoadResult {
  mode: "open" | "closed";
  /** Requests started in the measured window, and how they ended. */
  sent: number;
  ok: number;
  non2xx: number;
  errors: number;
  firstError?: string;
  /** Completed requests per second of the measured window. */
  rps: number;
  /** Latency of each successful request of the window, ms (3 decimals). */
  latenciesMs: number[];
  /** Open loop: how late sends were against their schedule, ms (p50, p99, max). */
  lagMs?: { p50: number; p99: number; max: number };
  /** Values of an `x-inferplane-overhead-ms` response header, when the server sent one. */
  overheadHeaderMs: number[];
  /** Measured requests slower than `slowMs`: [seconds since the window opened, latency ms]. */
  slow: [number, number][];
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

export async function generateLoad(o: LoadOptions): Promise<LoadResult> {
  const target = new URL(o.url);
  const path = target.pathname + target.search;
  const timeout = o.timeoutMs ?? 10_000;
  const pool = new Pool(target.origin, {
    connections: o.connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: timeout,
    bodyTimeout: timeout,
  });
  const method = o.method ?? "POST";
  const headers: Record<string, string> =
    method === "POST" ? { "content-type": "application/json", ...o.headers } : { ...o.headers };
  const body = method === "POST" ? o.body : null;
  const lat: number[] = [];
  const overhead: number[] = [];
  const lags: number[] = [];
  const slow: [number, number][] = [];
  const slowMs = o.slowMs ?? 20;
  let sent = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let firstError: string | undefined;
  let inFlight = 0;
  let idle: (() => void) | undefined;

  const t0 = performance.now() + 20;
  const measureFrom = t0 + o.warmupS * 1000;
  const end = measureFrom + o.durationS * 1000;

  const one = async (measured: boolean): Promise<void> => {
    inFlight++;
    if (measured) sent++;
    const start = performance.now();
    try {
      const res = await pool.request({ method, path, headers, body });
      const h = res.headers["x-inferplane-overhead-ms"];
      for await (const _ of res.body) {
        // read to the last byte
      }
      const ms = performance.now() - start;
      if (measured) {
        if (res.statusCode >= 200 && res.statusCode < 300) {
          ok++;
          lat.push(r3(ms));
          if (ms > slowMs) slow.push([r3((start - measureFrom) / 1000), r3(ms)]);
          if (typeof h === "string") overhead.push(Number(h));
        } else {
          non2xx++;
          firstError ??= `HTTP ${res.statusCode}`;
        }
      }
    } catch (err) {
      if (measured) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    } finally {
      inFlight--;
      if (inFlight === 0) idle?.();
    }
  };

  if (o.mode === "open") {
    const rate = o.rate ?? 100;
    const rand = rng(o.seed ?? 1);
    const gap = () => (o.arrivals === "uniform" ? 1000 / rate : (-Math.log(1 - rand()) * 1000) / rate);
    let next = t0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        while (next <= now && next < end) {
          const measured = next >= measureFrom;
          if (measured) lags.push(now - next);
          void one(measured);
          next += gap();
        }
        if (next >= end) resolve();
        else setTimeout(tick, Math.max(0, next - performance.now()));
      };
      setTimeout(tick, Math.max(0, t0 - performance.now()));
    });
  } else {
    await new Promise((r) => setTimeout(r, Math.max(0, t0 - performance.now())));
    await Promise.all(
      Array.from({ length: o.connections }, async () => {
        for (;;) {
          const now = performance.now();
          if (now >= end) return;
          await one(now >= measureFrom);
        }
      }),
    );
  }
  // Let the last requests finish (bounded), then close.
  if (inFlight > 0) {
    await Promise.race([
      new Promise<void>((r) => {
        idle = r;
      }),
      new Promise((r) => setTimeout(r, timeout + 1_000)),
    ]);
  }
  await pool.destroy();
  const sortedLag = [...lags].sort((a, b) => a - b);
  return {
    mode: o.mode,
    sent,
    ok,
    non2xx,
    errors,
    ...(firstError ? { firstError } : {}),
    rps: ok / o.durationS,
    latenciesMs: lat,
    ...(o.mode === "open"
      ? {
          lagMs: {
            p50: r3(percentileSorted(sortedLag, 50)),
            p99: r3(percentileSorted(sortedLag, 99)),
            max: r3(sortedLag[sortedLag.length - 1] ?? Number.NaN),
          },
        }
      : {}),
    overheadHeaderMs: overhead,
    slow,
  };
}

/** Runs the generator in its own process, pinned to `cpu` when given. */
export async function runLoad(o: LoadOptions, cpu?: string): Promise<LoadResult> {
  const budget = (o.warmupS + o.durationS) * 1000 + (o.timeoutMs ?? 10_000) + 30_000;
  const res = await runToEnd(
    process.execPath,
    ["--import", "tsx", `${ROOT}bench/lib/load-gen.ts`, JSON.stringify(o)],
    { ...(cpu ? { cpu } : {}), timeoutMs: budget },
  );
  if (res.code !== 0) throw new Error(`load generator failed (${res.code}): ${res.stderr}`);
  return JSON.parse(res.stdout) as LoadResult;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = process.argv[2];
  if (!arg) {
    process.stderr.write("usage: load-gen.ts '<LoadOptions as JSON>'\n");
    process.exit(2);
  }
  const result = await generateLoad(JSON.parse(arg) as LoadOptions);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
