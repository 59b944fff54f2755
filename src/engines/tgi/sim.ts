/**
 * TGI's simulator flavour: its native API (/generate, /generate_stream and /info) beside the
 * OpenAI routes, its error body (`{"error", "error_type"}`), and its exposition: no labels, the
 * mean time per token of each request, the router's buckets.
 */

import type { MetricKey } from "../../catalog/engines.js";
import type { SimFlavourFacts } from "../../sim/flavours.js";
import type { Generation, Job, Wire } from "../../sim/generation.js";
import type { MetricStyle } from "../../sim/metrics.js";
import type { SimSetup } from "../../sim/options.js";
import type { ParsedGeneration, RequestShape } from "../../sim/request.js";
import type { NativeDialect, WireError } from "../../sim/wire-errors.js";

/** How a TGI generation is written: TGI's own SSE frames (the last carries the whole text), or one JSON body. */
export function tgiWire(p: ParsedGeneration, job: Job): Wire {
  const tgiReason =
    job.finishReason === "length" ? "length" : job.texts !== null ? "stop_sequence" : "eos_token";
  const details = (g: Generation) => ({
    finish_reason: tgiReason,
    generated_tokens: g.generated,
    seed: p.seed ?? null,
    input_length: g.promptTokens,
  });
  return {
    stream: p.stream,
    contentType: "sse",
    ascii: true,
    head: () => "",
    token: (i, text, last) =>
      last
        ? ""
        : `data:{"index":${i + 1},"token":{"id":${i},"text":"${text}","logprob":0,"special":false},"generated_text":null,"details":null,"top_tokens":null}\n\n`,
    end: (g) => {
      const i = g.generated - 1;
      const lastTok = { id: i, text: g.text(i), logprob: 0, special: false };
      return `data:${JSON.stringify({ index: i + 1, token: lastTok, generated_text: g.fullText(), details: details(g), top_tokens: null })}\n\n`;
    },
    body: (g) =>
      p.details
        ? { generated_text: g.fullText(), details: { ...details(g), prefill: [], tokens: [] } }
        : { generated_text: g.fullText() },
  };
}

/** `GET /info`. */
export function tgiInfo(setup: SimSetup): unknown {
  const config = setup.config;
  return {
    model_id: setup.repo,
    model_sha: null,
    model_pipeline_tag: "text-generation",
    max_concurrent_requests: config.maxNumSeqs,
    max_best_of: 2,
    max_stop_sequences: 4,
    max_input_tokens: config.maxModelLen - 1,
    max_total_tokens: config.maxModelLen,
    max_batch_total_tokens: config.numGpuBlocks * config.blockSize,
    version: setup.flavour.version,
    router: "text-generation-router",
    simulated: true,
  };
}

/**
 * A prompt over the context as TGI's router words it (router/src/validation.rs: 422, "Input
 * validation error: " + `MaxTotalTokens` or `InputLength`), recognised by tgi/dialect.ts.
 */
function tgiOverflow(e: WireError): WireError {
  const c = e.context;
  if (c === undefined) return e;
  const message =
    c.maxTokens !== undefined && c.promptTokens < c.contextTokens
      ? `Input validation error: \`inputs\` tokens + \`max_new_tokens\` must be <= ${c.contextTokens}. Given: ${c.promptTokens} \`inputs\` tokens and ${c.maxTokens} \`max_new_tokens\``
      : `Input validation error: \`inputs\` must have less than ${c.contextTokens} tokens. Given: ${c.promptTokens}`;
  return { ...e, status: 422, message };
}

/** TGI's error body (router `ErrorResponse`): validation errors say so in `error_type`. */
const TGI_DIALECT: NativeDialect = {
  errorBody: (e) => ({
    error: e.message,
    error_type: e.status === 422 || e.status === 400 ? "validation" : e.code,
  }),
  rewrite: tgiOverflow,
};

/** `{"inputs", "parameters": {max_new_tokens, stop, seed, details}}`; one model, so no `model`. */
const GENERATE: RequestShape = {
  chat: false,
  params: "parameters",
  model: "none",
  prompt: "inputs",
  maxTokens: ["max_new_tokens"],
  defaultMaxTokens: 100, // TGI's documented default
  stop: "stop",
  stream: "if-true",
};

// TGI router (server.rs): 35 duration buckets from 0.0001 s growing by 1.5×; token-count buckets
// at every hundredth of the token limit.
const TGI_DURATION = Array.from({ length: 35 }, (_, i) => Number((0.0001 * 1.5 ** (i + 1)).toPrecision(6)));
const hundredths = (max: number) =>
  Array.from({ length: 100 }, (_, i) => Number(((max / 100) * (i + 1)).toFixed(2)));

const metricStyle: MetricStyle = {
  itlPerToken: false,
  finishedReason: false,
  observesAborts: false,
  kvBlockSeries: false,
  buckets: (key: MetricKey, _name: string, maxModelLen: number) =>
    key === "promptTokens" || key === "generationTokens" ? hundredths(maxModelLen) : TGI_DURATION,
};

export const tgiSim: SimFlavourFacts = {
  samplesN: false,
  metricStyle,
  adjust(f) {
    const api = f.info.api;
    f.native.dialect = TGI_DIALECT;
    const wire = (_ctx: unknown, p: ParsedGeneration, job: Job) => tgiWire(p, job);
    if (api.generate !== undefined)
      f.native.generate.push({ path: api.generate, request: GENERATE, dialect: TGI_DIALECT, wire });
    if (api.generateStream !== undefined)
      f.native.generate.push({
        path: api.generateStream,
        request: { ...GENERATE, stream: "always" },
        dialect: TGI_DIALECT,
        wire,
      });
    if (api.info !== undefined)
      f.native.gets.push({ path: api.info, waitsReady: false, reply: (setup) => ({ body: tgiInfo(setup) }) });
  },
};
