/**
 * What a request may cost, decided before it is sent: the prompt's tokens (every part the engine
 * counts, not only the text) and the most completion tokens the engine could produce. Admission
 * reserves the sum, so no field the gateway does not read can make a request cost more than was
 * booked.
 *
 * Rules (docs/security.md "Token accounting"):
 * - Text: 1 token per 4 characters (the reservation is reconciled with the real usage the engine
 *   reports; this only has to be close, and it counts every character).
 * - Every chat message: 4 tokens of framing (OpenAI's count: 3 per message + 1 for a name;
 *   https://github.com/openai/openai-cookbook "How to count tokens with tiktoken").
 * - Tool definitions (`tools`, `functions`), `tool_choice`, tool calls (`tool_calls`,
 *   `function_call`) and any non-text part: their JSON, 1 token per 4 characters.
 * - An image part: IMAGE_PART_TOKENS more (OpenAI's count for one 1024×1024 image at high detail,
 *   85 + 4 × 170; https://platform.openai.com/docs/guides/images-vision "Calculating costs").
 * - Rerank: the query is scored once per document (vLLM's usage counts query + document per pair).
 * - Completion: the largest of every limit field an OpenAI-compatible engine honours
 *   (`max_tokens`, `max_completion_tokens`; `min_tokens` forces at least that many), times the
 *   number of sequences generated (`n`, `best_of`). With none set, the ceiling (the route's context
 *   left after the prompt, at most `gateway.limits.reserveTokens`), which the gateway then sets
 *   as `max_tokens` on the request so the engine stops there.
 */
import type { Op } from "./request-fields.js";

export const IMAGE_PART_TOKENS = 765;
const MESSAGE_FRAMING_TOKENS = 4;

/** Fields an OpenAI-compatible engine reads as a completion length (vLLM reads both limits). */
export const COMPLETION_LIMIT_FIELDS = ["max_tokens", "max_completion_tokens", "min_tokens"] as const;
/** Fields that multiply the sequences generated per request. */
export const SEQUENCE_FIELDS = ["n", "best_of"] as const;

/** A number an engine would accept: a finite number, or a numeric string (pydantic coerces it). */
function numeric(v: unknown): number | undefined {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? Math.ceil(n) : undefined;
}

function jsonChars(v: unknown): number {
  if (v === undefined || v === null) return 0;
  try {
    return JSON.stringify(v).length;
  } catch {
    return 0;
  }
}

/** Characters of a content value (string or array of parts) and the image parts in it. */
function contentCost(content: unknown): { chars: number; images: number } {
  if (typeof content === "string") return { chars: content.length, images: 0 };
  if (!Array.isArray(content)) return { chars: jsonChars(content), images: 0 };
  let chars = 0;
  let images = 0;
  for (const part of content) {
    const c = partCost(part);
    chars += c.chars;
    images += c.images;
  }
  return { chars, images };
}

/** One part of a content array: text, a token id, a token array, or a typed part (image parts counted). */
function partCost(part: unknown): { chars: number; images: number } {
  if (typeof part === "string") return { chars: part.length, images: 0 };
  if (typeof part === "number") return { chars: 4, images: 0 }; // a token id
  if (Array.isArray(part)) return { chars: 4 * part.length, images: 0 };
  if (typeof part !== "object" || part === null) return { chars: 0, images: 0 };
  const p = part as { type?: unknown; text?: unknown };
  if (typeof p.text === "string" && (p.type === undefined || p.type === "text"))
    return { chars: p.text.length, images: 0 };
  return { chars: jsonChars(part), images: typeof p.type === "string" && p.type.startsWith("image") ? 1 : 0 };
}

/** Characters and extra tokens (framing, images) a request's prompt fields add up to. */
interface PromptCost {
  chars: number;
  extra: number;
}

function addContent(cost: PromptCost, v: unknown): void {
  const c = contentCost(v);
  cost.chars += c.chars;
  cost.extra += c.images * IMAGE_PART_TOKENS;
}

function chatCost(body: Record<string, unknown>, cost: PromptCost): void {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (const m of messages) {
    cost.extra += MESSAGE_FRAMING_TOKENS;
    if (typeof m !== "object" || m === null) continue;
    const msg = m as Record<string, unknown>;
    addContent(cost, msg.content);
    if (typeof msg.name === "string") cost.chars += msg.name.length;
    cost.chars += jsonChars(msg.tool_calls) + jsonChars(msg.function_call);
    if (typeof msg.tool_call_id === "string") cost.chars += msg.tool_call_id.length;
  }
  cost.chars += jsonChars(body.tools) + jsonChars(body.functions) + jsonChars(body.tool_choice);
}

/** Prompt tokens a request will be charged, by the rules above. */
export function promptTokenEstimate(op: Op, body: Record<string, unknown>): number {
  const cost: PromptCost = { chars: 0, extra: 0 };
  if (op === "chat") chatCost(body, cost);
  else if (op === "completions") {
    addContent(cost, body.prompt);
    if (typeof body.suffix === "string") cost.chars += body.suffix.length;
  } else if (op === "embeddings") addContent(cost, body.input);
  else if (op === "rerank") {
    const docs = Array.isArray(body.documents) ? body.documents.length : 0;
    const query = contentCost(body.query).chars;
    addContent(cost, body.documents);
    cost.chars += query * Math.max(1, docs);
  }
  return Math.ceil(cost.chars / 4) + cost.extra;
}

export interface CompletionReserve {
  /** Completion tokens reserved (all sequences). */
  tokens: number;
  /** Set when the request named no limit: the per-sequence `max_tokens` the gateway imposes. */
  impose?: number;
}

/**
 * The most completion tokens the engine may produce for this request. `ceiling` applies when the
 * request sets no limit; `contextLeft` (the route's context limit minus the prompt) caps it.
 */
export function completionReserve(
  op: Op,
  body: Record<string, unknown>,
  ceiling: number,
  contextLeft?: number,
): CompletionReserve {
  if (op !== "chat" && op !== "completions") return { tokens: 0 };
  let limit: number | undefined;
  for (const f of ["max_tokens", "max_completion_tokens"] as const) {
    const v = numeric(body[f]);
    if (v !== undefined) limit = Math.max(limit ?? 0, v);
  }
  const atLeast = numeric(body.min_tokens) ?? 0;
  let sequences = 1;
  for (const f of SEQUENCE_FIELDS) sequences = Math.max(sequences, numeric(body[f]) ?? 1);
  if (limit !== undefined) return { tokens: Math.max(limit, atLeast) * sequences };
  const imposed = Math.max(1, atLeast, Math.min(ceiling, contextLeft ?? ceiling));
  return { tokens: imposed * sequences, impose: imposed };
}
