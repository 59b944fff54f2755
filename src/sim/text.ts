/**
 * Text for the HTTP simulator: prompt token counting (gpt-tokenizer plus a chat template's
 * overhead), deterministic pseudo-text of exactly N tokens, deterministic embeddings from text
 * hashes and lexical-overlap rerank scores. Nothing here is a model: the numbers only have to be
 * stable, cheap and plausible.
 *
 * Tokenizer: `cl100k_base`. Llama 3's tokenizer is tiktoken-based and starts from cl100k_base's
 * 100k merges (it adds 28k), so counts are close for English text; other families differ by a
 * few percent.
 *
 * Chat template overhead, modelled on Llama 3's template (ChatML, used by Qwen, costs the same):
 *   <|begin_of_text|>                                                   1 token per prompt
 *   <|start_header_id|>ROLE<|end_header_id|>\n\n CONTENT <|eot_id|>     5 tokens per message + content
 *   <|start_header_id|>assistant<|end_header_id|>\n\n                   4 tokens (generation prompt)
 * ChatML: `<|im_start|>ROLE\n CONTENT <|im_end|>\n` is also 5 per message, its generation prompt 3.
 * So a chat prompt counts content tokens + 5 × messages + 5.
 */
import { encode as cl100kEncode } from "gpt-tokenizer/encoding/cl100k_base";

/** Template tokens around each chat message (header start, role, header end, "\n\n", end of turn). */
export const CHAT_TOKENS_PER_MESSAGE = 5;
/** Begin-of-text plus the assistant header that primes the reply. */
export const CHAT_TOKENS_PER_PROMPT = 5;

// Ids for template specials, above any real vocabulary: the engine only hashes them.
const BOS = 1_000_000;
const HEADER_START = 1_000_001;
const HEADER_END = 1_000_002;
const EOT = 1_000_003;
const NL2 = 271; // "\n\n" in cl100k_base
const ASSISTANT = 78191; // "assistant" in cl100k_base

const NO_SPECIAL = { disallowedSpecial: new Set<string>() };

/** A small LRU of encodings: gateways and benchmarks resend the same system prompts. */
const CACHE_MAX = 512;
const cache = new Map<string, readonly number[]>();

/** Token ids of `text` (special-token syntax is encoded as plain text, never rejected). */
export function encodeText(text: string): readonly number[] {
  const hit = cache.get(text);
  if (hit !== undefined) {
    cache.delete(text);
    cache.set(text, hit);
    return hit;
  }
  const ids = cl100kEncode(text, NO_SPECIAL);
  if (cache.size >= CACHE_MAX) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  cache.set(text, ids);
  return ids;
}

export function countTokens(text: string): number {
  return encodeText(text).length;
}

export interface ChatMessageLike {
  role?: unknown;
  content?: unknown;
}

/** Text of an OpenAI message `content`: a string, or the text parts of an array joined by "\n" (as vLLM). */
export function messageText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    let out = "";
    for (const part of content) {
      if (part !== null && typeof part === "object") {
        const p = part as { type?: unknown; text?: unknown };
        if ((p.type === "text" || p.type === undefined) && typeof p.text === "string")
          out = out === "" ? p.text : `${out}\n${p.text}`;
      }
    }
    return out;
  }
  return "";
}

/** Prompt token ids of a chat as a Llama-3-style template lays them out (see the module comment). */
export function chatPromptIds(messages: readonly ChatMessageLike[]): number[] {
  const ids: number[] = [BOS];
  for (const m of messages) {
    ids.push(HEADER_START);
    const role = typeof m.role === "string" ? m.role : "user";
    // Roles are one token each in practice ("system", "user", "assistant", "tool").
    const roleIds = encodeText(role);
    ids.push(roleIds[0] ?? 0, HEADER_END, NL2);
    const content = encodeText(messageText(m.content));
    for (let i = 0; i < content.length; i++) ids.push(content[i] as number);
    ids.push(EOT);
  }
  ids.push(HEADER_START, ASSISTANT, HEADER_END, NL2);
  return ids;
}

/** Prompt token ids of a completion prompt: begin-of-text plus the text (as vLLM adds BOS for Llama). */
export function completionPromptIds(prompt: string): number[] {
  const text = encodeText(prompt);
  const ids = new Array<number>(text.length + 1);
  ids[0] = BOS;
  for (let i = 0; i < text.length; i++) ids[i + 1] = text[i] as number;
  return ids;
}

// ---------------------------------------------------------------------------------------------
// Pseudo-text
// ---------------------------------------------------------------------------------------------

/**
 * Common English words that are one cl100k_base token each, with and without a leading space, and
 * stay one token each when concatenated: N pieces re-tokenize to exactly N tokens.
 */
