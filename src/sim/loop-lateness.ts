/**
 * How late this process's event loop runs timers, read without the sampler's own interval.
 *
 * `perf_hooks.monitorEventLoopDelay` ticks a libuv timer every `resolution` ms and records the
 * time between ticks; prom-client's `nodejs_eventloop_lag_*` gauges use a 5 ms resolution, so
 * they read ≥ 5 ms on an idle process. Here the resolution is 1 ms and every figure is the
 * recorded interval less that 1 ms: the time the timer fired after it was due, i.e. how long the
 * turn of the event loop it waited behind took (plus libuv's 1 ms clock granularity, which an
 * idle process reads as its floor). Two monitors, because Node cannot add an interval histogram
 * to another: `total` since the process's first read (or the last reset of everything), `window`
 * since the last window reset. One reading per process, shared by every replica it runs.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";

export const LATENESS_RESOLUTION_MS = 1;

/** One histogram's lateness figures, ms (interval − resolution, never below 0). */
export interface LatenessStats {
  /** Timer ticks recorded. */
  samples: number;
  /** Wall ms the histogram covers. */
  spanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

export interface LatenessReading {
  resolutionMs: number;
  /** Since the last window reset (or the first read). */
  window: LatenessStats;
  /** Since the first read (or the last reset of everything). */
  total: LatenessStats;
}

interface Monitor {
  h: IntervalHistogram;
  since: number;
}

let monitors: { window: Monitor; total: Monitor } | undefined;

function start(): { window: Monitor; total: Monitor } {
  if (monitors) return monitors;
  const make = (): Monitor => {
    const h = monitorEventLoopDelay({ resolution: LATENESS_RESOLUTION_MS });
    h.enable();
    return { h, since: performance.now() };
  };
  monitors = { window: make(), total: make() };
  return monitors;
}

const late = (ns: number): number => Math.max(0, ns / 1e6 - LATENESS_RESOLUTION_MS);
const round = (x: number): number => Math.round(x * 1000) / 1000;

export function latenessStats(m: Monitor): LatenessStats {
  const h = m.h;
  const n = h.count;
  return {
    samples: n,
    spanMs: round(performance.now() - m.since),
    p50Ms: n ? round(late(h.percentile(50))) : 0,
    p90Ms: n ? round(late(h.percentile(90))) : 0,
    p99Ms: n ? round(late(h.percentile(99))) : 0,
    p999Ms: n ? round(late(h.percentile(99.9))) : 0,
    maxMs: n ? round(late(h.max)) : 0,
    meanMs: n ? round(late(h.mean)) : 0,
  };
}

/** Current figures; the first call starts the monitors. */
export function readLateness(): LatenessReading {
  const m = start();
  return {
    resolutionMs: LATENESS_RESOLUTION_MS,
    window: latenessStats(m.window),
    total: latenessStats(m.total),
  };
}

/**
 * Reads, then resets the window (`all`: the total too), in one call so that no tick falls
 * between the reading and the reset. Returns the reading taken just before the reset.
 */
export function resetLateness(all = false): LatenessReading {
  const reading = readLateness();
  const m = start();
  const now = performance.now();
  m.window.h.reset();
  m.window.since = now;
  if (all) {
    m.total.h.reset();
    m.total.since = now;
  }
  return reading;
}
