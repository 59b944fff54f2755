/**
 * The gateway's policy: who may call (API keys and their scopes), how much (RPM, TPM, monthly
 * budgets) and what they used. Off (`gateway.auth.mode: none`) it costs one field check per
 * request. On, a request is admitted in a Fastify preHandler and settled when its response
 * closes, with the real token usage the proxy saw (streams included).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Redis } from "ioredis";
import { Counter, Gauge, type Registry } from "prom-client";
import { InferplaneError } from "../../errors.js";
import type { GatewaySpec } from "../../spec/schema.js";
import type { StreamMeter } from "../meter.js";
import { declaredKeys, type KeyRecord, type KeyStore } from "./key-store.js";
import { credentialOf, fingerprint, inScope, parseKey, verifySecret } from "./keys.js";
import type { Decision, Limiter, LimitState, Ticket } from "./limiter.js";
import { checkRequestFields, type Op } from "./request-fields.js";
import { openPolicyStores } from "./stores.js";
import { createStreamMeter } from "./stream-meter.js";
import { completionReserve, promptTokenEstimate } from "./tokens.js";
import { UsageRecorder } from "./usage.js";

export type LogFn = (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;

export interface PolicyOptions {
  env: NodeJS.ProcessEnv;
  log: LogFn;
  registry: Registry;
  /** Public model name or alias → route name (scopes match either). */
  resolveRoute: (model: string) => string | undefined;
  /** A route's context limit in tokens (its pools' smallest `maxModelLen`), when known. */
  contextLimit?: (route: string) => number | undefined;
}

/** What admission is for: an API call (limits, usage), a RAG call, or a listing (key and path only). */
export type AdmitKind = "api" | "rag" | "list";

export interface AdmitOptions {
  kind: AdmitKind;
  /**
   * A call the gateway makes to itself on behalf of an admitted RAG request, with that caller's
   * key: its model scopes, TPM and budget apply; its RPM and path scopes were applied once at
   * the RAG route.
   */
  internal?: boolean;
}

/** Route label for usage rows and metrics: a known route, else one fixed label (bounded cardinality). */
export const UNKNOWN_ROUTE = "(unknown)";

/** Per-request state between admission and settlement. */
interface Admitted {
  key: KeyRecord;
  route: string;
  ticket?: Ticket;
  settled: boolean;
  meter?: StreamMeter;
}

const CACHE_TTL_MS = 2_000;
/**
 * In fail-closed mode, how long a key verified before the store went down keeps working from the
 * cache: a key revoked during an outage stops working within this bound.
 */
export const FAIL_CLOSED_STALE_MS = 5_000;
const CACHE_MAX = 10_000;
const STORE_LOG_EVERY_MS = 10_000;

function seconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

