/**
 * The one interface every serving engine implements for the gateway (hono's pattern: one
 * interface per interchangeable piece, one conformance suite that every implementation runs).
 *
 * Facts (paths, ports, metric names by version) come from the catalog (`src/catalog/engines.ts`);
 * an adapter only adds behaviour: how to read load from a metrics text, how to authenticate.
 * Nothing here runs per request except `apiPath` and `requestHeaders`, which are O(1).
 */
import {
  type ApiKind,
  type EngineId,
  type EngineInfo,
  engineInfo,
  type MetricCandidate,
  type MetricKey,
  type MetricUnit,
  metricNames,
  type ResolvedMetric,
} from "../catalog/engines.js";
import { InferplaneError } from "../errors.js";
import { isNotImplementedStatus, type UpstreamRefusal } from "./dialect.js";
import type { EndpointLoad } from "./load.js";
import { forEachSample, type Sample } from "./prometheus-text.js";

/** What the gateway forwards: the OpenAI-style operations. */
export type ApiOp = "chat" | "completions" | "embeddings" | "rerank" | "models";

export const API_OPS: readonly ApiOp[] = ["chat", "completions", "embeddings", "rerank", "models"];

/** The environment requestHeaders reads (process.env fits). */
export type Env = Readonly<Record<string, string | undefined>>;

export interface EngineAdapter {
  readonly id: EngineId;
  /** The engine version the adapter was resolved for (the catalog's default when none was given). */
  readonly version: string;
  /** Path of `op` on this engine (`/v1/chat/completions`), `undefined` when it cannot serve it. */
  apiPath(op: ApiOp): string | undefined;
  /** Path an active health check GETs; 2xx means ready to serve. Always starts with "/". */
  readonly healthPath: string;
  /** Prometheus exposition path, `undefined` when the engine has none (Ollama, external providers). */
  readonly metricsPath: string | undefined;
  /**
   * Full metrics URL for an endpoint's base URL (`http://10.0.0.7:8000`), moving to the engine's
   * metrics port where it differs from the API port (Triton: 8000 → 8002); `undefined` without
   * metrics.
   */
  metricsUrl(baseUrl: string): string | undefined;
  /**
   * Load read from a metrics text: requests running and waiting (summed over label sets, e.g.
   * several `model_name` or data-parallel `engine` series) and KV-cache usage as a 0–1 fraction
   * (mean over label sets). Tolerant of renamed metrics: the catalog's candidate names are tried
   * in order. `undefined` when the text holds neither a running nor a waiting series.
   */
  parseLoad(metricsText: string, now: number): EndpointLoad | undefined;
  /**
   * Headers every upstream request carries. With `apiKeyEnv` set (required in practice for
   * external providers, optional for self-hosted engines started with an API key), adds
   * `Authorization: Bearer <value>`; throws `InferplaneError("internal")` naming the variable
   * when it is not set. Cheap enough to call per request (one environment read, cached object).
   */
  requestHeaders(env: Env): Readonly<Record<string, string>>;
  /**
   * What an error answer of this engine means to the gateway: `context-overflow` (the prompt does
   * not fit; the route's `contextFallback` may take it), `not-supported` (no replica of this
   * engine would serve it: not retried, not an endpoint failure), else `undefined`. `body` is the
   * parsed JSON error, or its raw text.
   */
  refusal(status: number, body: unknown): UpstreamRefusal | undefined;
}

export interface AdapterOptions {
  /** Engine version; default: the catalog's current version for the engine. */
  version?: string;
  /** Name of the environment variable holding the upstream API key (`models[].apiKeyEnv`). */
  apiKeyEnv?: string;
  /** Pool name, for error messages. */
  pool?: string;
}

const OP_KIND: Readonly<Record<ApiOp, ApiKind>> = {
  chat: "chatCompletions",
  completions: "completions",
  embeddings: "embeddings",
  rerank: "rerank",
  models: "models",
};

/** One resolved load signal: the series to try, in order, and how to combine several label sets. */
interface LoadSignal {
  candidates: readonly MetricCandidate[];
  unit: MetricUnit;
}

