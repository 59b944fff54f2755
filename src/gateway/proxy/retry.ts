/**
 * Retries inside one pool. An endpoint is tried at most once per request. Retries after a
 * refused connection are free (the engine never saw the request); retries after an engine's
 * error or silence use one of `gateway.retries.attempts` (per pool) and one token of the retry
 * budget (per gateway). Without a budget token the request stops and the client gets the last
 * real failure; with no attempt left the next route of the chain gets its turn.
 */
import type { RouteSpec } from "../../spec/schema.js";
import type { EndpointState } from "../types.js";
import type { UpstreamPool } from "../upstream/pool.js";
import type { Exchange } from "./exchange.js";
import { type Failure, gatewayFailure, nextAfter, worse } from "./failure.js";
import type { AttemptHandler, AttemptResult } from "./layers.js";
import type { RetryBudget } from "./retry-budget.js";

/** State shared by every pool of one request's chain. */
export interface ChainState {
  /** The failure to report if nothing succeeds. */
  last: Failure | undefined;
  /** No attempt was made yet. */
  first: boolean;
  /** The previous attempt failed in a way that makes the next one free. */
  free: boolean;
}

export type PoolOutcome = "done" | "aborted" | "next-route" | "stop" | "context";

export interface RetryDeps {
  budget: RetryBudget;
  /** Counted retries per pool (`gateway.retries.attempts`). */
  retries: number;
  /** Base backoff before a counted retry, doubled per counted retry in the pool (free ones wait not). */
  backoffMs: number;
  isContextLength(status: number, body: Buffer): boolean;
  onRetry?(ex: Exchange, pool: UpstreamPool): void;
  onPick?(ep: EndpointState): void;
}

export async function tryPool(
  ex: Exchange,
  route: RouteSpec,
  pool: UpstreamPool,
  st: ChainState,
  attempt: AttemptHandler,
  deps: RetryDeps,
): Promise<PoolOutcome> {
  const tried = new Set<string>();
  let counted = 0;
  let fresh = true; // first try in this pool
  for (;;) {
    if (ex.signal.aborted) return "aborted";
    const gate = retryGate(st, fresh, counted, deps);
    if (gate === "wait") {
      counted++;
      await backoff(deps.backoffMs * 2 ** (counted - 1), ex);
      if (ex.signal.aborted) return "aborted";
    } else if (gate !== "go") return gate;
    if (!st.first) deps.onRetry?.(ex, pool);
    ex.attemptKind = st.first ? "first" : fresh && ex.route !== route ? "fallback" : "retry";
    let ep: EndpointState;
    try {
      ep = await pool.acquire(tried, ex.prefixKey);
    } catch (err) {
      st.last = worse(st.last, gatewayFailure(err));
      return "next-route"; // this pool can take nothing more
    }
    st.first = false;
    fresh = false;
    tried.add(ep.id);
    noteAttempt(ex, pool, ep, deps);
    const r = await attempt(ex, { route, pool, ep, kind: ex.attemptKind });
    const outcome = afterAttempt(r, st, deps);
    if (outcome !== undefined) return outcome;
  }
}

/**
 * Whether this pool may make its next attempt: "go" now, "wait" for the backoff of a counted
 * retry, or the outcome that ends the pool. Every try after the request's first, unless the
 * failure before it was free, spends a budget token; only a retry inside this pool (not its first
 * try) also spends one of its attempts and waits a backoff.
 */
function retryGate(
  st: ChainState,
  fresh: boolean,
  counted: number,
  deps: RetryDeps,
): "go" | "wait" | "next-route" | "stop" {
  if (st.first || st.free) return "go";
  if (!fresh && counted >= deps.retries) return "next-route";
  if (!deps.budget.tryRetry(Date.now())) return "stop";
  return fresh ? "go" : "wait";
}

/** Records the endpoint picked for this attempt on the exchange. */
function noteAttempt(ex: Exchange, pool: UpstreamPool, ep: EndpointState, deps: RetryDeps): void {
  deps.onPick?.(ep);
  ex.endpoint = ep;
  ex.lastPool = pool.info.name;
  ex.attempts++;
}

/** The outcome an attempt's result ends the pool with, or undefined to try again (st updated). */
function afterAttempt(r: AttemptResult, st: ChainState, deps: RetryDeps): PoolOutcome | undefined {
  if (r.kind === "done") return "done";
  if (r.kind === "aborted") return "aborted";
  if (r.kind === "unservable") return "next-route";
  st.last = worse(st.last, r.failure);
  const next = nextAfter(r.failure, () =>
    r.failure.kind === "answer"
      ? deps.isContextLength(r.failure.answer.status, r.failure.answer.body)
      : false,
  );
  if (next.to === "client") return "stop";
  if (next.to === "context") return "context";
  st.free = next.free;
  return undefined;
}

/** Waits before a counted retry; a cancelled exchange stops waiting. */
function backoff(ms: number, ex: Exchange): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      ex.signal.off("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    ex.signal.once("abort", done);
  });
}
