/**
 * Engine flavours of the HTTP simulator: which paths a replica serves, which health and metrics
 * paths it answers, and which metric names it exposes — read from the catalog
 * (`engineInfo`, `metricNames`) at the engine version asked for. The few paths the catalog does
 * not list are added here with their source.
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

export const SIM_ENGINES = ["vllm", "tgi", "ollama", "triton"] as const;
export type SimEngine = (typeof SIM_ENGINES)[number];

export function isSimEngine(id: string): id is SimEngine {
  return (SIM_ENGINES as readonly string[]).includes(id);
}

export interface Flavour {
  engine: SimEngine;
  version: string;
  info: EngineInfo;
  /** Paths answering 200 when up (503 during the start-up delay). */
  healthPaths: string[];
  /** Prometheus exposition path; `null` for engines without one (Ollama). */
  metricsPath: string | null;
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
  /** Engine-native routes. */
  native: {
    version: string | null;
    tgiGenerate: string | null;
    tgiGenerateStream: string | null;
    tgiInfo: string | null;
    ollamaChat: string | null;
    ollamaGenerate: string | null;
    ollamaEmbed: string | null;
    ollamaTags: string | null;
    ollamaRoot: string | null;
    tritonGenerate: string | null;
    tritonGenerateStream: string | null;
  };
  /** Metric names by semantic key at this version (empty for Ollama). */
  metrics: Partial<Record<MetricKey, ResolvedMetric>>;
}

/**
 * The flavour of `engine` at `version` (default: the catalog's default version). Throws a
 * RangeError for an unknown engine or an unparseable version.
 */
export function flavour(engine: string, version?: string): Flavour {
  if (!isSimEngine(engine))
    throw new RangeError(`unknown engine "${engine}" (use ${SIM_ENGINES.join(", ")})`);
  if (version !== undefined && parseVersion(version) === null)
    throw new RangeError(`engine version "${version}" is not a version such as 0.8.5 or 25.02`);
  const info = engineInfo(engine as EngineId, version);
  const api = info.api;
  const health = [info.healthPath, info.readinessPath].filter((p): p is string => p !== null);
  const f: Flavour = {
    engine,
    version: info.version,
    info,
    healthPaths: [...new Set(health)],
    metricsPath: info.metricsPath,
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
      version: api.version ?? null,
      tgiGenerate: null,
      tgiGenerateStream: null,
      tgiInfo: null,
      ollamaChat: null,
      ollamaGenerate: null,
      ollamaEmbed: null,
      ollamaTags: null,
      ollamaRoot: null,
      tritonGenerate: null,
      tritonGenerateStream: null,
    },
    metrics: metricNames(engine as EngineId, info.version),
  };
  switch (engine) {
    case "vllm":
      // vllm/entrypoints/openai/api_server.py serves rerank at /rerank, /v1/rerank and /v2/rerank.
      if (api.rerank !== undefined) f.openai.rerank = [...new Set(["/rerank", api.rerank, "/v2/rerank"])];
      break;
    case "tgi":
      f.native.tgiGenerate = api.generate ?? null;
      f.native.tgiGenerateStream = api.generateStream ?? null;
      f.native.tgiInfo = api.info ?? null;
      break;
    case "ollama":
      f.native.ollamaChat = api.nativeChat ?? null;
      f.native.ollamaGenerate = api.generate ?? null;
      f.native.ollamaEmbed = api.nativeEmbed ?? null;
      // Ollama docs api.md, "List Local Models": GET /api/tags. The health path "/" answers
      // "Ollama is running" (text, not JSON).
      f.native.ollamaTags = "/api/tags";
      f.native.ollamaRoot = info.healthPath;
      f.healthPaths = f.healthPaths.filter((p) => p !== info.healthPath && p !== api.version);
      break;
    case "triton":
      f.native.tritonGenerate = api.generate ?? null;
      f.native.tritonGenerateStream = api.generateStream ?? null;
      // Triton's OpenAI-compatible frontend (triton-inference-server/server python/openai) serves
      // /v1/chat/completions, /v1/completions and /v1/models beside /metrics and /health/ready.
      f.openai.completions ??= "/v1/completions";
      f.openai.models ??= "/v1/models";
      f.healthPaths.push("/health/ready");
      break;
  }
  return f;
}

/** Whether the flavour exposes a series for `key` (by default, not only behind a flag). */
export function exposedNames(f: Flavour, key: MetricKey): string[] {
  return f.metrics[key]?.exposed.map((s) => s.name) ?? [];
}