/** Values of the samples matching a series (name and every label it selects), finite ones only. */
export function matchingValues(samples: readonly Sample[], series: MetricCandidate): number[] {
  const out: number[] = [];
  const want = series.labels;
  for (const s of samples) {
    if (s.name !== series.name || !Number.isFinite(s.value)) continue;
    if (want !== undefined) {
      let ok = true;
      for (const k in want) {
        if (s.labels[k] !== want[k]) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
    }
    out.push(s.value);
  }
  return out;
}

/** The first candidate present in `samples`, with its values; `undefined` when none is. */
export function firstPresent(
  samples: readonly Sample[],
  candidates: readonly MetricCandidate[],
): { series: MetricCandidate; values: number[] } | undefined {
  for (const series of candidates) {
    const values = matchingValues(samples, series);
    if (values.length > 0) return { series, values };
  }
  return undefined;
}

export function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

/** A catalog `fraction` clamped to 0–1; a percentage unit would be divided by 100 here. */
export function toFraction(value: number, unit: MetricUnit): number {
  const v = unit === "fraction" ? value : value / 100;
  return Math.min(1, Math.max(0, v));
}

/**
 * The catalog-driven adapter every engine builds on: paths and metric names from the catalog,
 * the tolerant load reader, and API-key headers. Engine modules subclass it only where the
 * engine behaves differently (Triton's KV fallback, the external provider's health path).
 */
export class CatalogAdapter implements EngineAdapter {
  readonly id: EngineId;
  readonly version: string;
  readonly healthPath: string;
  readonly metricsPath: string | undefined;
  protected readonly info: EngineInfo;
  protected readonly signals: Partial<Record<"running" | "waiting" | "kvCacheUsage", LoadSignal>>;
  /** Every metric name the load reader looks at: the parser skips all other lines. */
  protected readonly wanted: ReadonlySet<string>;
  private readonly apiKeyEnv: string | undefined;
  private readonly pool: string | undefined;
  private cachedKey: string | undefined;
  private cachedHeaders: Readonly<Record<string, string>> = Object.freeze({});

  constructor(engine: EngineId, opts: AdapterOptions = {}) {
    this.info = engineInfo(engine, opts.version);
    this.id = engine;
    this.version = this.info.version;
    this.healthPath = this.resolveHealthPath();
    this.metricsPath = this.info.metricsPath ?? undefined;
    this.apiKeyEnv = opts.apiKeyEnv;
    this.pool = opts.pool;
    const resolved = metricNames(engine, opts.version);
    const signals: Partial<Record<"running" | "waiting" | "kvCacheUsage", LoadSignal>> = {};
    const wanted = new Set<string>();
    for (const key of ["running", "waiting", "kvCacheUsage"] as const satisfies readonly MetricKey[]) {
      const r: ResolvedMetric | undefined = resolved[key];
      if (r === undefined || r.candidates.length === 0) continue;
      signals[key] = { candidates: r.candidates, unit: r.unit };
      for (const c of r.candidates) wanted.add(c.name);
    }
    this.signals = signals;
    this.wanted = wanted;
  }

  /** Readiness first (the model is loaded), else liveness, else the model list. */
  protected resolveHealthPath(): string {
    return this.info.readinessPath ?? this.info.healthPath ?? this.info.api.models ?? "/";
  }

  apiPath(op: ApiOp): string | undefined {
    return this.info.api[OP_KIND[op]];
  }

  metricsUrl(baseUrl: string): string | undefined {
    if (this.metricsPath === undefined) return undefined;
    const base = baseUrl.replace(/\/+$/, "");
    if (this.info.metricsPort === this.info.defaultPort) return base + this.metricsPath;
    // Metrics on their own port (Triton 8002): move there when the URL uses the engine's default
    // API port; a remapped port (port-forward, NodePort) is kept as given.
    const u = new URL(base);
    const port = u.port === "" ? (u.protocol === "https:" ? 443 : 80) : Number(u.port);
    if (port === this.info.defaultPort) u.port = String(this.info.metricsPort);
    return `${u.origin}${u.pathname.replace(/\/+$/, "")}${this.metricsPath}`;
  }

  parseLoad(metricsText: string, now: number): EndpointLoad | undefined {
    if (this.metricsPath === undefined || this.wanted.size === 0 || metricsText.length === 0)
      return undefined;
    const samples: Sample[] = [];
    forEachSample(metricsText, this.wanted, (s) => {
      samples.push(s);
    });
    if (samples.length === 0) return undefined;
    return this.loadFromSamples(samples, now);
  }

  /** Running and waiting summed over label sets, KV usage averaged; engines override the KV part. */
  protected loadFromSamples(samples: readonly Sample[], now: number): EndpointLoad | undefined {
    const running = this.count(samples, "running");
    const waiting = this.count(samples, "waiting");
    if (running === undefined && waiting === undefined) return undefined;
    const load: EndpointLoad = { running: running ?? 0, waiting: waiting ?? 0, at: now };
    const kv = this.kvUsage(samples);
    if (kv !== undefined) load.kvUsage = kv;
    return load;
  }

  protected count(samples: readonly Sample[], key: "running" | "waiting"): number | undefined {
    const signal = this.signals[key];
    if (signal === undefined) return undefined;
    const hit = firstPresent(samples, signal.candidates);
    if (hit === undefined) return undefined;
    return Math.max(0, sum(hit.values));
  }

  protected kvUsage(samples: readonly Sample[]): number | undefined {
    const signal = this.signals.kvCacheUsage;
    if (signal === undefined) return undefined;
    const hit = firstPresent(samples, signal.candidates);
    if (hit === undefined) return undefined;
    // Several label sets (data-parallel engines, one cache each): the mean is the fraction of
    // all blocks in use when the caches are the same size.
    return toFraction(sum(hit.values) / hit.values.length, signal.unit);
  }

  /** 501 is "not implemented" on every engine; context wording is engine-specific (override). */
  refusal(status: number, _body: unknown): UpstreamRefusal | undefined {
    return isNotImplementedStatus(status) ? "not-supported" : undefined;
  }

  requestHeaders(env: Env): Readonly<Record<string, string>> {
    const name = this.apiKeyEnv;
    if (name === undefined) return this.cachedHeaders;
    const key = env[name];
    if (key === undefined || key === "") {
      throw new InferplaneError(
        "internal",
        `environment variable ${name} is not set: ${this.pool ? `pool ${this.pool}` : `the ${this.id} upstream`} needs its API key there (models[].apiKeyEnv)`,
      );
    }
    if (key !== this.cachedKey) {
      this.cachedKey = key;
      this.cachedHeaders = Object.freeze({ authorization: `Bearer ${key}` });
    }
    return this.cachedHeaders;
  }
}
