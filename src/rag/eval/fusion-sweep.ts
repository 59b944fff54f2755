/**
 * Choosing hybrid fusion on a labelled query set: the BM25 and dense lists of every query are
 * retrieved once at full depth, then every fusion setting (method, its parameter, candidates
 * per retriever) is replayed on prefixes of those lists — exactly what `search` does with
 * `candidates` = the prefix length. Pure: lists in, nDCG@10 per setting out.
 */

import { rrf, weighted } from "../retrieve/fusion.js";
import type { Hit } from "../types.js";
import { perQuery, type Qrels, type Run } from "./metrics.js";

export interface QueryLists {
  sparse: Hit[];
  dense: Hit[];
}

export type FusionSetting =
  | { method: "rrf"; k: number; candidates: number }
  | { method: "weighted"; dense: number; candidates: number };

export function fuse(lists: QueryLists, s: FusionSetting, depth = 100): string[] {
  const sparse = lists.sparse.slice(0, s.candidates);
  const dense = lists.dense.slice(0, s.candidates);
  const hits =
    s.method === "rrf" ? rrf([dense, sparse], s.k) : weighted([dense, sparse], [s.dense, 1 - s.dense]);
  return hits.slice(0, depth).map((h) => h.docId);
}

/** nDCG@10 per query of one setting, over the judged queries in `ids`. */
export function settingScores(
  byQuery: ReadonlyMap<string, QueryLists>,
  qrels: Qrels,
  s: FusionSetting,
  ids?: ReadonlySet<string>,
): Map<string, number> {
  const run: Run = new Map();
  for (const [qid, lists] of byQuery) if (!ids || ids.has(qid)) run.set(qid, fuse(lists, s));
  const judged: Qrels = new Map([...qrels].filter(([qid]) => !ids || ids.has(qid)));
  return new Map([...perQuery(run, judged)].map(([qid, m]) => [qid, m.ndcg10]));
}

const mean = (xs: Iterable<number>) => {
  let s = 0;
  let n = 0;
  for (const x of xs) {
    s += x;
    n++;
  }
  return n > 0 ? s / n : 0;
};

export interface SweepRow {
  setting: FusionSetting;
  ndcg10: number;
}

export function sweep(
  byQuery: ReadonlyMap<string, QueryLists>,
  qrels: Qrels,
  settings: readonly FusionSetting[],
  ids?: ReadonlySet<string>,
): SweepRow[] {
  return settings
    .map((setting) => ({ setting, ndcg10: mean(settingScores(byQuery, qrels, setting, ids).values()) }))
    .sort((a, b) => b.ndcg10 - a.ndcg10);
}

/**
 * Two-fold cross-validation: choose the best setting on one half of the queries, score it on
 * the other, and the other way round — an estimate of the gain that tuning on the same queries
 * does not inflate.
 */
export function twoFold(
  byQuery: ReadonlyMap<string, QueryLists>,
  qrels: Qrels,
  settings: readonly FusionSetting[],
): { ndcg10: number; chosen: [FusionSetting, FusionSetting] } {
  const ids = [...byQuery.keys()].filter((q) => qrels.has(q)).sort();
  const a = new Set(ids.filter((_, i) => i % 2 === 0));
  const b = new Set(ids.filter((_, i) => i % 2 === 1));
  const bestA = sweep(byQuery, qrels, settings, a)[0]?.setting as FusionSetting;
  const bestB = sweep(byQuery, qrels, settings, b)[0]?.setting as FusionSetting;
  const onB = settingScores(byQuery, qrels, bestA, b);
  const onA = settingScores(byQuery, qrels, bestB, a);
  return { ndcg10: mean([...onA.values(), ...onB.values()]), chosen: [bestA, bestB] };
}

/** The grid docs/rag.md reports: RRF k and dense weights, each at several candidate depths. */
export function defaultGrid(): FusionSetting[] {
  const out: FusionSetting[] = [];
  for (const candidates of [10, 20, 50, 100, 200]) {
    for (const k of [5, 10, 20, 40, 60, 100]) out.push({ method: "rrf", k, candidates });
    for (let w = 0.3; w <= 0.851; w += 0.05)
      out.push({ method: "weighted", dense: +w.toFixed(2), candidates });
  }
  return out;
}
