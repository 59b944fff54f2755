/**
 * The router: public model name → route → which pool (model) serves this request, and where
 * to go next when it fails. It never picks an endpoint (that is the pool's balancer).
 * Everything is precomputed from the spec at construction; a request costs a Map lookup, a
 * random draw (or, for sticky routes, one hash per weighted target) and no allocation.
 */
import { isEngineContextOverflow } from "../../engines/index.js";
import type { Platform, RouteSpec } from "../../spec/schema.js";
import { hash32, unitInterval } from "./hash.js";

export interface RouterOptions {
  /** Uniform [0, 1) source for weighted splits; inject a seeded one for tests. Default Math.random. */
  random?: () => number;
}

/** What `pickTarget` reads from the request. */
export interface TargetRequest {
  /** The body's `user` field. */
  user?: string;
  /** Request headers, names in lower case (as Node.js gives them). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

export type FallbackReason = "retryable" | "context-length";

/** A route's public names, for /v1/models. */
export interface PublicName {
  name: string;
  aliases: readonly string[];
}

interface CompiledRoute {
  /** Targets with weight > 0. */
  models: readonly string[];
  weights: Float64Array;
  /** Running sums of `weights`, for the random split. */
  cumulative: Float64Array;
  total: number;
  /** Per target, the seed of its hash family (weighted rendezvous hashing). */
  seeds: Uint32Array;
  sticky?: { by: "user" } | { by: "header"; header: string };
  retryable: readonly RouteSpec[];
  contextLength: readonly RouteSpec[];
}

export class Router {
  readonly #random: () => number;
  /** Name or alias → route. */
  readonly #byName = new Map<string, RouteSpec>();
  readonly #compiled = new WeakMap<RouteSpec, CompiledRoute>();
  readonly #public: readonly PublicName[];

  constructor(platform: Platform, options: RouterOptions = {}) {
    this.#random = options.random ?? Math.random;
    const routes = platform.routes.length > 0 ? platform.routes : defaultRoutes(platform);
    for (const r of routes) {
      if (!this.#byName.has(r.name)) this.#byName.set(r.name, r);
    }
    for (const r of routes) {
      for (const a of r.aliases) if (!this.#byName.has(a)) this.#byName.set(a, r);
    }
    this.#public = Object.freeze(
      routes.map((r) => Object.freeze({ name: r.name, aliases: Object.freeze([...r.aliases]) })),
    );
    for (const r of routes) this.#compiled.set(r, this.#compile(r));
  }

  /** The route clients reach by this name or alias. */
  resolve(publicName: string): RouteSpec | undefined {
    return this.#byName.get(publicName);
  }

  /** Every route's name with its aliases, in spec order. */
  publicNames(): readonly PublicName[] {
    return this.#public;
  }

  /**
   * The pool (model name) that serves this request: a weighted random draw over the targets
   * with weight > 0; on a sticky route with a sticky value, weighted rendezvous hashing of
   * that value, so the same user or session keeps its target while the weights stay, and a
   * weight change moves only the users it must.
   */
  pickTarget(route: RouteSpec, req: TargetRequest): string {
    const c = this.#get(route);
    const n = c.models.length;
    if (n === 1) return c.models[0] as string;
    if (n === 0) return route.targets[0]?.model ?? "";
    const key = c.sticky ? stickyValue(c.sticky, req) : undefined;
    if (key !== undefined) {
      // Weighted rendezvous: argmin −ln(u_i) / w_i, u_i = hash_i(key) ∈ (0, 1); P(i) = w_i / Σw.
      let best = 0;
      let bestScore = Number.POSITIVE_INFINITY;
      for (let i = 0; i < n; i++) {
        const score = -Math.log(unitInterval(hash32(key, c.seeds[i] as number))) / (c.weights[i] as number);
        if (score < bestScore) {
          bestScore = score;
          best = i;
        }
      }
      return c.models[best] as string;
    }
    const x = this.#random() * c.total;
    const cum = c.cumulative;
    for (let i = 0; i < n - 1; i++) if (x < (cum[i] as number)) return c.models[i] as string;
    return c.models[n - 1] as string;
  }

  /**
   * Routes to try next, in order. `retryable` (429, 5xx, connect errors, timeouts before
   * the first byte): the route's `fallbacks`, each followed at once by its own chain
   * (depth first), without duplicates, cycles or the route itself. `context-length`: the
   * `contextFallback` route, then its own `contextFallback`, and so on.
   */
  fallbacks(route: RouteSpec, reason: FallbackReason): readonly RouteSpec[] {
    const c = this.#get(route);
    return reason === "context-length" ? c.contextLength : c.retryable;
  }

  /** Whether an upstream error is a context-length error (see the function of that name). */
  isContextLengthError(status: number, body: unknown): boolean {
    return isContextLengthError(status, body);
  }

  #get(route: RouteSpec): CompiledRoute {
    let c = this.#compiled.get(route);
    if (c === undefined) {
      // A route object that is not this router's own (a copy): compile it once.
      c = this.#compile(route);
      this.#compiled.set(route, c);
    }
    return c;
  }

