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
import type { Decision, Limiter, Ticket } from "./limiter.js";
import { type ErrorBody, errorBodyOf, limitHeaders, limitRefusal, monthOf } from "./refusals.js";
import type { Op } from "./request-fields.js";
import { openPolicyStores } from "./stores.js";
import { createStreamMeter } from "./stream-meter.js";
import { completionReserve, promptTokenEstimate } from "./tokens.js";
import { UsageRecorder } from "./usage.js";

export { checkFields, resetText } from "./refusals.js";

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
  /** The route's error shape (a front door's); absent: OpenAI's. */
  errorBody?: ErrorBody;
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
    how: AdmitOptions,
    err: InferplaneError,
    result: string,
    headers: Record<string, string> = {},
    type?: string,
  ): void {
    this.decisions.inc({ result });
    void reply
      .code(err.def.status)
      .headers(headers)
      .send(errorBodyOf(err, how.errorBody, type));
  }

  /**
   * The preHandler of an API route, a RAG route or a listing, in phases: who calls (identify),
   * what they may touch (scopes), then, for API and RAG calls, how much (limits). Answers the
   * refusals itself, in the route's error shape; an admitted request goes on to its handler,
   * and the caller's key is kept for it (see callerOf).
   */
  async admit(
    op: Op | undefined,
    path: string,
    request: FastifyRequest,
    reply: FastifyReply,
    how: AdmitOptions = { kind: op ? "api" : "rag" },
  ): Promise<void> {
    const key = await this.identify(request, reply, how);
    if (key === undefined) return;
    if (!how.internal && !inScope(key.paths, path)) {
      return this.refuse(
        reply,
        how,
        new InferplaneError("permission_denied", `key ${key.name} may not call ${path}`),
        "forbidden",
      );
    }
    if (how.kind === "list") {
      callers.set(request.raw, key);
      return;
    }
    const body = (request.body ?? {}) as Record<string, unknown>;
    const target = this.scopes(key, op, path, request, body);
    if (target instanceof InferplaneError) return this.refuse(reply, how, target, "forbidden");
    callers.set(request.raw, key);
    const state: Admitted = { key, route: target.route, settled: false };
    if (await this.limit(state, op, body, target.known, reply, how)) {
      this.decisions.inc({ result: "admitted" });
      this.track(reply.raw, state);
    }
  }

  /** The caller's key, or undefined once refused (no key, an unknown one, the store down). */
  private async identify(
    request: FastifyRequest,
    reply: FastifyReply,
    how: AdmitOptions,
  ): Promise<KeyRecord | undefined> {
    const credential = credentialOf(request.headers);
    if (!credential) {
      this.refuse(
        reply,
        how,
        new InferplaneError(
          "invalid_api_key",
          "You didn't provide an API key: send `Authorization: Bearer <key>`.",
        ),
        "missing_key",
      );
      return undefined;
    }
    const key = await this.resolve(credential);
    if (key === "unavailable") {
      this.refuse(
        reply,
        how,
        new InferplaneError("policy_unavailable", "the key store is unreachable; try again shortly"),
        "unavailable",
        { "retry-after": "1" },
      );
      return undefined;
    }
    if (!key) {
      this.refuse(
        reply,
        how,
        new InferplaneError("invalid_api_key", "Incorrect API key provided (unknown, revoked or malformed)."),
        "invalid_key",
      );
      return undefined;
    }
    return key;
  }

  /**
   * Model and collection scopes. API routes name a model; RAG routes a collection (path or
   * body) and, creating one, its embedding route. Returns the usage route label, or the refusal.
   */
  private scopes(
    key: KeyRecord,
    op: Op | undefined,
    path: string,
    request: FastifyRequest,
    body: Record<string, unknown>,
  ): { route: string; known: string | undefined } | InferplaneError {
    const model = op ? (body.model as string) : undefined;
    const known = model === undefined ? undefined : this.opts.resolveRoute(model);
    const forbiddenModel = (name: string, param: string) =>
      new InferplaneError("permission_denied", `key ${key.name} may not use model \`${name}\``, { param });
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
      return new InferplaneError(
        "permission_denied",
        typeof collection === "string"
          ? `key ${key.name} may not use collection \`${collection}\``
          : "`collection` must be a collection name",
        { param: "collection" },
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
    return { route: model === undefined ? "rag" : (known ?? UNKNOWN_ROUTE), known };
  }

  /**
   * RPM, TPM and budget: books the request's estimate with the limiter and hands the stream a
   * meter for what is left. False once refused (or, failing open, already tracked).
   */
  private async limit(
    state: Admitted,
    op: Op | undefined,
    body: Record<string, unknown>,
    known: string | undefined,
    reply: FastifyReply,
    how: AdmitOptions,
  ): Promise<boolean> {
    const key = state.key;
    const limits = this.spec.limits;
    const rpm = how.internal ? undefined : (key.rpm ?? limits.rpm);
    const tpm = key.tpm ?? limits.tpm;
    const budget = key.budgetTokens;
    if (!rpm && !tpm && !budget) return true;
    const need = this.estimate(op, body, known, Boolean(tpm || budget));
    if (tpm && need.estimate > tpm) {
      this.refuse(
        reply,
        how,
        new InferplaneError(
          "rate_limit_exceeded",
          `Request too large: it needs about ${need.estimate} tokens (prompt estimate + completion limit × sequences), more than the key's limit of ${tpm} tokens per minute.`,
        ),
        "tpm",
        {},
        "tokens",
      );
      return false;
    }
    const now = Date.now();
    let decision: Decision;
    try {
      decision = await this.limiter.admit({
        keyId: key.id,
        ...(rpm ? { rpm } : {}),
        ...(tpm ? { tpm } : {}),
        ...(budget ? { budget } : {}),
        estimate: need.estimate,
        month: monthOf(now),
      });
    } catch (err) {
      return this.limiterDown(err, state, reply, how);
    }
    const headers = limitHeaders(decision);
    if (!decision.ok) {
      this.record(state, 429);
      const r = limitRefusal(decision, { name: key.name, rpm, tpm, budget }, headers, now);
      this.refuse(reply, how, r.err, r.result, r.headers, r.type);
      return false;
    }
    state.ticket = decision.ticket;
    const meter = createStreamMeter({
      keyName: key.name,
      reserved: need.completion,
      ...(decision.tokens ? { tpmLeft: decision.tokens.remaining } : {}),
      ...(budget ? { budgetLeft: budget - (decision.spent ?? 0) } : {}),
    });
    if (meter) state.meter = meter;
    if (!how.internal) for (const [k, v] of Object.entries(headers)) reply.raw.setHeader(k, v);
    return true;
  }

  /**
   * Tokens the request may use: the prompt estimate and the completion reserve. With a token
   * limit and no completion limit named, the engine would generate to the end of the context:
   * the reservation becomes the request's limit.
   */
  private estimate(
    op: Op | undefined,
    body: Record<string, unknown>,
    known: string | undefined,
    tokenLimited: boolean,
  ): { estimate: number; completion: number } {
    if (!op) return { estimate: 0, completion: 0 };
    const prompt = promptTokenEstimate(op, body);
    const context = known ? this.opts.contextLimit?.(known) : undefined;
    const completion = completionReserve(
      op,
      body,
      this.spec.limits.reserveTokens,
      context === undefined ? undefined : Math.max(1, context - prompt),
    );
    if (completion.impose !== undefined && tokenLimited) body.max_tokens = completion.impose;
    return { estimate: prompt + completion.tokens, completion: completion.tokens };
  }

  /** The limiter's store failed: refuse (fail closed) or admit untracked by the limiter (fail open). */
  private limiterDown(err: unknown, state: Admitted, reply: FastifyReply, how: AdmitOptions): false {
    this.storeDown(err);
    if (this.spec.limits.failMode === "closed") {
      this.record(state, 503);
      this.refuse(
        reply,
        how,
        new InferplaneError("policy_unavailable", "the rate-limit store is unreachable; try again shortly"),
        "unavailable",
        { "retry-after": "1" },
      );
      return false;
    }
    this.decisions.inc({ result: "fail_open" });
    this.track(reply.raw, state);
    return false;
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
