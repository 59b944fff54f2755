/** Reads a BEIR-format folder: corpus.jsonl, queries.jsonl, qrels/test.tsv. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { InferplaneError } from "../../errors.js";
import type { Qrels } from "./metrics.js";

export interface BeirQuery {
  id: string;
  text: string;
}

function need(path: string): string {
  if (!existsSync(path))
    throw new InferplaneError("invalid_request", `${path} does not exist (expected a BEIR folder)`);
  return readFileSync(path, "utf8");
}

export function readQueries(dir: string): BeirQuery[] {
  const file = join(dir, "queries.jsonl");
  return need(file)
    .split("\n")
    .map((line, i) => ({ line: line.trim(), n: i + 1 }))
    .filter((l) => l.line.length > 0)
    .map(({ line, n }) => {
      let q: { _id?: unknown; text?: unknown };
      try {
        q = JSON.parse(line) as { _id?: unknown; text?: unknown };
      } catch (err) {
        throw new InferplaneError("invalid_request", `${file}:${n}: not JSON: ${(err as Error).message}`);
      }
      if (q._id === undefined || typeof q.text !== "string") {
        throw new InferplaneError("invalid_request", `${file}:${n}: a query needs "_id" and "text"`);
      }
      return { id: String(q._id), text: q.text };
    });
}

/** qrels/test.tsv (query-id, corpus-id, score; a header line is skipped). */
export function readQrels(dir: string, split = "test"): Qrels {
  const file = join(dir, "qrels", `${split}.tsv`);
  const qrels: Qrels = new Map();
  need(file)
    .split("\n")
    .forEach((line, i) => {
      const cols = line.trim().split("\t");
      if (cols.length < 3 || (i === 0 && Number.isNaN(Number(cols[2])))) return;
      const [q, d, s] = cols as [string, string, string];
      const score = Number(s);
      if (!Number.isFinite(score))
        throw new InferplaneError("invalid_request", `${file}:${i + 1}: score "${s}" is not a number`);
      const m = qrels.get(q) ?? new Map<string, number>();
      qrels.set(q, m);
      m.set(d, score);
    });
  return qrels;
}
