/**
 * Ollama's simulator flavour: its native API (/api/chat, /api/generate as NDJSON streams,
 * /api/embed, /api/tags, "Ollama is running" at /) beside the OpenAI routes, its error body
 * (`{"error": message}`, "model '…' not found"), and no Prometheus exposition (ollama/ollama#3144).
 */

import type { SimFlavourFacts } from "../../sim/flavours.js";
import type { Generation, Wire, WireContext } from "../../sim/generation.js";
import type { MetricStyle } from "../../sim/metrics.js";
import type { SimSetup } from "../../sim/options.js";
import type { ParsedGeneration, RequestShape } from "../../sim/request.js";
import type { NativeDialect } from "../../sim/wire-errors.js";
import { vllmBuckets } from "../vllm/sim.js";

/** How an Ollama chat or generate reply is written: NDJSON lines, the last with Ollama's timings. */
export function ollamaWire(chat: boolean, ctx: WireContext, p: ParsedGeneration): Wire {
  const model = ctx.servedJson;
  const createdAt = JSON.stringify(new Date().toISOString());
  const pre = chat
    ? `{"model":${model},"created_at":${createdAt},"message":{"role":"assistant","content":"`
    : `{"model":${model},"created_at":${createdAt},"response":"`;
  const post = chat ? `"},"done":false}\n` : `","done":false}\n`;
  const final = (g: Generation, content: string) => {
    const ns = (s: number) => Math.round(s * 1e9);
    const end = g.last;
    return {
      model: ctx.servedModelName,
      created_at: JSON.parse(createdAt) as string,
      ...(chat ? { message: { role: "assistant", content } } : { response: content }),
      done: true,
      done_reason: g.job.finishReason,
      total_duration: ns(end - g.arrival),
      load_duration: 0,
      prompt_eval_count: g.promptTokens,
      prompt_eval_duration: ns((g.first ?? end) - (g.scheduled ?? g.arrival)),
      eval_count: g.generated,
      eval_duration: ns(end - (g.first ?? end)),
    };
  };
  return {
    stream: p.stream,
    contentType: "ndjson",
    ascii: ctx.asciiName,
    head: () => "",
    token: (_i, text) => pre + text + post,
    end: (g) => `${JSON.stringify(final(g, ""))}\n`,
    body: (g) => final(g, g.fullText()),
  };
}

/** `GET /api/tags`: the one served model, described as Ollama lists a pulled model. */
export function ollamaTags(setup: SimSetup): unknown {
  const m = setup.model;
  const q =
    setup.config.weightFormat === "none"
      ? m.nativeDtype.toUpperCase()
      : setup.config.weightFormat.toUpperCase();
  return {
    models: [
      {
        name: setup.servedModelName,
        model: setup.servedModelName,
        modified_at: new Date(0).toISOString(),
        size: 0,
        digest: "0".repeat(64),
        details: {
          parent_model: "",
          format: "gguf",
          family: m.family,
          families: [m.family],
          parameter_size: `${(m.totalParams / 1e9).toFixed(1)}B`,
          quantization_level: q,
        },
      },
    ],
  };
}

const OLLAMA_DIALECT: NativeDialect = {
  errorBody: (e) => ({ error: e.message }),
  modelNotFound: (name) => `model '${name}' not found`,
};

/** `{"model", "prompt" | "messages", "stream", "options": {num_predict, stop, seed}}`; streams unless told not to. */
const GENERATE: RequestShape = {
  chat: false,
  params: "options",
  model: "body",
  prompt: "prompt",
  maxTokens: ["num_predict"],
  negativeMaxUnlimited: true,
  stop: "stop",
  stream: "unless-false",
};

const metricStyle: MetricStyle = {
  itlPerToken: false,
  finishedReason: false,
  observesAborts: false,
  kvBlockSeries: false,
  buckets: vllmBuckets, // no exposition: never read
};

export const ollamaSim: SimFlavourFacts = {
  samplesN: false,
  metricStyle,
  adjust(f) {
    const api = f.info.api;
    const dialect = OLLAMA_DIALECT;
    f.native.dialect = dialect;
    f.native.versionWaitsReady = true;
    if (api.nativeChat !== undefined)
      f.native.generate.push({
        path: api.nativeChat,
        request: { ...GENERATE, chat: true },
        dialect,
        wire: (ctx, p) => ollamaWire(true, ctx, p),
      });
    if (api.generate !== undefined)
      f.native.generate.push({
        path: api.generate,
        request: GENERATE,
        dialect,
        wire: (ctx, p) => ollamaWire(false, ctx, p),
      });
    if (api.nativeEmbed !== undefined)
      f.native.embed = {
        path: api.nativeEmbed,
        dialect,
        body: (setup, vectors, tokens) => ({
          model: setup.servedModelName,
          embeddings: vectors.map((v) => Array.from(v)),
          prompt_eval_count: tokens,
          simulated: true,
        }),
      };
    // Ollama docs api.md, "List Local Models": GET /api/tags. The health path "/" answers
    // "Ollama is running" (text, not JSON).
    f.native.gets.push({
      path: "/api/tags",
      waitsReady: false,
      reply: (setup) => ({ body: ollamaTags(setup) }),
    });
    const root = f.info.healthPath;
    if (root !== null)
      f.native.gets.push({
        path: root,
        waitsReady: true,
        reply: () => ({ type: "text/plain; charset=utf-8", body: "Ollama is running" }),
      });
    f.healthPaths = f.healthPaths.filter((p) => p !== root && p !== api.version);
  },
};
