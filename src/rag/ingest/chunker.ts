/**
 * Structure-first chunking with token-based size: a document splits into blocks (Markdown
 * headings start a section; blank lines end a paragraph), blocks pack greedily into chunks of
 * at most `maxTokens`, an oversized block splits at sentence ends and, failing that, at token
 * boundaries; each chunk after the first starts with the last `overlapTokens` tokens of the
 * previous one. Deterministic: the same text gives the same chunks.
 */
import { decode, encode } from "gpt-tokenizer";
import type { Chunk } from "../types.js";

export interface ChunkOptions {
  maxTokens: number;
  overlapTokens: number;
}

function blocks(text: string): string[] {
  const out: string[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    // A heading line inside a paragraph still starts a new block.
    let cur: string[] = [];
    for (const line of para.split("\n")) {
      if (/^#{1,6}\s/.test(line) && cur.length > 0) {
        out.push(cur.join("\n"));
        cur = [];
      }
      cur.push(line);
    }
    if (cur.length > 0) out.push(cur.join("\n"));
  }
  return out.map((b) => b.trim()).filter((b) => b.length > 0);
}

/** Pieces of at most max tokens: sentences first, then hard token windows. */
function splitLarge(block: string, max: number): { text: string; tokens: number }[] {
  const sentences = block.split(/(?<=[.!?])\s+/);
  const out: { text: string; tokens: number }[] = [];
  for (const s of sentences) {
    const ids = encode(s);
    if (ids.length <= max) out.push({ text: s, tokens: ids.length });
    else
      for (let i = 0; i < ids.length; i += max) {
        const part = ids.slice(i, i + max);
        out.push({ text: decode(part), tokens: part.length });
      }
  }
  return out;
}

export function chunkText(docId: string, text: string, opts: ChunkOptions): Chunk[] {
  const max = Math.max(1, opts.maxTokens);
  const overlap = Math.min(Math.max(0, opts.overlapTokens), Math.floor(max / 2));
  const whole = text.trim();
  if (!whole) return [];
  const total = encode(whole).length;
  if (total <= max) return [{ id: `${docId}#0`, docId, ordinal: 0, text: whole, tokens: total }];

  const pieces: { text: string; tokens: number }[] = [];
  for (const b of blocks(whole)) {
    const n = encode(b).length;
    if (n <= max - overlap) pieces.push({ text: b, tokens: n });
    else pieces.push(...splitLarge(b, max - overlap));
  }
  const chunks: Chunk[] = [];
  let cur: string[] = [];
  let curTokens = 0;
  let carry = "";
  let carryTokens = 0;
  const flush = () => {
    if (cur.length === 0) return;
    const body = cur.join("\n\n");
    const chunkText = carry ? `${carry} ${body}` : body;
    chunks.push({
      id: `${docId}#${chunks.length}`,
      docId,
      ordinal: chunks.length,
      text: chunkText,
      tokens: carryTokens + curTokens,
    });
    if (overlap > 0) {
      const ids = encode(body);
      const tail = ids.slice(Math.max(0, ids.length - overlap));
      carry = decode(tail).trim();
      carryTokens = tail.length;
    }
    cur = [];
    curTokens = 0;
  };
  for (const p of pieces) {
    if (curTokens + p.tokens + carryTokens > max && cur.length > 0) flush();
    cur.push(p.text);
    curTokens += p.tokens;
  }
  flush();
  return chunks;
}