/** OpenAI's reset format: `20ms`, `1.5s`, `6m0s`. */
export function resetText(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = ms / 1000;
  if (s < 60) return `${Number(s.toFixed(1))}s`;
  return `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
}

function limitHeaders(s: LimitState): Record<string, string> {
  const h: Record<string, string> = {};
  if (s.requests) {
    h["x-ratelimit-limit-requests"] = String(s.requests.limit);
    h["x-ratelimit-remaining-requests"] = String(s.requests.remaining);
    h["x-ratelimit-reset-requests"] = resetText(s.requests.resetMs);
  }
  if (s.tokens) {
    h["x-ratelimit-limit-tokens"] = String(s.tokens.limit);
    h["x-ratelimit-remaining-tokens"] = String(s.tokens.remaining);
    h["x-ratelimit-reset-tokens"] = resetText(s.tokens.resetMs);
  }
  return h;
}

function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

function nextMonthMs(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** The key an admitted request came with (for handlers that scope what they answer). */
const callers = new WeakMap<IncomingMessage, KeyRecord>();

export function callerOf(request: IncomingMessage): KeyRecord | undefined {
  return callers.get(request);
}

export class GatewayPolicy {
  private spec: GatewaySpec;
  private declared = new Map<string, KeyRecord>();
  private readonly cache = new Map<string, { rec: KeyRecord | undefined; until: number; verified: number }>();
  private readonly admitted = new WeakMap<ServerResponse, Admitted>();
  private storeFailures = 0;
  private lastStoreLog = 0;
  private readonly decisions: Counter<"result">;
  private readonly storeErrors: Counter<"fail_mode">;

  private constructor(
    spec: GatewaySpec,
    private readonly opts: PolicyOptions,
    readonly store: KeyStore,
    readonly limiter: Limiter,
    readonly usage: UsageRecorder,
    private readonly redis: Redis | undefined,
  ) {
    this.spec = spec;
    this.declared = this.loadDeclared(spec);
    this.decisions = new Counter({
      name: "inferplane_gateway_policy_decisions_total",
      help: "Policy decisions on API requests: admitted, missing_key, invalid_key, forbidden, rpm, tpm, budget, unavailable, fail_open.",
      labelNames: ["result"] as const,
      registers: [opts.registry],
    });
    this.storeErrors = new Counter({
      name: "inferplane_gateway_policy_store_errors_total",
      help: "Limit or key store (Redis) calls that failed; fail_mode says whether the request was admitted (open) or refused (closed).",
      labelNames: ["fail_mode"] as const,
      registers: [opts.registry],
    });
    const r = redis;
    new Gauge({
      name: "inferplane_gateway_policy_store_up",
      help: "1 while the shared policy store (Redis) is connected; 1 without Redis.",
      registers: [opts.registry],
      collect() {
        this.set(r === undefined || r.status === "ready" ? 1 : 0);
      },
    });
  }

  /** Undefined when `auth.mode` is `none`: the gateway then runs no policy at all. */
  static async create(spec: GatewaySpec, opts: PolicyOptions): Promise<GatewayPolicy | undefined> {
    if (spec.auth.mode !== "keys") return undefined;
    // Refuse bad declared keys before opening anything.
    declaredKeys(spec.auth.keys, opts.env[spec.auth.keyHashesEnv], spec.auth.keyHashesEnv);
    const stores = await openPolicyStores(spec, opts.env, { purpose: "gateway", log: opts.log });
    const usage = new UsageRecorder(stores.usage, (err, rows) =>
      opts.log("warn", "usage flush failed; keeping the counts for the next flush", {
        error: err.message,
        rows,
      }),
    );
    usage.start(spec.usage.flushInterval);
    return new GatewayPolicy(spec, opts, stores.keys, stores.limiter, usage, stores.redis);
  }

  private loadDeclared(spec: GatewaySpec): Map<string, KeyRecord> {
    const env = this.opts.env[spec.auth.keyHashesEnv];
    return new Map(declaredKeys(spec.auth.keys, env, spec.auth.keyHashesEnv).map((k) => [k.id, k]));
  }

  reload(spec: GatewaySpec): void {
    this.declared = this.loadDeclared(spec);
    this.spec = spec;
    this.cache.clear();
  }

  /** Keys from the spec and the environment (read-only here: change them where they are declared). */
  declaredKeys(): KeyRecord[] {
    return [...this.declared.values()];
  }

  /** Forget cached lookups (after a revoke or rotate through this gateway). */
  invalidate(): void {
    this.cache.clear();
  }

  private storeDown(err: unknown): void {
    this.storeFailures++;
    this.storeErrors.inc({ fail_mode: this.spec.limits.failMode });
    const now = Date.now();
    if (now - this.lastStoreLog >= STORE_LOG_EVERY_MS) {
      this.opts.log("warn", `policy store unreachable; failing ${this.spec.limits.failMode}`, {
        error: err instanceof Error ? err.message : String(err),
        failuresSinceLastLog: this.storeFailures,
        failMode: this.spec.limits.failMode,
      });
      this.lastStoreLog = now;
      this.storeFailures = 0;
    }
  }

  /** The key behind a credential; "unavailable" when the store cannot be asked and nothing is cached. */
  private async resolve(credential: string): Promise<KeyRecord | undefined | "unavailable"> {
    const parsed = parseKey(credential);
    if (!parsed) return undefined;
    const fp = fingerprint(credential);
    const now = Date.now();
    const cached = this.cache.get(fp);
    if (cached && cached.until > now) return cached.rec;
    let rec = this.declared.get(parsed.id);
    if (!rec) {
      try {
        rec = await this.store.get(parsed.id);
      } catch (err) {
        this.storeDown(err);
        // A stale answer beats none while the store is down — failing closed, only for a bounded time.
        const usable =
          cached && (this.spec.limits.failMode === "open" || now - cached.verified <= FAIL_CLOSED_STALE_MS);
        return usable ? cached.rec : "unavailable";
      }
    }
    const ok = rec !== undefined && !rec.revokedAt && verifySecret(parsed.secret, rec.hash);
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(fp, { rec: ok ? rec : undefined, until: now + CACHE_TTL_MS, verified: now });
    return ok ? rec : undefined;
  }

  private refuse(
    reply: FastifyReply,
    err: InferplaneError,
    result: string,
    headers: Record<string, string> = {},
    type?: string,
  ): void {
    this.decisions.inc({ result });
    const body = err.toOpenAI();
    if (type) body.error.type = type;
    void reply.code(err.def.status).headers(headers).send(body);
  }

  /**
   * The preHandler of an API route, a RAG route or a listing: key, scopes and (API and RAG calls)
   * limits. Answers the refusals itself; an admitted request goes on to its handler, and the
   * caller's key is kept for it (see callerOf).
   */
  async admit(
    op: Op | undefined,
    path: string,
    request: FastifyRequest,
    reply: FastifyReply,
    how: AdmitOptions = { kind: op ? "api" : "rag" },
  ): Promise<void> {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const credential = credentialOf(request.headers);
    if (!credential) {
      return this.refuse(
        reply,
        new InferplaneError(
          "invalid_api_key",
          "You didn't provide an API key: send `Authorization: Bearer <key>`.",
        ),
        "missing_key",
      );
    }
    const key = await this.resolve(credential);
    if (key === "unavailable") {
      return this.refuse(
        reply,
        new InferplaneError("policy_unavailable", "the key store is unreachable; try again shortly"),
        "unavailable",
        { "retry-after": "1" },
      );
    }
    if (!key) {
      return this.refuse(
        reply,
        new InferplaneError("invalid_api_key", "Incorrect API key provided (unknown, revoked or malformed)."),
        "invalid_key",
      );
    }
    if (!how.internal && !inScope(key.paths, path)) {
      return this.refuse(
        reply,
        new InferplaneError("permission_denied", `key ${key.name} may not call ${path}`),
        "forbidden",
      );
    }
    if (how.kind === "list") {
      callers.set(request.raw, key);
      return;
    }
    // API routes name a model; RAG routes a collection (path or body) and, creating one, its embedding route.
    const model = op ? (body.model as string) : undefined;
    const known = model === undefined ? undefined : this.opts.resolveRoute(model);
    const route = model === undefined ? "rag" : (known ?? UNKNOWN_ROUTE);
    const forbiddenModel = (name: string, param: string) =>
      this.refuse(
        reply,
        new InferplaneError("permission_denied", `key ${key.name} may not use model \`${name}\``, { param }),
        "forbidden",
      );
    if (model !== undefined && !inScope(key.models, model) && !(known && inScope(key.models, known))) {
      return forbiddenModel(model, "model");
    }
    const params = (request.params ?? {}) as { name?: unknown };
    const creating = path === "/v1/rag/collections" && request.method === "POST";
    const collection = op ? body.collection : (params.name ?? (creating ? body.name : body.collection));
    if (
      collection !== undefined &&
      (typeof collection !== "string" || !inScope(key.collections, collection))
    ) {
      return this.refuse(
        reply,
        new InferplaneError(
          "permission_denied",
          typeof collection === "string"
            ? `key ${key.name} may not use collection \`${collection}\``
            : "`collection` must be a collection name",
          { param: "collection" },
        ),
        "forbidden",
      );
    }
    const embedding = creating ? (body.embedding as { route?: unknown } | undefined) : undefined;
    if (typeof embedding === "object" && embedding !== null && typeof embedding.route === "string") {
      const r = embedding.route;
      const resolved = this.opts.resolveRoute(r);
      if (!inScope(key.models, r) && !(resolved && inScope(key.models, resolved))) {
        return forbiddenModel(r, "embedding.route");
      }
    }
    callers.set(request.raw, key);
    const state: Admitted = { key, route, settled: false };
    const limits = this.spec.limits;
    const rpm = how.internal ? undefined : (key.rpm ?? limits.rpm);
    const tpm = key.tpm ?? limits.tpm;
    const budget = key.budgetTokens;
    if (rpm || tpm || budget) {
      const prompt = op ? promptTokenEstimate(op, body) : 0;
      const context = known ? this.opts.contextLimit?.(known) : undefined;
      const completion = op
        ? completionReserve(
            op,
            body,
            limits.reserveTokens,
            context === undefined ? undefined : Math.max(1, context - prompt),
          )
        : { tokens: 0 };
      // No limit named: the engine would generate to the end of the context; the reservation is the limit.
      if (completion.impose !== undefined && (tpm || budget)) body.max_tokens = completion.impose;
      const estimate = prompt + completion.tokens;
      if (tpm && estimate > tpm) {
        return this.refuse(
          reply,
          new InferplaneError(
            "rate_limit_exceeded",
            `Request too large: it needs about ${estimate} tokens (prompt estimate + completion limit × sequences), more than the key's limit of ${tpm} tokens per minute.`,
          ),
          "tpm",
          {},
          "tokens",
        );
      }
      const now = Date.now();
      let decision: Decision;
      try {
        decision = await this.limiter.admit({
          keyId: key.id,
          ...(rpm ? { rpm } : {}),
          ...(tpm ? { tpm } : {}),
          ...(budget ? { budget } : {}),
          estimate,
          month: monthOf(now),
        });
      } catch (err) {
        this.storeDown(err);
        if (limits.failMode === "closed") {
          this.record(state, 503);
          return this.refuse(
            reply,
            new InferplaneError(
              "policy_unavailable",
              "the rate-limit store is unreachable; try again shortly",
            ),
            "unavailable",
            { "retry-after": "1" },
          );
        }
        this.decisions.inc({ result: "fail_open" });
        return this.track(reply.raw, state);
      }
      const headers = limitHeaders(decision);
      if (!decision.ok) {
        this.record(state, 429);
        if (decision.reason === "budget") {
          return this.refuse(
            reply,
            new InferplaneError(
              "insufficient_quota",
              `You exceeded your current quota: key ${key.name} spent ${decision.spent ?? budget} of its ${budget} tokens for ${monthOf(now)}.`,
            ),
            "budget",
            { ...headers, "retry-after": seconds(nextMonthMs(now) - now) },
          );
        }
        const what =
          decision.reason === "rpm" ? `requests per minute (${rpm})` : `tokens per minute (${tpm})`;
        return this.refuse(
          reply,
          new InferplaneError(
            "rate_limit_exceeded",
            `Rate limit reached for key ${key.name} on ${what}. Please try again in ${resetText(decision.retryAfterMs)}.`,
          ),
          decision.reason,
          { ...headers, "retry-after": seconds(decision.retryAfterMs) },
          decision.reason === "rpm" ? "requests" : "tokens",
        );
      }
      state.ticket = decision.ticket;
      const meter = createStreamMeter({
        keyName: key.name,
        reserved: completion.tokens,
        ...(decision.tokens ? { tpmLeft: decision.tokens.remaining } : {}),
        ...(budget ? { budgetLeft: budget - (decision.spent ?? 0) } : {}),
      });
      if (meter) state.meter = meter;
      if (!how.internal) for (const [k, v] of Object.entries(headers)) reply.raw.setHeader(k, v);
    }
    this.decisions.inc({ result: "admitted" });
    this.track(reply.raw, state);
  }

  /**
   * The StreamMeter of an admitted request (undefined: no TPM or budget, or not admitted here).
   * The streaming relay feeds it each relayed chunk's completion tokens and cuts on "cut".
   */
  meterFor(res: ServerResponse): StreamMeter | undefined {
    return this.admitted.get(res)?.meter;
  }

  private track(res: ServerResponse, state: Admitted): void {
    this.admitted.set(res, state);
    // The proxy reports every request it handled; this only catches one it never saw.
    res.once("close", () =>
      setImmediate(() => {
        if (!state.settled) this.settle(state, "", res.headersSent ? res.statusCode : 499, -1, -1);
      }),
    );
  }

  /** From the proxy, once per request: the pool that answered, the status and the real tokens (-1: unknown). */
  onUsage(
    res: ServerResponse,
    u: { pool: string; status: number; inputTokens: number; outputTokens: number },
  ): void {
    const state = this.admitted.get(res);
    if (!state || state.settled) return;
    this.settle(state, u.pool, u.status, u.inputTokens, u.outputTokens);
  }

  private settle(state: Admitted, pool: string, status: number, input: number, output: number): void {
    state.settled = true;
    const known = input >= 0 || output >= 0;
    const prompt = Math.max(0, input);
    const completion = Math.max(0, output);
    const ticket = state.ticket;
    if (ticket) {
      // Without reported usage a failed request gives its reservation back; a successful one keeps it.
      const actual = known ? prompt + completion : status >= 400 ? 0 : ticket.reserved;
      this.limiter.settle(ticket, actual).catch((err: unknown) => this.storeDown(err));
    }
    this.record(state, status, prompt, completion, pool);
  }

  private record(state: Admitted, status: number, prompt = 0, completion = 0, pool = ""): void {
    this.usage.record(state.key.id, state.route, pool, {
      requests: 1,
      errors: status >= 400 ? 1 : 0,
      promptTokens: prompt,
      completionTokens: completion,
    });
  }

  async close(): Promise<void> {
    await this.usage.close();
    await this.limiter.close();
    await this.store.close();
    await this.usage.sink.close();
    this.redis?.disconnect();
  }
}

/** Field checks for every API request, policy on or off (cheap: a few typeof). */
export function checkFields(op: Op, request: FastifyRequest, reply: FastifyReply): boolean {
  const problem = checkRequestFields(op, request.body);
  if (!problem) return true;
  void reply.code(problem.def.status).send(problem.toOpenAI());
  return false;
}
