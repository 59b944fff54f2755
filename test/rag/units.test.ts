// Pure parts: analyzer, trec_eval metrics, fusion, chunker, loaders (HTML, Markdown, PDF, BEIR), citations.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encode } from "gpt-tokenizer";
import { analyze } from "../../src/rag/analyze.js";
import { citedIndexes, selectSources } from "../../src/rag/answer.js";
import { evaluate, scoreQuery } from "../../src/rag/eval/metrics.js";
import { chunkText } from "../../src/rag/ingest/chunker.js";
import { htmlToText, loadBuffer, parseBeirCorpus } from "../../src/rag/ingest/loaders.js";
import { rrf, weighted } from "../../src/rag/retrieve/fusion.js";
import type { Hit } from "../../src/rag/types.js";

const hit = (id: string, score: number): Hit => ({
  chunkId: id,
  docId: id,
  text: id,
  source: "s",
  timestamp: 0,
  score,
});

describe("analyzer", () => {
  it("tokenizes, drops possessives and Lucene stop words, stems with Snowball English", () => {
    assert.deepEqual(analyze("The aircraft's wings were flying at 1.5 Mach, and it's generalized."), [
      "aircraft",
      "wing",
      "were",
      "fli",
      "1_5",
      "mach",
      "general",
    ]);
    assert.deepEqual(analyze("the of and"), []);
  });
});

describe("metrics (trec_eval definitions)", () => {
  it("computes nDCG@10 with linear gains, Recall@100, AP and RR@10 for one query", () => {
    const judged = new Map([
      ["a", 3],
      ["b", 1],
      ["c", 2],
      ["z", 0],
    ]);
    const m = scoreQuery(["x", "a", "z", "b"], judged);
    const dcg = 3 / Math.log2(3) + 1 / Math.log2(5);
    const idcg = 3 / Math.log2(2) + 2 / Math.log2(3) + 1 / Math.log2(4);
    assert.ok(Math.abs(m.ndcg10 - dcg / idcg) < 1e-12);
    assert.equal(m.recall100, 2 / 3);
    assert.ok(Math.abs(m.ap - (1 / 2 + 2 / 4) / 3) < 1e-12);
    assert.equal(m.rr10, 1 / 2);
  });
  it("averages over judged queries; a query with nothing retrieved scores 0", () => {
    const qrels = new Map([
      ["1", new Map([["a", 1]])],
      ["2", new Map([["b", 1]])],
      ["3", new Map([["c", 0]])],
    ]);
    const m = evaluate(new Map([["1", ["a"]]]), qrels);
    assert.equal(m.queries, 2);
    assert.equal(m.ndcg10, 0.5);
  });
});

describe("fusion", () => {
  it("RRF with k = 60 favours documents in both lists", () => {
    const fused = rrf([
      [hit("a", 9), hit("b", 8)],
      [hit("b", 0.9), hit("c", 0.8)],
    ]);
    assert.deepEqual(
      fused.map((h) => h.chunkId),
      ["b", "a", "c"],
    );
    assert.ok(Math.abs((fused[0]?.score ?? 0) - (1 / 62 + 1 / 61)) < 1e-12);
  });
  it("weighted fusion of min-max normalised scores", () => {
    const fused = weighted(
      [
        [hit("a", 1), hit("b", 0)],
        [hit("b", 10), hit("a", 0)],
      ],
      [0.2, 0.8],
    );
    assert.deepEqual(
      fused.map((h) => [h.chunkId, h.score]),
      [
        ["b", 0.8],
        ["a", 0.2],
      ],
    );
  });
});

describe("chunker", () => {
  const para = (n: number) => `Paragraph ${n} ${"word ".repeat(60).trim()}.`;
  const text = `# Title\n\n${Array.from({ length: 12 }, (_, i) => para(i)).join("\n\n")}`;
  it("keeps chunks within maxTokens, overlaps neighbours, and is deterministic", () => {
    const chunks = chunkText("d", text, { maxTokens: 200, overlapTokens: 20 });
    assert.ok(chunks.length >= 4);
    for (const c of chunks) assert.ok(encode(c.text).length <= 200 + 2, `${encode(c.text).length} tokens`);
    assert.deepEqual(
      chunks.map((c) => c.id),
      chunks.map((_, i) => `d#${i}`),
    );
    const tail = chunks[0]?.text.split(" ").slice(-5).join(" ") ?? "";
    assert.ok(chunks[1]?.text.startsWith(tail.slice(0, 10)) || chunks[1]?.text.includes(tail), "overlap");
    assert.deepEqual(chunkText("d", text, { maxTokens: 200, overlapTokens: 20 }), chunks);
  });
  it("a short document is one chunk; an empty one none", () => {
    assert.equal(chunkText("d", "short text", { maxTokens: 512, overlapTokens: 64 }).length, 1);
    assert.equal(chunkText("d", "  \n ", { maxTokens: 512, overlapTokens: 64 }).length, 0);
  });
});

describe("loaders", () => {
  it("HTML → readable text", () => {
    const r = htmlToText(
      "<html><head><title>T &amp; U</title><style>p{}</style></head><body><h2>Head</h2><p>One&nbsp;two &#x41;</p><script>bad()</script><ul><li>x</li></ul></body></html>",
    );
    assert.equal(r.title, "T & U");
    assert.equal(r.text, "## Head\n\nOne two A\n\n- x");
  });
  it("PDF → text layer", async () => {
    const docs = await loadBuffer(tinyPdf("Lift and drag of a delta wing"), "w.pdf", "w.pdf", "w.pdf", 0);
    assert.equal(docs[0]?.text, "Lift and drag of a delta wing");
  });
  it("BEIR corpus lines, with a clear error naming the bad line", () => {
    const docs = parseBeirCorpus(
      '{"_id": 7, "title": "t", "text": "x"}\n\n{"_id": "8", "text": "y"}\n',
      "c.jsonl",
      5,
    );
    assert.deepEqual(
      docs.map((d) => [d.id, d.title, d.text]),
      [
        ["7", "t", "x"],
        ["8", undefined, "y"],
      ],
    );
    assert.throws(
      () => parseBeirCorpus('{"_id": "1", "text": "x"}\n{"title": "no id"}\n', "c.jsonl", 0),
      /c\.jsonl:2: a BEIR document needs "_id" and "text"/,
    );
  });
  it("an unknown extension is refused by name", async () => {
    await assert.rejects(
      loadBuffer(Buffer.from("x"), "a.docx", "a", "a", 0),
      /a\.docx: no loader for "\.docx"/,
    );
  });
});

describe("answers", () => {
  it("selects sources within the token budget and maps citations", () => {
    const hits = [hit("a", 3), { ...hit("b", 2), text: "word ".repeat(500) }, hit("c", 1)];
    const sources = selectSources(hits, 120);
    assert.equal(sources[0]?.index, 1);
    assert.ok(sources.length >= 2);
    assert.ok(encode(sources[1]?.text ?? "").length < 120);
    assert.deepEqual(citedIndexes("As [2] and [1, 2] say; [9] is not a source.", sources), [2, 1]);
  });
});

/** A one-page PDF with one line of Helvetica text, with a correct xref table. */
function tinyPdf(line: string): Buffer {
  const stream = `BT /F1 12 Tf 72 720 Td (${line}) Tj ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  let out = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, "latin1");
}
