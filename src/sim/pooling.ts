/**
 * The endpoints simulated without engine time: embeddings (OpenAI's and an engine's own), rerank, score
 * and tokenize. Vectors and scores come from text hashes (src/sim/text.ts). The caller has
 * already checked readiness.
 */

import type { FastifyReply, FastifyRequest } from "fastify";
import type { NativeEmbed } from "./flavours.js";
import type { SimSetup } from "./options.js";
import {
  type ChatMessageLike,
  chatPromptIds,
  completionPromptIds,
  embeddingBase64,
  embedText,
  encodeText,
  rerankScore,
} from "./text.js";
import { badRequest, type Dialect, modelNotFound, sendError } from "./wire-errors.js";

/** What these endpoints read from their replica. */
export interface PoolingHost {
  readonly setup: SimSetup;
  nextId(): string;
  created(): number;
}

export function embeddings(
  host: PoolingHost,
  req: FastifyRequest,
  reply: FastifyReply,
  native?: NativeEmbed,
): unknown {
  const dialect: Dialect = native?.dialect ?? "openai";
  const b = req.body as Record<string, unknown> | undefined;
  if (b === undefined || b === null || typeof b !== "object")
    return sendError(reply, dialect, badRequest("The request body must be a JSON object."));
  if (b.model !== undefined && b.model !== host.setup.servedModelName)
    return sendError(reply, dialect, modelNotFound(String(b.model), dialect));
  const input = b.input;
  let texts: string[];
  // Token-id inputs are already tokens: they count one each (their text only seeds the vector).
  let idCounts: number[] | null = null;
  if (typeof input === "string") texts = [input];
  else if (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === "string"))
    texts = input as string[];
  else if (Array.isArray(input) && input.length > 0 && input.every((x) => Number.isInteger(x))) {
    texts = [(input as number[]).join(" ")];
    idCounts = [input.length];
  } else if (
    Array.isArray(input) &&
    input.length > 0 &&
    input.every((x) => Array.isArray(x) && x.length > 0 && x.every((y) => Number.isInteger(y)))
  ) {
    texts = (input as number[][]).map((x) => x.join(" "));
    idCounts = (input as number[][]).map((x) => x.length);
  } else
    return sendError(
      reply,
      dialect,
      badRequest("`input` must be a string, an array of strings or token ids.", "input"),
    );
  const dims =
    typeof b.dimensions === "number" && Number.isInteger(b.dimensions) && b.dimensions > 0
      ? b.dimensions
      : host.setup.embeddingDim;
  const format = b.encoding_format ?? "float";
  if (format !== "float" && format !== "base64")
    return sendError(
      reply,
      dialect,
      badRequest('`encoding_format` must be "float" or "base64".', "encoding_format"),
    );
  let tokens = 0;
  const vectors = texts.map((t, i) => {
    tokens += idCounts !== null ? (idCounts[i] as number) : encodeText(t).length;
    return embedText(t, dims);
  });
  reply.header("x-sim-simulated", "true");
  if (native) return reply.send(native.body(host.setup, vectors, tokens));
  return reply.send({
    object: "list",
    data: vectors.map((v, index) => ({
      object: "embedding",
      index,
      embedding: format === "base64" ? embeddingBase64(v) : Array.from(v),
    })),
    model: host.setup.servedModelName,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
    simulated: true,
  });
}

export function rerank(host: PoolingHost, req: FastifyRequest, reply: FastifyReply): unknown {
  const b = req.body as Record<string, unknown> | undefined;
  if (b === undefined || b === null || typeof b !== "object")
    return sendError(reply, "openai", badRequest("The request body must be a JSON object."));
  if (b.model !== undefined && b.model !== host.setup.servedModelName)
    return sendError(reply, "openai", modelNotFound(String(b.model)));
  if (typeof b.query !== "string")
    return sendError(reply, "openai", badRequest("`query` must be a string.", "query"));
  const query = b.query;
  if (!Array.isArray(b.documents))
    return sendError(reply, "openai", badRequest("`documents` must be an array.", "documents"));
  const docs: string[] = [];
  for (const d of b.documents) {
    if (typeof d === "string") docs.push(d);
    else if (d !== null && typeof d === "object" && typeof (d as { text?: unknown }).text === "string")
      docs.push((d as { text: string }).text);
    else
      return sendError(reply, "openai", badRequest("Each document must be a string or {text}.", "documents"));
  }
  const topN =
    typeof b.top_n === "number" && Number.isInteger(b.top_n) && b.top_n > 0 ? b.top_n : docs.length;
  const withDocs = b.return_documents !== false;
  let tokens = encodeText(query).length * docs.length;
  const results = docs
    .map((text, index) => {
      tokens += encodeText(text).length;
      return { index, relevance_score: rerankScore(query, text), text };
    })
    .sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index)
    .slice(0, topN)
    .map((r) =>
      withDocs
        ? { index: r.index, document: { text: r.text }, relevance_score: r.relevance_score }
        : { index: r.index, relevance_score: r.relevance_score },
    );
  reply.header("x-sim-simulated", "true");
  return reply.send({
    id: `rerank-${host.nextId()}`,
    model: host.setup.servedModelName,
    usage: { total_tokens: tokens },
    results,
    simulated: true,
  });
}

/** vLLM's /score: `text_1` against each of `text_2` (a string or a list). */
export function score(host: PoolingHost, req: FastifyRequest, reply: FastifyReply): unknown {
  const b = req.body as Record<string, unknown> | undefined;
  if (b === undefined || b === null || typeof b !== "object")
    return sendError(reply, "openai", badRequest("The request body must be a JSON object."));
  const t1 = b.text_1;
  const t2 = typeof b.text_2 === "string" ? [b.text_2] : b.text_2;
  if (typeof t1 !== "string" || !Array.isArray(t2) || !t2.every((x) => typeof x === "string"))
    return sendError(
      reply,
      "openai",
      badRequest("`text_1` must be a string and `text_2` a string or a list of strings.", "text_2"),
    );
  const docs = t2 as string[];
  let tokens = 0;
  const data = docs.map((d, index) => {
    tokens += encodeText(t1).length + encodeText(d).length;
    return { index, object: "score", score: rerankScore(t1, d) };
  });
  reply.header("x-sim-simulated", "true");
  return reply.send({
    id: `score-${host.nextId()}`,
    object: "list",
    created: host.created(),
    model: host.setup.servedModelName,
    data,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
    simulated: true,
  });
}

export function tokenize(host: PoolingHost, req: FastifyRequest, reply: FastifyReply): unknown {
  const b = req.body as Record<string, unknown> | undefined;
  let ids: number[];
  if (b && Array.isArray(b.messages)) ids = chatPromptIds(b.messages as ChatMessageLike[]);
  else if (b && typeof b.prompt === "string") ids = completionPromptIds(b.prompt);
  else return sendError(reply, "openai", badRequest("Give `prompt` (a string) or `messages`.", "prompt"));
  return reply.send({ count: ids.length, max_model_len: host.setup.config.maxModelLen, tokens: ids });
}
