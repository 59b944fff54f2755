/**
 * Forwarding one API request, composed from layers around one dispatch (see layers.ts):
 *
 *   accounting → resolve → request span → total timeout → fallback chain
 *     → [per pool] retry within budget → [per attempt] outlier bookkeeping → attempt span
 *     → attempt (dispatch + relay)
 *
 * Retries and fallbacks happen strictly before the first byte reaches the client; after that a
 * failure ends the stream with an SSE error event, never a silent truncation. Each exchange runs
 * on the runtime it started on (a reload swaps the runtime for later requests only).
 */
import { InferplaneError } from "../../errors.js";
import type { Tracing } from "../../telemetry/tracing.js";
import { type GatewayMetrics, GENAI_OPERATION } from "../metrics.js";
import { prefixKey } from "../routing/prefix-key.js";
import type { GatewayRuntime } from "../runtime.js";
import type { EndpointState } from "../types.js";
import type { UpstreamPool } from "../upstream/pool.js";
import { type AccountingDeps, accounting } from "./accounting.js";
import { dispatchAttempt } from "./attempt.js";
import type { Exchange } from "./exchange.js";
import { endpointFault } from "./failure.js";
import { type ChainDeps, fallbackChain } from "./fallback.js";
import { type AttemptLayer, compose, type Handler, type Layer } from "./layers.js";
import { isGenerative } from "./ops.js";
import { sendError } from "./respond.js";
import { totalTimeout } from "./timeouts.js";
import { attemptSpan, requestSpan } from "./tracing.js";

export interface ForwardDeps extends AccountingDeps {
  /** The runtime a new exchange starts on (read once per request). */
  runtime(): GatewayRuntime;
  metrics: GatewayMetrics;
  env: NodeJS.ProcessEnv;
  tracing?: Tracing;
  /** Outlier bookkeeping after each attempt. */
  onSuccess(pool: UpstreamPool, ep: EndpointState): void;
  onFailure(pool: UpstreamPool, ep: EndpointState): void;
}

const RUNTIME = Symbol("inferplane.runtime");
type WithRuntime = Exchange & { [RUNTIME]?: GatewayRuntime };
const rt = (ex: Exchange): GatewayRuntime => (ex as WithRuntime)[RUNTIME] as GatewayRuntime;

/** Model → route, the stream flag and the prefix key; unknown models are answered here. */
function resolve(deps: ForwardDeps): Layer {
  return (next) => (ex) => {
    const runtime = deps.runtime();
    (ex as WithRuntime)[RUNTIME] = runtime;
    const body = ex.door ? ex.door.body : ex.body;
    const name = body.model;
    if (typeof name !== "string" || name === "") {
      sendError(
        ex,
        new InferplaneError("invalid_request", "`model` is required and must be a string", {
          param: "model",
        }),
      );
      return Promise.resolve();
    }
    ex.askedModel = name;
    const route = runtime.router.resolve(name);
    if (!route) {
      sendError(
        ex,
        new InferplaneError("model_not_found", `The model \`${name}\` does not exist.`, { param: "model" }),
      );
      return Promise.resolve();
    }
    ex.route = route;
    ex.routeLabel = route.name;
    ex.stream = ex.door ? ex.door.stream : body.stream === true && isGenerative(ex.op);
    if (isGenerative(ex.op)) ex.prefixKey = prefixKey(body, ex.op);
    runtime.budget.recordRequest(Date.now());
    return next(ex);
  };
}

/** Success and endpoint faults feed outlier detection; gateway-side failures do not. */
function outlier(deps: ForwardDeps): AttemptLayer {
  return (next) => async (ex, a) => {
    const r = await next(ex, a);
    if (r.kind === "done") (r.healthy ? deps.onSuccess : deps.onFailure)(a.pool, a.ep);
    else if (r.kind === "failed" && endpointFault(r.failure)) deps.onFailure(a.pool, a.ep);
    return r;
  };
}

export function createForwarder(deps: ForwardDeps): Handler {
  const { metrics } = deps;
  const attempt = compose(
    dispatchAttempt({
      timeouts: (ex) => rt(ex).timeouts,
      env: deps.env,
      observeOverhead: (s) => metrics.overhead.observe(s),
      observeTtft: (ex, a, s) =>
        metrics.seriesFor(a.route.name, a.pool.info.name, GENAI_OPERATION[ex.op]).ttft.observe(s),
    }),
    outlier(deps),
    attemptSpan(deps.tracing),
  );
  // One set of chain dependencies per runtime, not per request.
  const chainDeps = new WeakMap<GatewayRuntime, ChainDeps>();
  const chain = fallbackChain((ex) => {
    const r = rt(ex);
    let d = chainDeps.get(r);
    if (d === undefined) {
      d = chainDepsOf(r, metrics);
      chainDeps.set(r, d);
    }
    return d;
  }, attempt);
  return compose(
    chain,
    accounting(deps),
    resolve(deps),
    requestSpan(deps.tracing),
    totalTimeout((ex) => ex.route?.timeout ?? rt(ex).timeouts.total),
  );
}

function chainDepsOf(r: GatewayRuntime, metrics: GatewayMetrics): ChainDeps {
  return {
    router: r.router,
    pools: r.pools,
    budget: r.budget,
    retries: r.retries,
    backoffMs: r.backoffMs,
    isContextLength: (status, body) => r.router.isContextLengthError(status, parseMaybe(body)),
    onRetry: (ex, pool) => metrics.retries.inc({ route: ex.routeLabel, pool: pool.info.name }),
    onPick: (ep) => metrics.countPick(ep),
    onFallback: (ex, from, to) => {
      metrics.fallbacks.inc({ route: from.name, to: to.name });
      ex.span?.addEvent("fallback", { "inferplane.route": to.name });
    },
  };
}

function parseMaybe(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return body.toString("utf8");
  }
}
