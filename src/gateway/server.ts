/**
 * The gateway process: the OpenAI-compatible API and the front doors in front of the pools,
 * health and readiness, metrics, graceful drain on SIGTERM and hot reload of the spec. Start and
 * reload go through one derivation (runtime.ts); this file wires its phases.
 */
import type { IncomingMessage } from "node:http";
import Fastify, { type FastifyInstance } from "fastify";
import { runsLocally } from "../engines/index.js";
import type { InferplaneError } from "../errors.js";
import type { Platform } from "../spec/schema.js";
import { createLogger, type Logger, logFn } from "../telemetry/logger.js";
import { createTracing, type Tracing } from "../telemetry/tracing.js";
import { doors } from "./api/index.js";
import { poolSource } from "./console/pool-source.js";
import { registerConsole } from "./console/register.js";
import { GatewayMetrics } from "./metrics.js";
import { hardenedServerOptions, installGatewayPolicy } from "./policy/index.js";
import { createForwarder } from "./proxy/forward.js";
import { OP_PATHS, type RouteContext, registerApiRoutes, registerInfoRoutes } from "./routes.js";
import { deriveRuntime, type GatewayRuntime, restartOnlyChanges, runtimeOf } from "./runtime.js";
import type { UpstreamPool } from "./upstream/pool.js";
import { PoolSet } from "./upstream/pool-set.js";
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
  /** The current runtime's pools. */
  readonly pools: ReadonlyMap<string, UpstreamPool>;
  /** The runtime new requests start on. */
  runtime(): GatewayRuntime;
  /** Health checks, load scraping and outlier bookkeeping of the pools. */
  readonly upkeep: EndpointUpkeep;
  /** The live pools and their endpoint sources. */
  readonly poolSet: PoolSet;
  /** Swaps in a new spec; in-flight requests finish on the runtime they started on. */
  reload(platform: Platform): void;
  /** The reload path refused a new spec: the console shows when, and `error` (no secret values). */
  reloadRejected(error: string): void;
  /** Readiness fails at once; the listener closes after the drain delay; in-flight work finishes within the grace period. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

type Log = NonNullable<GatewayOptions["log"]>;

function defaultLog(level: string, msg: string, fields: Record<string, unknown> = {}) {
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })}\n`);
}

/** Phase 1: logging and tracing from the spec (or the caller's). */
function telemetryFor(platform: Platform, options: GatewayOptions, env: NodeJS.ProcessEnv) {
  const logging = platform.observability.logging;
  const logger =
    options.logger ??
    (options.log
      ? undefined
      : createLogger({ level: logging.level, format: logging.format, component: "gateway" }));
  const log: Log = options.log ?? (logger ? logFn(logger) : defaultLog);
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
  return { logger, log, tracing };
}

/** Phase 2: the live pools, their upkeep and the first runtime. */
async function startRuntime(platform: Platform, options: GatewayOptions, log: Log) {
  let current: GatewayRuntime | undefined;
  const pools = () => (current ? current.pools.values() : []);
  const metrics = new GatewayMetrics(pools);
  const set = new PoolSet({
    log,
    onBalancerFallback: (pool, reason) => metrics.balancerFallbacks.inc({ pool, reason }),
    onQueued: (pool) => metrics.queued.inc({ pool }),
  });
  const upkeep = new EndpointUpkeep(pools, () => (current as GatewayRuntime).plan.gateway, log);
  upkeep.onEject = (pool) => metrics.ejections.inc({ pool: pool.info.name });
  const plan = deriveRuntime(platform, options.endpoints);
  const applied = set.apply(plan);
  current = runtimeOf(plan, applied.pools);
  metrics.declareRoutes(plan.spec.routes.map((r) => r.name));
  await applied.firstLookups;
  return {
    metrics,
    set,
    upkeep,
    get: () => current as GatewayRuntime,
    swap: (next: GatewayRuntime) => {
      current = next;
      metrics.declareRoutes(next.plan.spec.routes.map((r) => r.name));
    },
  };
}

/** Phase 3: the HTTP server (hardened), with policy, proxy routes and info routes. */
async function buildApp(platform: Platform, ctx: RouteContext, env: NodeJS.ProcessEnv, log: Log) {
  const app = Fastify({
    logger: false,
    ...hardenedServerOptions(platform.gateway), // body, header, URL limits and slow-client timeouts
    return503OnClosing: true,
    forceCloseConnections: "idle",
    keepAliveTimeout: 65_000,
  });
  // Strict JSON bodies, field checks, API keys, limits, usage and /admin/* (src/gateway/policy).
  const policy = await installGatewayPolicy(app, {
    // A door's body is translated to its operation's before the policy sees it (routes.ts), and
    // its refusals take the door's error shape.
    ops: [...OP_PATHS, ...doors.map((d) => [d.path, d.op, (e: InferplaneError) => d.errorBody(e)] as const)],
    spec: () => ctx.runtime().plan.gateway,
    env,
    log,
    registry: ctx.metrics.registry,
    resolveRoute: (model) => ctx.runtime().router.resolve(model)?.name,
  });
  return { app, policy };
}

interface Running {
  rt: Awaited<ReturnType<typeof startRuntime>>;
  app: FastifyInstance;
  policy: Awaited<ReturnType<typeof installGatewayPolicy>>;
  logger: Logger | undefined;
  log: Log;
  endpoints: Record<string, string[]> | undefined;
}