const WORD_LIST =
  "the of and to in is you that it he was for on are as with his they at be this have from or one had by word but not what all were we when your can said there use an each which she do how their if will up other about out many then them these so some her would make like him into time has look two more write go see number no way could people my than first water been call who its now find long down day did get come made may part"
    .split(" ")
    .filter((w) => w !== "");
const WORDS: readonly string[] = WORD_LIST.map((w) => ` ${w}`);
/** The first token of a reply has no leading space. */
const FIRST_WORDS: readonly string[] = WORD_LIST;

/** 32-bit integer mix (murmur3 finalizer). */
function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Text of token `index` of the pseudo-reply `seed`: one word, no allocation. */
export function pseudoToken(seed: number, index: number): string {
  const h = mix32((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const list = index === 0 ? FIRST_WORDS : WORDS;
  return list[h % list.length] as string;
}

/** Deterministic pseudo-text of exactly `n` tokens (cl100k_base) for `seed`. */
export function pseudoText(seed: number, n: number): string {
  let out = "";
  for (let i = 0; i < n; i++) out += pseudoToken(seed, i);
  return out;
}

/**
 * Where stop strings cut a pseudo-reply of up to `n` tokens: the tokens generated (up to and
 * including the one that completes the first stop string, as vLLM checks after every token) and
 * each token's visible text — the reply is cut where that stop string starts, as the OpenAI API
 * and vLLM do. `null` when no stop string occurs.
 */
export function applyStop(
  seed: number,
  n: number,
  stops: readonly string[],
): { tokens: number; texts: string[]; text: string; stop: string } | null {
  const valid = stops.filter((s) => s !== "");
  if (valid.length === 0) return null;
  let text = "";
  const ends: number[] = [];
  for (let i = 0; i < n; i++) {
    text += pseudoToken(seed, i);
    ends.push(text.length);
  }
  let at = -1;
  let cut = Number.POSITIVE_INFINITY;
  let stop = "";
  for (const s of valid) {
    const i = text.indexOf(s);
    if (i >= 0 && i + s.length < cut) {
      cut = i + s.length;
      at = i;
      stop = s;
    }
  }
  if (at < 0) return null;
  let k = 0;
  while ((ends[k] as number) < cut) k++;
  const texts: string[] = [];
  for (let i = 0; i <= k; i++) {
    const start = i === 0 ? 0 : (ends[i - 1] as number);
    texts.push(start >= at ? "" : text.slice(start, Math.min(ends[i] as number, at)));
  }
  return { tokens: k + 1, texts, text: text.slice(0, at), stop };
}

// ---------------------------------------------------------------------------------------------
// Embeddings and rerank
// ---------------------------------------------------------------------------------------------

/** FNV-1a over a string's UTF-16 code units. */
export function hashString(s: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const WORD_RE = /[\p{L}\p{N}]+/gu;

/** Lower-cased words (letters and digits) of a text. */
export function words(text: string): string[] {
  return text.toLowerCase().match(WORD_RE) ?? [];
}

/**
 * A deterministic unit vector for `text`: signed feature hashing of its words (each word adds ±1
 * at four hashed positions), so texts sharing words have a positive cosine; a text without words
 * gets one hashed position of the whole text. Simulated, not semantic.
 */
export function embedText(text: string, dim: number): Float32Array {
  const v = new Float32Array(dim);
  const ws = words(text);
  if (ws.length === 0) ws.push(`\u0000${text}`);
  for (const w of ws) {
    let h = hashString(w);
    for (let k = 0; k < 4; k++) {
      h = mix32(h + k);
      v[h % dim] = (v[h % dim] as number) + ((h >>> 31) & 1 ? -1 : 1);
    }
  }
  let norm = 0;
  for (let i = 0; i < dim; i++) norm += (v[i] as number) ** 2;
  if (norm === 0) {
    v[hashString(text) % dim] = 1;
    return v;
  }
  const inv = 1 / Math.sqrt(norm);
  for (let i = 0; i < dim; i++) v[i] = (v[i] as number) * inv;
  return v;
}

/** Float32 little-endian bytes in base64, as the OpenAI API's `encoding_format: "base64"`. */
export function embeddingBase64(v: Float32Array): string {
  const buf = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i] as number, i * 4);
  return buf.toString("base64");
}

/**
 * Lexical-overlap relevance in [0, 1]: distinct words shared by query and document over the
 * geometric mean of both vocabularies (the cosine of their word sets). Simulated, not a model.
 */
export function rerankScore(query: string, document: string): number {
  const q = new Set(words(query));
  const d = new Set(words(document));
  if (q.size === 0 || d.size === 0) return 0;
  let shared = 0;
  for (const w of q) if (d.has(w)) shared++;
  return shared / Math.sqrt(q.size * d.size);
}
