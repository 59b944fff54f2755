/**
 * English analysis as Lucene's EnglishAnalyzer does it — word tokens, possessive "'s"
 * removed, lowercase, Lucene's English stop words, stemming — with Snowball English (Porter2)
 * as the stemmer: the `porter2` package, which gives the Snowball reference's stems on every
 * Cranfield word at a tenth of a generic Snowball runtime's cost. The sqlite and Milvus stores
 * index and query these terms; OpenSearch/Elasticsearch run the same chain server-side.
 */
import { stem as porter2 } from "porter2";

/** Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET (org.apache.lucene.analysis.en). */
export const LUCENE_ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set([
  "a",
  "an",
  "and",
  "are",
  "as",
  "at",
  "be",
  "but",
  "by",
  "for",
  "if",
  "in",
  "into",
  "is",
  "it",
  "no",
  "not",
  "of",
  "on",
  "or",
  "such",
  "that",
  "the",
  "their",
  "then",
  "there",
  "these",
  "they",
  "this",
  "to",
  "was",
  "will",
  "with",
]);

const cache = new Map<string, string>();

/** Word tokens in the spirit of Unicode word breaks: letters/digits joined by inner . ' , (1.5, o'neil, 3,000). */
const TOKEN = /[\p{L}\p{N}_]+(?:[.'’,][\p{L}\p{N}_]+)*/gu;

function stem(word: string): string {
  let s = cache.get(word);
  if (s === undefined) {
    s = porter2(word);
    if (cache.size < 200_000) cache.set(word, s);
  }
  return s;
}

/** Analyzed terms of a text, in order. Inner punctuation becomes "_" so FTS5 keeps a term whole. */
export function analyze(text: string): string[] {
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(TOKEN)) {
    let w = m[0].replace(/’/g, "'");
    if (w.endsWith("'s")) w = w.slice(0, -2);
    if (w.length === 0 || LUCENE_ENGLISH_STOP_WORDS.has(w)) continue;
    out.push(stem(w).replace(/[.',]/g, "_"));
  }
  return out;
}
