// inferplane rag ingest|search|eval in-process on a temporary sqlite store (BM25 only: no model needed).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { main } from "../../src/cli/main.js";
import { CRANFIELD } from "./contract.js";

const dir = mkdtempSync(join(tmpdir(), "rag-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const spec = join(dir, "inferplane.yaml");
writeFileSync(
  spec,
  `apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - {name: embedder, source: hf://BAAI/bge-m3, endpoints: ["http://127.0.0.1:9"]}
routes:
  - {name: embed, targets: [{model: embedder}]}
rag:
  embedding: {route: embed, dimensions: 1024}
  stores:
    vector: {kind: sqlite, path: ${join(dir, "rag.db")}}
    keyword: {kind: sqlite, path: ${join(dir, "rag.db")}}
`,
);

async function cli(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(["node", "inferplane", ...args], {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    isTTY: false,
  });
  return { code, out: out.join(""), err: err.join("") };
}

it("ingests a directory (BM25 only), searches it, and re-ingests nothing", async () => {
  const docs = join(dir, "docs");
  mkdirSync(join(docs, "sub"), { recursive: true });
  writeFileSync(join(docs, "a.md"), "# Flutter\n\nWing flutter couples aerodynamic and elastic forces.");
  writeFileSync(
    join(docs, "sub", "b.html"),
    "<title>Heat</title><p>Heat transfer &amp; boundary layers.</p>",
  );
  writeFileSync(join(docs, "skip.bin"), "not loadable");
  const first = await cli("rag", "ingest", docs, "--collection", "notes", "--no-embed", "--json", "-c", spec);
  assert.equal(first.code, 0, first.err);
  const report = JSON.parse(first.out) as { added: number; chunks: number };
  assert.deepEqual([report.added, report.chunks], [2, 2]);
  const again = await cli(
    "rag",
    "ingest",
    `${docs}/**/*.html`,
    "--collection",
    "notes",
    "--no-embed",
    "--json",
    "-c",
    spec,
  );
  assert.equal((JSON.parse(again.out) as { unchanged: number }).unchanged, 1);
  const found = await cli(
    "rag",
    "search",
    "transferring heat",
    "--collection",
    "notes",
    "--mode",
    "sparse",
    "--json",
    "-c",
    spec,
  );
  assert.equal(found.code, 0, found.err);
  const hits = (JSON.parse(found.out) as { hits: { docId: string; title: string }[] }).hits;
  assert.equal(hits[0]?.docId, "sub/b.html");
  assert.equal(hits[0]?.title, "Heat");
  const missing = await cli("rag", "search", "x", "--collection", "nope", "--mode", "sparse", "-c", spec);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /no collection named "nope" \[rag_collection_not_found\]/);
  const badMode = await cli("rag", "search", "x", "--collection", "notes", "--mode", "fuzzy", "-c", spec);
  assert.equal(badMode.code, 2);
  assert.match(badMode.err, /--mode: "fuzzy"/);
});

it("rag eval scores BM25 on Cranfield and writes the JSON report atomically", async () => {
  const file = join(dir, "eval.json");
  const r = await cli("rag", "eval", "--corpus", CRANFIELD, "--json", file, "-c", spec);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /nDCG@10/);
  const m = JSON.parse(readFileSync(file, "utf8")) as {
    queries: number;
    ndcg10: number;
    recall100: number;
    store: string;
  };
  assert.equal(m.queries, 150);
  assert.equal(m.store, "sqlite");
  assert.ok(m.ndcg10 >= 0.349, `nDCG@10 ${m.ndcg10}`);
  assert.ok(m.recall100 > 0.7);
});
