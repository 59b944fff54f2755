/**
 * The fallback chain: the asked route, then its `fallbacks` (depth first), each through its
 * own pool with `tryPool`; a context-length error switches to the `contextFallback` chain. A
 * request that never streamed gets every healthy endpoint of every pool of the chain (within
 * the attempts and the budget) before the client hears of a failure, and then the last real one.
 */
import type { RouteSpec } from "../../spec/schema.js";
import type { Router } from "../routing/router.js";
import type { UpstreamPool } from "../upstream/pool.js";
import type { Exchange } from "./exchange.js";
import type { AttemptHandler, Handler } from "./layers.js";
import { replyAborted, replyFailure } from "./respond.js";
import { type ChainState, type RetryDeps, tryPool } from "./retry.js";

export interface ChainDeps extends RetryDeps {
  router: Router;
  pools: ReadonlyMap<string, UpstreamPool>;
  onFallback?(ex: Exchange, from: RouteSpec, to: RouteSpec): void;
}

/** The innermost request handler: walks the chain, trying pools through `attempt`. */
export function fallbackChain(deps: (ex: Exchange) => ChainDeps, attempt: AttemptHandler): Handler {
  return (ex) => walkChain(ex, deps, attempt);
}

async function walkChain(
  ex: Exchange,
  deps: (ex: Exchange) => ChainDeps,
  attempt: AttemptHandler,
): Promise<void> {
  const route = ex.route as RouteSpec;
  const d = deps(ex);
  let chain: readonly RouteSpec[] = [route, ...d.router.fallbacks(route, "retryable")];
  const st: ChainState = { last: undefined, first: true, free: false };
  for (let i = 0; i < chain.length; i++) {
    const r = chain[i] as RouteSpec;
    if (i > 0) d.onFallback?.(ex, route, r);
    const pool = d.pools.get(d.router.pickTarget(r, { user: userOf(ex.body), headers: ex.headers }));
    if (!pool) continue;
    const outcome = await tryPool(ex, r, pool, st, attempt, d);
    if (outcome === "done") return;
    if (outcome === "aborted") return replyAborted(ex);
    if (outcome === "stop") break;
    if (outcome === "context") {
      const longer = d.router.fallbacks(r, "context-length");
      if (longer.length === 0) break;
      chain = [...chain.slice(0, i + 1), ...longer];
    }
  }
  if (ex.signal.aborted) return replyAborted(ex);
  ex.routeLabel = route.name;
  replyFailure(ex, st.last, route.name);
}

function userOf(body: Record<string, unknown>): string | undefined {
  return typeof body.user === "string" ? body.user : undefined;
}
