/**
 * The gateway's runtime as a pure function of the spec: `deriveRuntime(spec)` computes routes,
 * pools (engine, balancer, limits, endpoint source), retry settings, timeouts, outlier settings,
 * the policy's settings and the telemetry switches, without I/O. Start builds the live objects
 * from it; a reload derives a new one, reconciles the pools (endpoints keep their live state)
 * and swaps the runtime in one assignment, so in-flight requests finish on the one they began on.
 */
import { servedModelName } from "../spec/checks.js";
import type { GatewaySpec, Platform } from "../spec/schema.js";
import type { RetryTimeouts } from "./proxy/layers.js";
import { RetryBudget } from "./proxy/retry-budget.js";
import { Router } from "./routing/router.js";
import type { BalancerName, PoolInfo } from "./types.js";
import type { DiscoveryConfig } from "./upstream/discovery/index.js";
import type { OutlierConfig } from "./upstream/outlier.js";
import { DEFAULT_LIMITS, type PoolLimits, type UpstreamPool } from "./upstream/pool.js";

/** Where a pool's endpoints come from (a discovery source's config, without its callbacks). */
export type EndpointSource =
  | { kind: "static"; urls: readonly string[] }
  | Omit<Extract<DiscoveryConfig, { kind: "dns" }>, "onError">
  | Omit<Extract<DiscoveryConfig, { kind: "kubernetes" }>, "onError">;

export interface PoolPlan {
  info: PoolInfo;
  balancer: BalancerName;
  limits: PoolLimits;
  source: EndpointSource;
  /** Equal keys: the running discovery is kept. */
  sourceKey: string;
}

export interface RuntimePlan {
  spec: Platform;
  /** The settings the policy reads (auth, limits, redis, usage, http). */
  gateway: GatewaySpec;
  router: Router;
  pools: readonly PoolPlan[];
  retries: { attempts: number; backoffMs: number; budgetPercent: number };
  timeouts: RetryTimeouts;
  outlier: Required<OutlierConfig>;
  /** Node server timeouts against slow clients (applied to the listening server). */
  clientTimeouts: { headersTimeout: number; requestTimeout: number };
  accessLog: boolean;
}

/** A runtime in use: the plan plus its live pools and a retry budget of its own. */
export interface GatewayRuntime {
  plan: RuntimePlan;
  router: Router;
  pools: ReadonlyMap<string, UpstreamPool>;
  budget: RetryBudget;
  retries: number;
  backoffMs: number;
  timeouts: RetryTimeouts;
}

/**
 * `gateway.*` fields a running gateway cannot change: they shape the listening socket, the
 * HTTP parser, the stores opened at start, the routes mounted (console), or the deployment
 * (replicas). A reload that changes
 * one logs a warning naming it; the rest of the reload applies.
 */
export const RESTART_ONLY: readonly string[] = [
  "listen.host",
  "listen.port",
  "replicas",
  "auth.mode",
  "auth.store",
  "auth.sqlitePath",
  "redis.url",
  "redis.passwordEnv",
  "redis.prefix",
  "usage.flushInterval",
  "http.maxHeaderBytes",
  "maxRequestBytes",
  "console.enabled",
];

/** `gateway.*` fields only the deploy compiler reads (the Ingress in front of the gateway). */
export const DEPLOY_ONLY_PREFIXES: readonly string[] = ["ingress."];

function balancerFor(spec: Platform, model: string): BalancerName {
  return spec.routes.find((r) => r.targets.some((t) => t.model === model))?.balancer ?? "least-request";
}

function sourceFor(
  spec: Platform,
  m: Platform["models"][number],
  override?: readonly string[],
): EndpointSource {
  const d = m.discovery;
  if (!d || override) return { kind: "static", urls: override ?? m.endpoints };
  if (d.kind === "dns") {
    return {
      kind: "dns",
      name: d.name,
      scheme: d.scheme,
      intervalMs: d.interval,
      ...(d.record ? { record: d.record } : {}),
      ...(d.port ? { port: d.port } : {}),
      ...(d.servers ? { servers: d.servers } : {}),
    };
  }
  return {
    kind: "kubernetes",
    namespace: d.namespace ?? spec.metadata.namespace,
    service: d.service,
    scheme: d.scheme,
    ...(d.portName ? { portName: d.portName } : {}),
  };
}

function poolPlan(spec: Platform, m: Platform["models"][number], override?: readonly string[]): PoolPlan {
  const g = spec.gateway;
  const info: PoolInfo = {
    name: m.name,
    engine: m.engine,
    ...(m.engineVersion ? { engineVersion: m.engineVersion } : {}),
    upstreamModel: servedModelName(m),
    ...(m.apiKeyEnv ? { apiKeyEnv: m.apiKeyEnv } : {}),
    ...(m.maxModelLen ? { maxModelLen: m.maxModelLen } : {}),
  };
  const source = sourceFor(spec, m, override);
  return {
    info,
    balancer: balancerFor(spec, m.name),
    limits: {
      ...DEFAULT_LIMITS,
      connectTimeoutMs: g.timeouts.connect,
      maxInFlightPerEndpoint: g.maxInFlightPerEndpoint,
      maxQueued: g.maxQueuedPerPool,
      maxQueueWaitMs: g.maxQueueWait,
    },
    source,
    sourceKey: JSON.stringify(source),
  };
}

/** The runtime the spec describes. `endpoints` overrides a model's endpoints (`inferplane up`). */
export function deriveRuntime(spec: Platform, endpoints: Record<string, string[]> = {}): RuntimePlan {
  const g = spec.gateway;
  const headersTimeout = Math.min(g.http.headersTimeout, g.http.requestTimeout);
  return {
    spec,
    gateway: g,
    router: new Router(spec),
    pools: spec.models.map((m) => poolPlan(spec, m, endpoints[m.name])),
    retries: {
      attempts: g.retries.attempts,
      backoffMs: g.retries.backoff,
      budgetPercent: g.retries.budgetPercent,
    },
    timeouts: { ...g.timeouts },
    outlier: { ...g.outlierDetection },
    clientTimeouts: { headersTimeout, requestTimeout: g.http.requestTimeout },
    accessLog: spec.observability.logging.accessLog,
  };
}

/** The runtime over live pools, with a fresh retry budget (its settings may have changed). */
export function runtimeOf(plan: RuntimePlan, pools: ReadonlyMap<string, UpstreamPool>): GatewayRuntime {
  return {
    plan,
    router: plan.router,
    pools,
    budget: new RetryBudget(plan.retries.budgetPercent),
    retries: plan.retries.attempts,
    backoffMs: plan.retries.backoffMs,
    timeouts: plan.timeouts,
  };
}

function at(v: unknown, path: string): unknown {
  return path
    .split(".")
    .reduce<unknown>(
      (o, k) => (typeof o === "object" && o !== null ? (o as Record<string, unknown>)[k] : undefined),
      v,
    );
}

/** The restart-only fields whose value differs between two gateway specs. */
export function restartOnlyChanges(prev: GatewaySpec, next: GatewaySpec): string[] {
  return RESTART_ONLY.filter((p) => JSON.stringify(at(prev, p)) !== JSON.stringify(at(next, p)));
}
