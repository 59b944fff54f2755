/**
 * Outlier detection (passive health checking) in Envoy's vocabulary, as pure functions over a
 * pool's `EndpointState`s: no clock, no timers, no I/O. The proxy calls `recordSuccess` /
 * `recordFailure` after each attempt; the balancer's candidate filter calls `isAvailable`; the
 * health checker calls `uneject` and `decayEjections` on its interval.
 *
 * Semantics (envoyproxy/envoy `source/common/upstream/outlier_detection_impl.cc`,
 * `api/envoy/config/cluster/v3/outlier_detection.proto`):
 * - `consecutive5xx` failures in a row (5xx, connect errors, timeouts) eject the endpoint; the
 *   counter resets on any success and after every detection, ejected or not.
 * - An ejection lasts `baseEjectionTime × n`, n being the endpoint's ejection count including
 *   this one, capped at `maxEjectionTime`. The count stops growing once the cap is reached and
 *   decays by one for every interval the endpoint spends in service (Envoy's backoff decay), so
 *   an endpoint that recovered for good gets short ejections again.
 * - An endpoint is back in service once its ejection time has passed (Envoy returns hosts on
 *   time); the health checker additionally probes it then and `uneject`s it on a pass (or marks it
 *   unhealthy on a failure, which keeps it out).
 * - `maxEjectionPercent` bounds how much of a pool is ejected at once: Envoy ejects when
 *   (ejected + 1) / pool ≤ max%.
 *
 * DECISION — at least one: with Envoy's default of 10 %, a pool of fewer than 10 endpoints could
 * never eject anything under that rule (one of 4 is 25 %), which would switch outlier detection
 * off for almost every LLM pool (2–8 replicas). Envoy's own history: before ~1.20 it always
 * ejected the first host ("If no hosts have been ejected, Envoy will eject the host
 * immediately"), the proto still documents max_ejection_percent as "will eject at least one host
 * regardless of the value", the code later enforced the percentage strictly, and 1.31 added
 * `always_eject_one_host` to bring the old behaviour back as an option; gRPC's outlier detection
 * also allows one ejection past the maximum. We behave like Envoy with `always_eject_one_host:
 * true`, restricted to pools of at least 2: a pool may always have one endpoint ejected, more only
 * within `maxEjectionPercent`. A pool of one never ejects its only endpoint (there is nowhere else
 * to send its traffic; route fallbacks still apply per request), and `maxEjectionPercent: 0`
 * turns ejection off.
 */
import type { EndpointState } from "../types.js";

/** `gateway.outlierDetection` of the spec (the parsed spec object can be passed as is). */
export interface OutlierConfig {
  /** Failures in a row that eject an endpoint (Envoy consecutive_5xx). */
  consecutive5xx: number;
  /** First ejection, ms; multiplied by the ejection count. */
  baseEjectionTime: number;
  /** Cap on one ejection, ms. */
  maxEjectionTime: number;
  /** Most of a pool ejected at once, percent (at least one endpoint of a pool of ≥ 2). */
  maxEjectionPercent: number;
  /** Sweep interval, ms: the health checker's period, and the ejection-count decay step. */
  interval?: number;
}

/** Envoy's defaults. */
export const DEFAULT_OUTLIER_CONFIG: Readonly<Required<OutlierConfig>> = Object.freeze({
  consecutive5xx: 5,
  interval: 10_000,
  baseEjectionTime: 30_000,
  maxEjectionTime: 300_000,
  maxEjectionPercent: 10,
});

/** A request to the endpoint succeeded: the failure streak ends. */
export function recordSuccess(ep: EndpointState): void {
  ep.consecutiveFailures = 0;
}

/**
 * A request to the endpoint failed (5xx, connect error, timeout). Returns true when this failure
 * ejected it. Failures of an endpoint that is already ejected (requests that were in flight) are
 * ignored.
 */
export function recordFailure(
  ep: EndpointState,
  pool: readonly EndpointState[],
  now: number,
  cfg: OutlierConfig,
): boolean {
  if (ep.ejectedUntil > now) return false;
  ep.consecutiveFailures++;
  if (ep.consecutiveFailures < cfg.consecutive5xx) return false;
  // Detected: reset the streak whether or not the ejection is allowed (as Envoy does).
  ep.consecutiveFailures = 0;
  if (!mayEject(ep, pool, now, cfg)) return false;
  const n = ep.ejections + 1;
  ep.ejectedUntil = now + ejectionDuration(n, cfg);
  // Stop growing the count once the cap is reached, so that decay brings it down in a few steps.
  if (ep.ejections < maxUsefulEjections(cfg)) ep.ejections = n;
  return true;
}

/** Duration of an endpoint's `n`-th ejection (n ≥ 1), ms: base × n, capped. */
export function ejectionDuration(n: number, cfg: OutlierConfig): number {
  const cap = Math.max(cfg.maxEjectionTime, cfg.baseEjectionTime); // Envoy: whichever is larger
  return Math.min(cfg.baseEjectionTime * Math.max(1, n), cap);
}

/** The ejection count beyond which durations no longer grow. */
function maxUsefulEjections(cfg: OutlierConfig): number {
  if (cfg.baseEjectionTime <= 0) return 1;
  return Math.max(1, Math.ceil(cfg.maxEjectionTime / cfg.baseEjectionTime));
}

/** How many endpoints of a pool of `size` may be ejected at once. */
export function maxEjected(size: number, maxEjectionPercent: number): number {
  if (size < 2 || maxEjectionPercent <= 0) return 0;
  return Math.max(1, Math.floor((size * Math.min(100, maxEjectionPercent)) / 100 + 1e-9));
}

/** Whether ejecting `ep` now keeps the pool within its ejection budget. */
function mayEject(
  ep: EndpointState,
  pool: readonly EndpointState[],
  now: number,
  cfg: OutlierConfig,
): boolean {
  let ejected = 0;
  let size = 0;
  let member = false;
  for (const e of pool) {
    size++;
    if (e === ep || e.id === ep.id) member = true;
    else if (e.ejectedUntil > now) ejected++;
  }
  if (!member) size++; // an endpoint being removed from the pool still counts itself
  return ejected + 1 <= maxEjected(size, cfg.maxEjectionPercent);
}

/** Whether the endpoint may take requests: healthy and not (or no longer) ejected. */
export function isAvailable(ep: EndpointState, now: number): boolean {
  return ep.healthy && ep.ejectedUntil <= now;
}

/** Whether the endpoint is ejected now. */
export function isEjected(ep: EndpointState, now: number): boolean {
  return ep.ejectedUntil > now;
}

/** Returns the endpoint to service now, with a clean failure streak; its ejection count stays. */
export function uneject(ep: EndpointState): void {
  ep.ejectedUntil = 0;
  ep.consecutiveFailures = 0;
}

/**
 * One interval's decay (Envoy's backoff decay): an endpoint in service for a whole interval
 * loses one from its ejection count. Called by the health checker once per interval.
 */
export function decayEjections(ep: EndpointState, now: number): void {
  if (ep.ejections > 0 && ep.ejectedUntil <= now) ep.ejections--;
}
