/**
 * Ranking metrics with trec_eval's definitions (linear gains): nDCG@10 (`ndcg_cut_10`),
 * Recall@100 (`recall_100`), MAP (`map`, over the whole ranking), MRR@10 (reciprocal rank of
 * the first relevant document within the top 10). Relevance > 0 counts as relevant. Averages
 * are over the queries that have at least one relevant judgement.
 */

/** query id → document id → graded relevance */
export type Qrels = Map<string, Map<string, number>>;
/** query id → ranked document ids, best first */
export type Run = Map<string, string[]>;

export interface QueryMetrics {
  ndcg10: number;
  recall100: number;
  ap: number;
  rr10: number;
}

export interface Metrics extends QueryMetrics {
  queries: number;
}

export function scoreQuery(ranking: string[], judged: Map<string, number>): QueryMetrics {
  const relevant = [...judged.values()].filter((g) => g > 0);
  const totalRelevant = relevant.length;
  let dcg = 0;
  let found = 0;
  let found100 = 0;
  let precisionSum = 0;
  let rr10 = 0;
  const seen = new Set<string>();
  let rank = 0;
  for (const doc of ranking) {
    if (seen.has(doc)) continue; // a document counts once, at its best rank
    seen.add(doc);
    rank++;
    const g = judged.get(doc) ?? 0;
    if (g <= 0) continue;
    if (rank <= 10) dcg += g / Math.log2(rank + 1);
    if (rank <= 10 && rr10 === 0) rr10 = 1 / rank;
    found++;
    if (rank <= 100) found100++;
    precisionSum += found / rank;
  }
  const ideal = relevant.sort((a, b) => b - a).slice(0, 10);
  const idcg = ideal.reduce((s, g, i) => s + g / Math.log2(i + 2), 0);
  return {
    ndcg10: idcg > 0 ? dcg / idcg : 0,
    recall100: totalRelevant > 0 ? found100 / totalRelevant : 0,
    ap: totalRelevant > 0 ? precisionSum / totalRelevant : 0,
    rr10,
  };
}

/** Metrics of every query that has a relevant judgement, in the qrels' order. */
export function perQuery(run: Run, qrels: Qrels): Map<string, QueryMetrics> {
  const out = new Map<string, QueryMetrics>();
  for (const [qid, judged] of qrels) {
    if (![...judged.values()].some((g) => g > 0)) continue;
    out.set(qid, scoreQuery(run.get(qid) ?? [], judged));
  }
  return out;
}

export function evaluate(run: Run, qrels: Qrels): Metrics {
  let n = 0;
  const sum: QueryMetrics = { ndcg10: 0, recall100: 0, ap: 0, rr10: 0 };
  for (const [qid, judged] of qrels) {
    if (![...judged.values()].some((g) => g > 0)) continue;
    const m = scoreQuery(run.get(qid) ?? [], judged);
    n++;
    sum.ndcg10 += m.ndcg10;
    sum.recall100 += m.recall100;
    sum.ap += m.ap;
    sum.rr10 += m.rr10;
  }
  const avg = (x: number) => (n > 0 ? x / n : 0);
  return {
    queries: n,
    ndcg10: avg(sum.ndcg10),
    recall100: avg(sum.recall100),
    ap: avg(sum.ap),
    rr10: avg(sum.rr10),
  };
}

/** Nearest-rank percentile of a sample (p in 0..100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] as number;
}
