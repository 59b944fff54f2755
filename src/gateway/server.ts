/**
 * The gateway process: the OpenAI-compatible API in front of the pools, health and readiness,
 * metrics, graceful drain on SIGTERM and hot reload of the spec.
 */
import type { IncomingMessage } from "node:http";
import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import { adapterForPool } from "../engines/index.js";
import { InferplaneError, isInferplaneError } from "../errors.js";
import { registerRagRoutes } from "../rag/api.js";
import { servedModelName } from "../spec/checks.js";
import type { Platform } from "../spec/schema.js";
import { createLogger, type Logger, logFn } from "../telemetry/logger.js";
import { withProcessMetrics } from "../telemetry/process-metrics.js";
import { createTracing, type Tracing } from "../telemetry/tracing.js";
import { poolSource } from "./console/pool-source.js";
import { registerConsole } from "./console/register.js";
import { GatewayMetrics } from "./metrics.js";
import { hardenedServerOptions, installGatewayPolicy } from "./policy/index.js";
import { type ApiOp, type ForwardDeps, Forwarder, sendError, startTiming } from "./proxy/forward.js";
import { RetryBudget } from "./proxy/retry-budget.js";
import { createBalancer } from "./routing/balancers/index.js";
import { Router } from "./routing/router.js";
import type { BalancerName } from "./types.js";
import { createDiscovery, type Discovery } from "./upstream/discovery/index.js";
import { DEFAULT_LIMITS, UpstreamPool } from "./upstream/pool.js";
import { EndpointUpkeep } from "./upstream/upkeep.js";

