// `inferplane rag` without a spec: the embedded default platform (sqlite under ./.inferplane, the
// real bge-small-en-v1.5 served by the embedded engine in-process behind the gateway's router).
// ingest → hybrid and dense search → ask (no answer model: says so) → eval with a paired-bootstrap
// interval against BM25.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { main } from "../../src/cli/main.js";
import { CRANFIELD } from "./contract.js";
import { CACHE_DIR, realModel } from "./embedded-model.js";

const dir = mkdtempSync(join(tmpdir(), "rag-cli-embedded-"));
const cwd = process.cwd();
before(async () => {
  await realModel(); // installs the pinned files into .cache when missing
  process.env.INFERPLANE_CACHE_DIR = CACHE_DIR;
  delete process.env.INFERPLANE_CONFIG;
  process.chdir(dir);
});
after(() => {
  process.chdir(cwd);
  rmSync(dir, { recursive: true, force: true });
});

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(["node", "inferplane", ...args], {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    isTTY: false,
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

it("ingests, searches (hybrid and dense) and asks without a spec, on the embedded default platform", async () => {
  mkdirSync(join(dir, "docs"));
  writeFileSync(
    join(dir, "docs", "flutter.md"),
    "# Flutter\n\nWing flutter couples aerodynamic and elastic forces until the structure oscillates.",
  );
  writeFileSync(
    join(dir, "docs", "heat.md"),
    "# Heat\n\nHeat transfer through a laminar boundary layer at high Mach numbers.",
  );
  writeFileSync(
    join(dir, "docs", "bread.md"),
    "# Bread\n\nSourdough needs a long fermentation and a very hot oven.",
  );
  const ing = await cli("rag", "ingest", "docs", "--json");
  assert.equal(ing.code, 0, ing.err);
  assert.deepEqual(
    (({ added, chunks }) => ({ added, chunks }))(JSON.parse(ing.out) as { added: number; chunks: number }),
    { added: 3, chunks: 3 },
  );
  const hybrid = await cli("rag", "search", "why do aircraft wings vibrate", "--json");
  assert.equal(hybrid.code, 0, hybrid.err);
  assert.equal((JSON.parse(hybrid.out) as { hits: { docId: string }[] }).hits[0]?.docId, "flutter.md");
  // Dense alone, with no word in common with the document: meaning, not terms.
  const dense = await cli("rag", "search", "baking a loaf", "--mode", "dense", "--json");
  assert.equal(dense.code, 0, dense.err);
  const hits = (JSON.parse(dense.out) as { hits: { docId: string; score: number }[] }).hits;
  assert.equal(hits[0]?.docId, "bread.md");
  const ask = await cli("rag", "ask", "what makes wings flutter?");
  assert.equal(ask.code, 0, ask.err);
  assert.match(ask.out, /No answer model is configured \(rag\.answer\.route\)/);
  assert.match(ask.out, /\[1\] flutter\.md/);
  const rerank = await cli("rag", "search", "wings", "--rerank");
  assert.equal(rerank.code, 2);
  assert.match(rerank.err, /no rerank route is configured/);
});

it("works with a spec too: examples/local-real.yaml runs its embedded model in-process for rag", async () => {
  const spec = join(cwd, "examples", "local-real.yaml");
  mkdirSync(join(dir, "spec-docs"));
  writeFileSync(
    join(dir, "spec-docs", "a.md"),
    "# Shock waves\n\nA normal shock wave slows supersonic flow to subsonic speed.",
  );
  writeFileSync(join(dir, "spec-docs", "b.md"), "# Gardening\n\nTomatoes want sun, water and patience.");
  const ing = await cli("rag", "ingest", "spec-docs", "--collection", "spec", "--json", "-c", spec);
  assert.equal(ing.code, 0, ing.err);
  const found = await cli(
    "rag",
    "search",
    "what happens to airflow faster than sound",
    "--collection",
    "spec",
    "--mode",
    "dense",
    "--json",
    "-c",
    spec,
  );
  assert.equal(found.code, 0, found.err);
  assert.equal((JSON.parse(found.out) as { hits: { docId: string }[] }).hits[0]?.docId, "a.md");
});

it("rag eval --mode hybrid reports nDCG@10 and a paired-bootstrap interval against BM25", async () => {
  // A small BEIR folder cut from Cranfield: 120 documents and the queries judged on them.
  const beir = join(dir, "mini");
  mkdirSync(join(beir, "qrels"), { recursive: true });
  const corpus = readFileSync(join(CRANFIELD, "corpus.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .slice(0, 120);
  const ids = new Set(corpus.map((l) => (JSON.parse(l) as { _id: string })._id));
  writeFileSync(join(beir, "corpus.jsonl"), `${corpus.join("\n")}\n`);
  const qrels = readFileSync(join(CRANFIELD, "qrels", "test.tsv"), "utf8")
    .split("\n")
    .filter(Boolean);
  const kept = qrels.slice(1).filter((l) => ids.has(l.split("\t")[1] as string));
  writeFileSync(join(beir, "qrels", "test.tsv"), `${[qrels[0], ...kept].join("\n")}\n`);
  const qids = new Set(kept.map((l) => l.split("\t")[0]));
  const queries = readFileSync(join(CRANFIELD, "queries.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l && qids.has((JSON.parse(l) as { _id: string })._id));
  writeFileSync(join(beir, "queries.jsonl"), `${queries.join("\n")}\n`);

  const r = await cli("rag", "eval", "--corpus", beir, "--mode", "hybrid", "--json");
  assert.equal(r.code, 0, r.err);
  const m = JSON.parse(r.out) as {
    mode: string;
    queries: number;
    ndcg10: number;
    embedding: string;
    fusion: { method: string };
    vsBm25: { ndcg10: { delta: number; ci95: [number, number]; queries: number } };
  };
  console.log(`mini-Cranfield hybrid: ${JSON.stringify(m)}`);
  assert.equal(m.mode, "hybrid");
  assert.equal(m.embedding, "bge-small-en-v1.5");
  assert.equal(m.queries, qids.size);
  assert.equal(m.vsBm25.ndcg10.queries, qids.size);
  const [lo, hi] = m.vsBm25.ndcg10.ci95;
  assert.ok(lo <= m.vsBm25.ndcg10.delta && m.vsBm25.ndcg10.delta <= hi);
  const table = await cli("rag", "eval", "--corpus", beir, "--mode", "bm25");
  assert.equal(table.code, 0, table.err);
  assert.match(table.out, /sparse/);
});
