/** Text Generation Inference's native API: /generate, /generate_stream and /info. */

import type { Generation, Job, Wire } from "../generation.js";
import type { SimSetup } from "../options.js";
import type { ParsedGeneration } from "../request.js";

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
