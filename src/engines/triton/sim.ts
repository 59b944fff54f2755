/**
 * Triton's simulator flavour: its generate extension (/v2/models/{model}/generate and
 * …/generate_stream), the OpenAI routes of its separate frontend, its error body
 * (`{"error": message}`), and its exposition: `model`/`version` labels and the KV block counts
 * older TensorRT-LLM backends expose instead of the fraction.
 */

import type { SimFlavourFacts } from "../../sim/flavours.js";
import type { Wire, WireContext } from "../../sim/generation.js";
import type { MetricStyle } from "../../sim/metrics.js";
import type { ParsedGeneration, RequestShape } from "../../sim/request.js";
import type { NativeDialect } from "../../sim/wire-errors.js";
import { vllmBuckets } from "../vllm/sim.js";

/** How a Triton generate reply is written: SSE frames of `text_output`, or one JSON body. */
export function tritonWire(ctx: WireContext, p: ParsedGeneration): Wire {
  const model = ctx.servedJson;
  const pre = `data: {"model_name":${model},"model_version":"1","sequence_end":false,"sequence_id":0,"text_output":"`;
  return {
    stream: p.stream,
    contentType: "sse",
    ascii: ctx.asciiName,
    head: () => "",
    token: (_i, text) => `${pre + text}"}\n\n`,
    end: () => "",
    body: (g) => ({
      model_name: ctx.servedModelName,
      model_version: "1",
      sequence_end: false,
      sequence_id: 0,
      text_output: g.fullText(),
    }),
  };
}

/** `/v2/models/{model}/generate` → fastify's `/v2/models/:model/generate`. */
export function tritonRoute(path: string): string {
  return path.replace(/\{(\w+)\}/g, ":$1");
}

const TRITON_DIALECT: NativeDialect = { errorBody: (e) => ({ error: e.message }) };

/** `{"text_input", "max_tokens", "stop_words"}` with the model in the URL. */
const GENERATE: RequestShape = {
  chat: false,
  model: "url",
  prompt: "text_input",
  maxTokens: ["max_completion_tokens", "max_tokens"],
  stop: "stop_words",
  stream: "if-true",
};

const metricStyle: MetricStyle = {
  defaultLabels: (model) => ({ model: model, version: "1" }),
  itlPerToken: false,
  finishedReason: false,
  observesAborts: false,
  // Older TensorRT-LLM backends lack `fraction`: readers divide `used` by `max` (catalog note).
  kvBlockSeries: true,
  // Triton's histograms are not simulated by name; vLLM's buckets serve.
  buckets: vllmBuckets,
};

export const tritonSim: SimFlavourFacts = {
  samplesN: false,
  metricStyle,
  adjust(f) {
    const api = f.info.api;
    f.native.dialect = TRITON_DIALECT;
    const wire = (ctx: WireContext, p: ParsedGeneration) => tritonWire(ctx, p);
    if (api.generate !== undefined)
      f.native.generate.push({
        path: tritonRoute(api.generate),
        request: GENERATE,
        dialect: TRITON_DIALECT,
        wire,
      });
    if (api.generateStream !== undefined)
      f.native.generate.push({
        path: tritonRoute(api.generateStream),
        request: { ...GENERATE, stream: "always" },
        dialect: TRITON_DIALECT,
        wire,
      });
    // Triton's OpenAI-compatible frontend (triton-inference-server/server python/openai) serves
    // /v1/chat/completions, /v1/completions and /v1/models beside /metrics and /health/ready.
    f.openai.completions ??= "/v1/completions";
    f.openai.models ??= "/v1/models";
    f.healthPaths.push("/health/ready");
  },
};