async function closeAll(r: Running, tracing: Tracing): Promise<void> {
  r.rt.upkeep.stop();
  await r.app.close();
  await r.policy.close(); // after the last response: usage flushed, nothing lost
  await r.rt.set.close();
  await tracing
    .shutdown()
    .catch((err: Error) => r.log("warn", "trace export failed at shutdown", { error: err.message }));
  r.logger?.flush();
}

/** Derives the new runtime, reconciles the pools and swaps it in (in-flight requests keep theirs). */
function reloadRuntime(next: Platform, r: Running): void {
  const prev = r.rt.get().plan;
  const plan = deriveRuntime(next, r.endpoints);
  const applied = r.rt.set.apply(plan);
  r.rt.swap(runtimeOf(plan, applied.pools));
  r.app.server.headersTimeout = plan.clientTimeouts.headersTimeout;
  r.app.server.requestTimeout = plan.clientTimeouts.requestTimeout;
  if (r.logger) r.logger.level = next.observability.logging.level;
  r.policy.reload(next.gateway);
  r.rt.upkeep.sync();
  const restart = restartOnlyChanges(prev.gateway, next.gateway);
  if (restart.length > 0) {
    r.log("warn", "some gateway settings apply after a restart only", {
      fields: restart.map((f) => `gateway.${f}`),
    });
  }
  r.log("info", "spec reloaded", { models: next.models.length, routes: next.routes.length });
}

/** Phase 4: the operator console (`gateway.console`), reading the runtime in force. */
function mountConsole(
  app: FastifyInstance,
  rt: Running["rt"],
  options: GatewayOptions,
  env: NodeJS.ProcessEnv,
): { reloaded(): void; rejected(error: string): void } {
  let loadedAt = Date.now();
  let lastRejected: { at: string; error: string } | undefined;
  if (rt.get().plan.gateway.console.enabled) {
    registerConsole(
      app,
      poolSource({
        spec: () => rt.get().plan.spec,
        loadedAt: () => loadedAt,
        lastRejected: () => lastRejected,
        pools: () => rt.get().pools,
        // `up` hands over its local replicas: simulated unless the engine runs for real here.
        simulated: new Set(
          rt
            .get()
            .plan.spec.models.filter((m) => options.endpoints?.[m.name] && !runsLocally(m.engine))
            .map((m) => m.name),
        ),
        env,
        metrics: rt.metrics,
      }),
    );
  }
  return {
    reloaded: () => {
      loadedAt = Date.now();
    },
    rejected: (error) => {
      lastRejected = { at: new Date().toISOString(), error };
    },
  };
}

export async function startGateway(platform: Platform, options: GatewayOptions = {}): Promise<GatewayHandle> {
  const env = options.env ?? process.env;
  const { logger, log, tracing } = telemetryFor(platform, options, env);
  const rt = await startRuntime(platform, options, log);
  const ctx: RouteContext = {
    runtime: rt.get,
    metrics: rt.metrics,
    tracing,
    log,
    draining: false,
    forward: async () => {},
  };
  const { app, policy } = await buildApp(platform, ctx, env, log);
  // Admission's token meter (src/gateway/meter.ts): the relay feeds it and cuts on its word.
  ctx.meterFor = (res) => policy.meterFor(res);
  ctx.forward = createForwarder({
    runtime: rt.get,
    metrics: rt.metrics,
    env,
    tracing,
    get accessLog() {
      return logger && rt.get().plan.accessLog ? logger : undefined;
    },
    ...(policy.onUsage ? { onUsage: policy.onUsage } : {}),
    onSuccess: (pool, ep) => rt.upkeep.success(pool, ep),
    onFailure: (pool, ep) => rt.upkeep.failure(pool, ep),
  });
  registerApiRoutes(app, ctx);
  registerInfoRoutes(app, ctx, platform);
  const consoleView = mountConsole(app, rt, options, env);
  await app.listen({
    host: options.host ?? platform.gateway.listen.host,
    port: options.port ?? platform.gateway.listen.port,
  });
  rt.upkeep.start();
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const host = options.host ?? platform.gateway.listen.host;

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= closeAll({ rt, app, policy, logger, log, endpoints: options.endpoints }, tracing);
    return closed;
  };
  const reload = (next: Platform) => {
    reloadRuntime(next, { rt, app, policy, logger, log, endpoints: options.endpoints });
    consoleView.reloaded();
  };
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    app,
    get pools() {
      return rt.get().pools;
    },
    runtime: rt.get,
    upkeep: rt.upkeep,
    poolSet: rt.set,
    reload,
    reloadRejected: (error) => consoleView.rejected(error),
    async drain() {
      if (ctx.draining) return closed;
      ctx.draining = true;
      const graceMs = rt.get().plan.gateway.drainTimeout;
      log("info", "draining", { delayMs: options.drainDelayMs ?? 0, graceMs });
      await new Promise((r) => setTimeout(r, options.drainDelayMs ?? 0));
      const grace = setTimeout(() => app.server.closeAllConnections(), graceMs);
      grace.unref();
      await close();
      clearTimeout(grace);
    },
    close,
  };
}

export type { IncomingMessage };
