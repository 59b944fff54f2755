/** Ollama's native API: /api/chat, /api/generate (NDJSON streams) and /api/tags. */

import type { Generation, Wire, WireContext } from "../generation.js";
import type { SimSetup } from "../options.js";
import type { ParsedGeneration } from "../request.js";

/** How an Ollama chat or generate reply is written: NDJSON lines, the last with Ollama's timings. */
export function ollamaWire(
  kind: "ollama-chat" | "ollama-generate",
  ctx: WireContext,
  p: ParsedGeneration,
): Wire {
  const model = ctx.servedJson;
  const chat = kind === "ollama-chat";
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