  #compile(r: RouteSpec): CompiledRoute {
    const live = r.targets.filter((t) => t.weight > 0);
    const weights = Float64Array.from(live, (t) => t.weight);
    const cumulative = new Float64Array(live.length);
    let total = 0;
    live.forEach((t, i) => {
      total += t.weight;
      cumulative[i] = total;
    });
    const sticky: CompiledRoute["sticky"] =
      r.sticky?.by === "user"
        ? { by: "user" }
        : r.sticky?.by === "header" && r.sticky.header
          ? { by: "header", header: r.sticky.header.toLowerCase() }
          : undefined;
    return {
      models: live.map((t) => t.model),
      weights,
      cumulative,
      total,
      seeds: Uint32Array.from(live, (t) => hash32(t.model)),
      ...(sticky ? { sticky } : {}),
      retryable: Object.freeze(this.#retryChain(r)),
      contextLength: Object.freeze(this.#contextChain(r)),
    };
  }

  #retryChain(root: RouteSpec): RouteSpec[] {
    const out: RouteSpec[] = [];
    const seen = new Set<string>([root.name]);
    const visit = (r: RouteSpec): void => {
      for (const name of r.fallbacks) {
        const next = this.#byName.get(name);
        if (next === undefined || seen.has(next.name)) continue;
        seen.add(next.name);
        out.push(next);
        visit(next);
      }
    };
    visit(root);
    return out;
  }

  #contextChain(root: RouteSpec): RouteSpec[] {
    const out: RouteSpec[] = [];
    const seen = new Set<string>([root.name]);
    let name = root.contextFallback;
    while (name !== undefined) {
      const next = this.#byName.get(name);
      if (next === undefined || seen.has(next.name)) break;
      seen.add(next.name);
      out.push(next);
      name = next.contextFallback;
    }
    return out;
  }
}

function stickyValue(sticky: NonNullable<CompiledRoute["sticky"]>, req: TargetRequest): string | undefined {
  let v: string | string[] | undefined;
  if (sticky.by === "user") v = req.user;
  else v = req.headers[sticky.header];
  if (Array.isArray(v)) v = v[0];
  return typeof v === "string" && v.length > 0 ? v : undefined;
}

/** With no routes, every model is served under its own name (as the spec loader does). */
function defaultRoutes(p: Platform): RouteSpec[] {
  return p.models.map((m) => ({
    name: m.name,
    aliases: [],
    targets: [{ model: m.name, weight: 100 }],
    balancer: "least-request",
    fallbacks: [],
    required: true,
  }));
}

const CONTEXT_LENGTH_STATUSES = new Set([400, 413, 422]);
const CONTEXT_LENGTH_TEXT = /maximum context length|maximum model length|context_length_exceeded/i;

/**
 * Whether an upstream error means the prompt is too long for the model, so that the
 * `contextFallback` route may take it: a 400 (413, 422) whose code is
 * `context_length_exceeded` (OpenAI) or whose message speaks of the "maximum context
 * length" (vLLM, OpenAI) or "maximum model length" (vLLM's prompt-length check). `body` is
 * the parsed JSON error, or its raw text.
 */
export function isContextLengthError(status: number, body: unknown): boolean {
  if (!CONTEXT_LENGTH_STATUSES.has(status)) return false;
  if (isEngineContextOverflow(status, body)) return true; // each engine's own wording (src/engines)
  if (typeof body === "string") return CONTEXT_LENGTH_TEXT.test(body);
  if (typeof body !== "object" || body === null) return false;
  const b = body as Record<string, unknown>;
  const inner = typeof b.error === "object" && b.error !== null ? (b.error as Record<string, unknown>) : b;
  if (inner.code === "context_length_exceeded") return true;
  const message = typeof inner.message === "string" ? inner.message : b.message;
  if (typeof message === "string" && CONTEXT_LENGTH_TEXT.test(message)) return true;
  return typeof b.error === "string" && CONTEXT_LENGTH_TEXT.test(b.error);
}
