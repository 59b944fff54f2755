// kill -9 in the middle of an ingest, then the same ingest again: the store ends as after one
// uninterrupted run (same chunks, no duplicates, same vectors), because each batch commits whole
// documents in one SQLite transaction and finished documents are skipped by content hash.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { SqliteStore } from "../../src/rag/stores/sqlite.js";

const dir = mkdtempSync(join(tmpdir(), "rag-kill-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const child = join(import.meta.dirname, "ingest-child.ts");

function run(
  db: string,
  killAfterDocs?: number,
): Promise<{ code: number | null; signal: string | null; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", "tsx", child, db], { stdio: ["ignore", "pipe", "pipe"] });
    const lines: string[] = [];
    let buf = "";
    let err = "";
    p.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    p.stdout.on("data", (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        const docs = (JSON.parse(line) as { documents?: number }).documents ?? 0;
        if (killAfterDocs !== undefined && docs >= killAfterDocs) p.kill("SIGKILL");
      }
    });
    p.on("error", reject);
    p.on("close", (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`child failed (${code}): ${err}`));
      else resolve({ code, signal, lines });
    });
  });
}

function snapshot(path: string) {
  const s = new SqliteStore(path);
  try {
    const db = s.db;
    return {
      chunks: db.prepare("SELECT chunk_id, doc_id, text FROM chunks ORDER BY chunk_id").all(),
      documents: db.prepare("SELECT doc_id, hash, chunks FROM documents ORDER BY doc_id").all(),
      vectors: (db.prepare("SELECT count(*) n FROM vec_1").get() as { n: number }).n,
      fts: (db.prepare("SELECT count(*) n FROM fts_1").get() as { n: number }).n,
    };
  } finally {
    void s.close();
  }
}

it("kill -9 during an ingest, then the same ingest again → the same store as an uninterrupted run", async () => {
  const clean = join(dir, "clean.db");
  const killed = join(dir, "killed.db");
  const full = await run(clean);
  assert.equal(full.code, 0);
  const expected = snapshot(clean);
  assert.ok(expected.chunks.length > 1400, "128-token chunks: more chunks than documents");

  const first = await run(killed, 300);
  assert.equal(first.signal, "SIGKILL", "the child was killed, not finished");
  assert.ok(!first.lines.some((l) => l.includes('"done"')));
  const partial = snapshot(killed);
  assert.ok(
    partial.documents.length >= 300 && partial.documents.length < 1400,
    `partial: ${partial.documents.length} documents`,
  );

  const second = await run(killed);
  assert.equal(second.code, 0);
  const done = JSON.parse(second.lines.at(-1) as string) as { done: { unchanged: number; added: number } };
  assert.equal(done.done.unchanged, partial.documents.length, "finished documents are skipped");
  assert.equal(done.done.added, 1400 - partial.documents.length);
  const final = snapshot(killed);
  assert.deepEqual(final, expected);
  assert.equal(
    new Set(final.chunks.map((c) => (c as { chunk_id: string }).chunk_id)).size,
    final.chunks.length,
  );
  assert.equal(final.vectors, final.chunks.length);
  assert.equal(final.fts, final.chunks.length);
});
