/** The OpenAI API as vLLM speaks it (TGI, Ollama and Triton serve it too): chat and text completions, the model list. */

import type { Generation, Job, Wire, WireContext } from "../generation.js";
import type { SimSetup } from "../options.js";
import type { ParsedGeneration } from "../request.js";

/** vLLM's usage object of a finished generation. */
function usage(g: Generation) {
  return {
    prompt_tokens: g.promptTokens,
    total_tokens: g.promptTokens + g.generated,
    completion_tokens: g.generated,
    prompt_tokens_details: { cached_tokens: g.cached },
  };
}

/** How a chat or text completion is written, streamed (SSE) or whole. */
export function openaiWire(
  kind: "chat" | "completion",
  ctx: WireContext,
  p: ParsedGeneration,
  job: Job,
): Wire {
  const model = ctx.servedJson;
  const created = ctx.created;
  const chat = kind === "chat";
  const id = `${chat ? "chatcmpl" : "cmpl"}-${job.id}`;
  const object = chat ? "chat.completion.chunk" : "text_completion";
  const base = `{"id":"${id}","object":"${object}","created":${created},"model":${model},"choices":[`;
  const pre = chat ? `data: ${base}{"index":0,"delta":{"content":"` : `data: ${base}{"index":0,"text":"`;
  const close = chat ? `"}` : `"`;
  const mid = `${close},"logprobs":null,"finish_reason":null}]}\n\n`;
  const midLast = `${close},"logprobs":null,"finish_reason":"${job.finishReason}","stop_reason":${job.stopReason}}]}\n\n`;
  return {
    stream: p.stream,
    contentType: "sse",
    ascii: ctx.asciiName,
    head: () =>
      chat
        ? `data: ${base}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`
        : "",
    token: (_i, text, last) => pre + text + (last ? midLast : mid),
    end: (g) =>
      p.includeUsage
        ? `data: ${base}],"usage":${JSON.stringify(usage(g))}}\n\ndata: [DONE]\n\n`
        : "data: [DONE]\n\n",
    body: (g) =>
      chat
        ? {
            id,
            object: "chat.completion",
            created,
            model: ctx.servedModelName,
            choices: [
              {
                index: 0,
                message: { role: "assistant", content: g.fullText(), tool_calls: [] },
                logprobs: null,
                finish_reason: g.job.finishReason,
                stop_reason: JSON.parse(job.stopReason) as string | null,
              },
            ],
            usage: usage(g),
            prompt_logprobs: null,
          }
        : {
            id,
            object: "text_completion",
            created,
            model: ctx.servedModelName,
            choices: [
              {
                index: 0,
                text: g.fullText(),
                logprobs: null,
                finish_reason: g.job.finishReason,
                stop_reason: JSON.parse(job.stopReason) as string | null,
              },
            ],
            usage: usage(g),
          },
  };
}

/** `GET /v1/models`: the one served model. */
export function modelsList(setup: SimSetup, created: number): unknown {
  return {
    object: "list",
    data: [
      {
        id: setup.servedModelName,
        object: "model",
        created,
        owned_by: setup.flavour.engine,
        root: setup.repo,
        parent: null,
        max_model_len: setup.config.maxModelLen,
      },
    ],
  };
}
