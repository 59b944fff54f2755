/** Triton's generate extension: /v2/models/{model}/generate and …/generate_stream. */

import type { Wire, WireContext } from "../generation.js";
import type { ParsedGeneration } from "../request.js";

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
