/**
 * Fusion of ranked lists: reciprocal rank fusion (Cormack et al. 2009, score Σ 1/(k + rank),
 * k = 60 by default) or a weighted sum of min-max normalised scores.
 */
import type { Hit } from "../types.js";

export function rrf(lists: Hit[][], k = 60): Hit[] {
  const fused = new Map<string, Hit>();
  for (const list of lists) {
    list.forEach((h, i) => {
      const prev = fused.get(h.chunkId);
      const add = 1 / (k + i + 1);
      fused.set(h.chunkId, prev ? { ...prev, score: prev.score + add } : { ...h, score: add });
    });
  }
  return [...fused.values()].sort((a, b) => b.score - a.score || a.chunkId.localeCompare(b.chunkId));
}

function normalise(list: Hit[]): Map<string, number> {
  const scores = list.map((h) => h.score);
  const lo = Math.min(...scores);
  const hi = Math.max(...scores);
  return new Map(list.map((h) => [h.chunkId, hi > lo ? (h.score - lo) / (hi - lo) : 1]));
}

/** weights[i] multiplies list i's normalised score; a chunk missing from a list adds 0 for it. */
export function weighted(lists: Hit[][], weights: number[]): Hit[] {
  const fused = new Map<string, Hit>();
  lists.forEach((list, li) => {
    const w = weights[li] ?? 1;
    const norm = normalise(list);
    for (const h of list) {
      const add = w * (norm.get(h.chunkId) ?? 0);
      const prev = fused.get(h.chunkId);
      fused.set(h.chunkId, prev ? { ...prev, score: prev.score + add } : { ...h, score: add });
    }
  });
  return [...fused.values()].sort((a, b) => b.score - a.score || a.chunkId.localeCompare(b.chunkId));
}