export interface GatewayOptions {
  host?: string;
  port?: number;
  env?: NodeJS.ProcessEnv;
  /** After SIGTERM/drain: how long /readyz fails before the listener closes (load balancers notice). */
  drainDelayMs?: number;
  /** Endpoints per model name, overriding the spec's (used by `inferplane up` for simulated replicas). */
  endpoints?: Record<string, string[]>;
  log?: (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
  /**
   * pino logger for operational and access lines. Default: one from the spec's
   * `observability.logging`, on stderr — unless `log` is given, which then takes the operational
   * lines and leaves the access log off.
   */
  logger?: Logger;
  /** Replaces the tracing built from the spec and OTEL_* variables (benchmarks). */
  tracing?: Tracing;
}

export interface GatewayHandle {
  url: string;
  port: number;
  app: FastifyInstance;
  pools: ReadonlyMap<string, UpstreamPool>;
  /** Swaps in a new spec; in-flight requests finish on the pools they started on. */
  reload(platform: Platform): void;
  /** Readiness fails at once; the listener closes after the drain delay; in-flight work finishes within the grace period. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

const OPS: [string, ApiOp][] = [
  ["/v1/chat/completions", "chat"],
  ["/v1/completions", "completions"],
  ["/v1/embeddings", "embeddings"],
  ["/v1/rerank", "rerank"],
  ["/rerank", "rerank"],
];

function balancerFor(platform: Platform, model: string): BalancerName {
  return platform.routes.find((r) => r.targets.some((t) => t.model === model))?.balancer ?? "least-request";
}

function defaultLog(level: string, msg: string, fields: Record<string, unknown> = {}) {
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })}\n`);
}

export async function startGateway(platform: Platform, options: GatewayOptions = {}): Promise<GatewayHandle> {
  const env = options.env ?? process.env;
  const logging = platform.observability.logging;
  const logger =
    options.logger ??
    (options.log
      ? undefined
      : createLogger({ level: logging.level, format: logging.format, component: "gateway" }));
  const log = options.log ?? (logger ? logFn(logger) : defaultLog);
  const tracing =
    options.tracing ??
    createTracing(platform.observability.tracing, {
      component: "gateway",
      env,
      onExportError: (err) => log("warn", "trace export failed", { error: err.message }),
    });
  if (tracing.config?.enabled) {
    const c = tracing.config;
    log("info", "tracing on", {
      endpoint: c.endpoint,
      serviceName: c.serviceName,
      sampler: c.sampler,
      ratio: c.ratio,
    });
  }
  let spec = platform;
  let loadedAt = Date.now(); // console
  const pools = new Map<string, UpstreamPool>();
  const upkeep = new EndpointUpkeep(
    () => pools.values(),
    () => spec.gateway,
    log,
  );
  const metrics = new GatewayMetrics(() => pools.values());
  upkeep.onEject = (pool) => metrics.ejections.inc({ pool: pool.info.name });

  const discoveries = new Map<string, { key: string; discovery: Discovery }>();
  const firstLookups: Promise<void>[] = [];
  const discover = (p: Platform, m: Platform["models"][number], pool: UpstreamPool) => {
    const d = m.discovery;
    const existing = discoveries.get(m.name);
    const key = d ? JSON.stringify(d) : "";
    if (existing && existing.key === key) return;
    existing?.discovery.stop();
    discoveries.delete(m.name);
    if (!d) {
      pool.setEndpoints(options.endpoints?.[m.name] ?? m.endpoints);
      return;
    }
    const onError = (err: Error) =>
      log("warn", "endpoint discovery failed; keeping the last endpoints", {
        pool: m.name,
        error: err.message,
      });
    const discovery = createDiscovery(
      d.kind === "dns"
        ? {
            kind: "dns",
            name: d.name,
            scheme: d.scheme,
            intervalMs: d.interval,
            ...(d.record ? { record: d.record } : {}),
            ...(d.port ? { port: d.port } : {}),
            ...(d.servers ? { servers: d.servers } : {}),
            onError,
          }
        : {
            kind: "kubernetes",
            namespace: d.namespace ?? p.metadata.namespace,
            service: d.service,
            scheme: d.scheme,
            ...(d.portName ? { portName: d.portName } : {}),
            onError,
          },
    );
    discoveries.set(m.name, { key, discovery });
    firstLookups.push(
      discovery.start((urls) => {
        pool.setEndpoints(urls);
        log("info", "endpoints changed", { pool: m.name, endpoints: urls.length });
      }),
    );
  };

  const buildPools = (p: Platform) => {
    const seen = new Set<string>();
    for (const m of p.models) {
      seen.add(m.name);
      const info = {
        name: m.name,
        engine: m.engine,
        ...(m.engineVersion ? { engineVersion: m.engineVersion } : {}),
        upstreamModel: servedModelName(m),
        ...(m.apiKeyEnv ? { apiKeyEnv: m.apiKeyEnv } : {}),
        ...(m.maxModelLen ? { maxModelLen: m.maxModelLen } : {}),
      };
      const adapter = adapterForPool(info);
      const balancer = createBalancer(balancerFor(p, m.name));
      const limits = {
        ...DEFAULT_LIMITS,
        connectTimeoutMs: p.gateway.timeouts.connect,
        maxInFlightPerEndpoint: p.gateway.maxInFlightPerEndpoint,
        maxQueued: p.gateway.maxQueuedPerPool,
        maxQueueWaitMs: p.gateway.maxQueueWait,
      };
      const existing = pools.get(m.name);
      const pool = existing ?? new UpstreamPool(info, balancer, adapter, limits);
      if (existing) existing.reconfigure(info, balancer, adapter, limits);
      pool.onBalancerFallback = (reason) => metrics.balancerFallbacks.inc({ pool: m.name, reason });
      pool.onQueued = () => metrics.queued.inc({ pool: m.name });
      pools.set(m.name, pool);
      discover(p, m, pool);
    }
    for (const [name, pool] of pools) {
      if (!seen.has(name)) {
        pools.delete(name);
        discoveries.get(name)?.discovery.stop();
        discoveries.delete(name);
        void pool.close();
      }
    }
  };
  buildPools(spec);
  await Promise.all(firstLookups.splice(0));

  const deps: ForwardDeps = {
    router: new Router(spec),
    pools,
    budget: new RetryBudget(spec.gateway.retries.budgetPercent),
    metrics,
    timeouts: spec.gateway.timeouts,
    retries: spec.gateway.retries.attempts,
    onSuccess: (pool, ep) => upkeep.success(pool, ep),
    onFailure: (pool, ep) => upkeep.failure(pool, ep),
    env,
    tracing,
    ...(logger && logging.accessLog ? { accessLog: logger } : {}),
  };
  const forwarder = new Forwarder(deps);
  let draining = false;

  const app = Fastify({
    logger: false,
    ...hardenedServerOptions(spec.gateway), // body, header, URL limits and slow-client timeouts
    return503OnClosing: true,
    forceCloseConnections: "idle",
    keepAliveTimeout: 65_000,
  });
  app.decorateRequest("t0", 0);
  app.addHook("onRequest", (request, _reply, done) => {
    (request as unknown as { t0: number }).t0 = performance.now();
    done();
  });
  // Strict JSON bodies, field checks, API keys, limits, usage and /admin/* (src/gateway/policy).
  const policy = await installGatewayPolicy(app, {
    ops: OPS,
    spec: () => spec.gateway,
    env,
    log,
    registry: metrics.registry,
    resolveRoute: (model) => deps.router.resolve(model)?.name,
  });
  if (policy.onUsage) deps.onUsage = policy.onUsage;
  app.setErrorHandler((err: FastifyError | InferplaneError, _request, reply) => {
    const e = isInferplaneError(err)
      ? err
      : err.code === "FST_ERR_CTP_BODY_TOO_LARGE"
        ? new InferplaneError(
            "request_too_large",
            `the request body exceeds ${spec.gateway.maxRequestBytes} bytes`,
          )
        : err.code === "FST_ERR_CTP_EMPTY_JSON_BODY" || err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE"
          ? new InferplaneError("invalid_json", "send a JSON object with content-type application/json")
          : (err.statusCode ?? 500) < 500
            ? new InferplaneError("invalid_request", err.message)
            : new InferplaneError("internal", err.message);
    if (e.code === "internal") log("error", "request failed", { err: err.message });
    const t0 = (_request as unknown as { t0?: number }).t0;
    if (t0 !== undefined) void reply.header("x-inferplane-overhead-ms", (performance.now() - t0).toFixed(3));
    void reply.code(e.def.status).send(e.toOpenAI());
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send(new InferplaneError("not_found", `no route for ${request.method} ${request.url}`).toOpenAI());
  });

  for (const [path, op] of OPS) {
    app.post(path, (request, reply) => {
      const body = request.body;
      reply.hijack();
      const raw = reply.raw;
      const t0 = (request as unknown as { t0: number }).t0;
      startTiming(raw, t0);
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        return sendError(raw, new InferplaneError("invalid_json", "the request body must be a JSON object"));
      }
      return forwarder.handle(op, body as Record<string, unknown>, request.headers, raw, t0);
    });
  }

  // RAG (/v1/rag/*): embeddings, rerank and answers call this gateway's own router over loopback.
  registerRagRoutes(app, {
    rag: () => spec.rag,
    gatewayUrl: () => selfUrl(app),
    registry: metrics.registry,
    tracing,
  });
  app.get("/v1/models", async () => {
    const created = Math.floor(Date.now() / 1000);
    return {
      object: "list",
      data: deps.router
        .publicNames()
        .flatMap(({ name, aliases }) => [name, ...aliases])
        .map((id) => ({ id, object: "model", created, owned_by: "inferplane" })),
    };
  });
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const now = performance.now();
    const missing = spec.routes
      .filter((r) => r.required)
      .filter((r) => !r.targets.some((t) => (pools.get(t.model)?.available(now).length ?? 0) > 0))
      .map((r) => r.name);
    if (draining || missing.length > 0) {
      return reply
        .code(503)
        .send({ status: draining ? "draining" : "not ready", routesWithoutEndpoints: missing });
    }
    return { status: "ready" };
  });
  // --- console (issue 21): a stopgap source over the pools; the runtime's own replaces it ---
  if (spec.gateway.console.enabled) {
    const simulated = new Set(Object.keys(options.endpoints ?? {}));
    registerConsole(
      app,
      poolSource({ spec: () => spec, loadedAt: () => loadedAt, pools, simulated, env, metrics }),
    );
  }
  // --- end console ---
  if (platform.observability.metrics.enabled) {
    app.get(platform.observability.metrics.path, async (_request, reply) => {
      void reply.header("content-type", metrics.registry.contentType);
      return withProcessMetrics(metrics.registry);
    });
  }

  await app.listen({
    host: options.host ?? spec.gateway.listen.host,
    port: options.port ?? spec.gateway.listen.port,
  });
  upkeep.start();
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const host = options.host ?? spec.gateway.listen.host;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      upkeep.stop();
      for (const { discovery } of discoveries.values()) discovery.stop();
      await app.close();
      await policy.close(); // after the last response: usage flushed, nothing lost
      await Promise.all([...pools.values()].map((p) => p.close()));
      await tracing
        .shutdown()
        .catch((err: Error) => log("warn", "trace export failed at shutdown", { error: err.message }));
      logger?.flush();
    })();
    return closed;
  };

  return {
    url,
    port,
    app,
    pools,
    reload(next: Platform) {
      spec = next;
      loadedAt = Date.now(); // console
      buildPools(next);
      deps.router = new Router(next);
      deps.timeouts = next.gateway.timeouts;
      deps.retries = next.gateway.retries.attempts;
      policy.reload(next.gateway);
      upkeep.sync();
      log("info", "spec reloaded", { models: next.models.length, routes: next.routes.length });
    },
    async drain() {
      if (draining) return closed;
      draining = true;
      log("info", "draining", { delayMs: options.drainDelayMs ?? 0, graceMs: spec.gateway.drainTimeout });
      await new Promise((r) => setTimeout(r, options.drainDelayMs ?? 0));
      const grace = setTimeout(() => app.server.closeAllConnections(), spec.gateway.drainTimeout);
      grace.unref();
      await close();
      clearTimeout(grace);
    },
    close,
  };
}

export type { IncomingMessage };

/** This gateway's loopback URL (a wildcard listen address is reached on loopback). */
function selfUrl(app: FastifyInstance): string {
  const a = app.server.address();
  if (!a || typeof a !== "object") throw new Error("the gateway is not listening");
  const host = a.address === "0.0.0.0" || a.address === "::" ? "127.0.0.1" : a.address;
  return `http://${host.includes(":") ? `[${host}]` : host}:${a.port}`;
}
