/**
 * Engine flavours of the HTTP simulator: which paths a replica serves, which health and metrics
 * paths it answers, and which metric names it exposes — read from the catalog
 * (`engineInfo`, `metricNames`) at the engine version asked for. What differs by engine beyond
 * the catalog (native routes, error bodies, exposition style) is the engine's own, in
 * src/engines/<engine>/sim.ts.
 */
import {
  type EngineId,
  type EngineInfo,
  engineInfo,
  type MetricKey,
  metricNames,
  parseVersion,
  type ResolvedMetric,
} from "../catalog/engines.js";
import { SIM_ENGINES, simFlavourFacts } from "../engines/simulated.js";
import type { MetricStyle } from "./metrics.js";
import type { SimSetup } from "./options.js";
import type { NativeRoute } from "./request.js";
import type { Dialect, NativeDialect } from "./wire-errors.js";

export { SIM_ENGINES };
export type SimEngine = EngineId;

export function isSimEngine(id: string): id is SimEngine {
  return SIM_ENGINES.includes(id as EngineId);
}

/** A GET route of an engine's native API that is not a generation (TGI `/info`, Ollama `/api/tags`). */
export interface NativeGet {
  path: string;
  /** Answers 503 during the start-up delay, as the engine does. */
  waitsReady: boolean;
  reply(setup: SimSetup): { type?: string; body: unknown };
}

/** An engine's own embeddings route (Ollama's `/api/embed`): its error dialect and body. */
export interface NativeEmbed {
  path: string;
  dialect: NativeDialect;
  body(setup: SimSetup, vectors: Float32Array[], tokens: number): unknown;
}

export interface Flavour {
  engine: SimEngine;
  version: string;
  info: EngineInfo;
  /** Paths answering 200 when up (503 during the start-up delay). */
  healthPaths: string[];
  /** Prometheus exposition path; `null` for engines without one (Ollama). */
  metricsPath: string | null;
  /** The error body of the OpenAI routes and health paths: OpenAI's (vLLM's), or the engine's (llama.cpp's). */
  openaiDialect: Dialect;
  /** OpenAI-compatible routes. */
  openai: {
    chat: string | null;
    completions: string | null;
    models: string | null;
    embeddings: string | null;
    rerank: string[];
    score: string | null;
    tokenize: string | null;
  };
  /** Engine-native routes, as the engine's folder adds them (src/engines/<engine>/sim.ts). */
  native: {
    /** The error body of paths outside `/v1/`; `null`: OpenAI's. */
    dialect: NativeDialect | null;
    version: string | null;
    /** The version path answers 503 during the start-up delay (Ollama's). */
    versionWaitsReady: boolean;
    generate: NativeRoute[];
    gets: NativeGet[];
    embed: NativeEmbed | null;
  };
  /** Samples n > 1 choices on its OpenAI routes (vLLM). */
  samplesN: boolean;
  /** How its Prometheus exposition looks beyond the names (labels, buckets, per-token ITL). */
  metricStyle: MetricStyle;
  /** Metric names by semantic key at this version (empty for Ollama). */
  metrics: Partial<Record<MetricKey, ResolvedMetric>>;
}

/** What an engine's folder says about its flavour (src/engines/<engine>/sim.ts). */
export interface SimFlavourFacts {
  samplesN: boolean;
  metricStyle: MetricStyle;
  /** Adds the native routes, and the paths the catalog does not list (with their sources). */
  adjust(f: Flavour): void;
}

/**
 * The flavour of `engine` at `version` (default: the catalog's default version). Throws a
 * RangeError for an unknown engine or an unparseable version.
 */
export function flavour(engine: string, version?: string): Flavour {
  const facts = simFlavourFacts(engine);
  if (facts === undefined || !isSimEngine(engine))
    throw new RangeError(`unknown engine "${engine}" (use ${SIM_ENGINES.join(", ")})`);
  if (version !== undefined && parseVersion(version) === null)
    throw new RangeError(`engine version "${version}" is not a version such as 0.8.5 or 25.02`);
  const info = engineInfo(engine, version);
  const api = info.api;
  const health = [info.healthPath, info.readinessPath].filter((p): p is string => p !== null);
  const f: Flavour = {
    engine,
    version: info.version,
    info,
    healthPaths: [...new Set(health)],
    metricsPath: info.metricsPath,
    openaiDialect: "openai",
    openai: {
      chat: api.chatCompletions ?? null,
      completions: api.completions ?? null,
      models: api.models ?? null,
      embeddings: api.embeddings ?? null,
      rerank: api.rerank !== undefined ? [api.rerank] : [],
      score: api.score ?? null,
      tokenize: api.tokenize ?? null,
    },
    native: {
      dialect: null,
      version: api.version ?? null,
      versionWaitsReady: false,
      generate: [],
      gets: [],
      embed: null,
    },
    samplesN: facts.samplesN,
    metricStyle: facts.metricStyle,
    metrics: metricNames(engine, info.version),
  };
  facts.adjust(f);
  return f;
}

/** Whether the flavour exposes a series for `key` (by default, not only behind a flag). */
export function exposedNames(f: Flavour, key: MetricKey): string[] {
  return f.metrics[key]?.exposed.map((s) => s.name) ?? [];
}
