/**
 * The embedded store: one SQLite file (WAL) holding documents, chunks, an FTS5 index of
 * analyzed terms (BM25, k1 = 1.2, b = 0.75) and a sqlite-vec `vec0` table of cosine vectors
 * per collection. Each document's replacement is one transaction, so a killed ingest leaves
 * every document either old or new, never half-written.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import * as sqliteVec from "sqlite-vec";
import { InferplaneError } from "../../errors.js";
import { analyze } from "../analyze.js";
import type {
  CollectionConfig,
  CollectionInfo,
  DocumentWrite,
  Hit,
  RagStore,
  SearchFilter,
  StoreCapabilities,
} from "../types.js";
import { DenseIndex } from "./dense-index.js";

type Db = Database.Database;

interface CollectionRow {
  name: string;
  tid: number;
  embedding_route: string;
  dimensions: number;
  created_at: number;
}

interface ChunkRow {
  rowid: number;
  chunk_id: string;
  doc_id: string;
  text: string;
  source: string;
  ts: number;
  title: string | null;
}

function toHit(r: ChunkRow, score: number): Hit {
  return {
    chunkId: r.chunk_id,
    docId: r.doc_id,
    text: r.text,
    source: r.source,
    timestamp: r.ts,
    ...(r.title ? { title: r.title } : {}),
    score,
  };
}

function filterSql(filter: SearchFilter | undefined, alias: string): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (filter?.source !== undefined) {
    const sources = Array.isArray(filter.source) ? filter.source : [filter.source];
    parts.push(`${alias}.source IN (${sources.map(() => "?").join(",")})`);
    params.push(...sources);
  }
  if (filter?.timestampFrom !== undefined) {
    parts.push(`${alias}.ts >= ?`);
    params.push(filter.timestampFrom);
  }
  if (filter?.timestampTo !== undefined) {
    parts.push(`${alias}.ts <= ?`);
    params.push(filter.timestampTo);
  }
  return { sql: parts.map((p) => ` AND ${p}`).join(""), params };
}

const BM25_K1 = 1.2;
const BM25_B = 0.75;

interface TermPostings {
  /** Local chunk numbers and term frequencies. */
  ids: Int32Array;
  tfs: Int32Array;
}

interface Postings {
  dataVersion: number;
  local: Map<number, number>;
  rowids: Float64Array;
  norm: Float64Array;
  terms: Map<string, TermPostings>;
  /** Scratch accumulator, zeroed after each query. */
  scores: Float64Array;
}

/** The k best (index, score) pairs, best first; ties by lower index (rowid order). */
function topK(candidates: number[], scores: Float64Array, k: number): [number, number][] {
  if (candidates.length <= k * 4) {
    return candidates
      .map((i): [number, number] => [i, scores[i] as number])
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, k);
  }
  // A size-k min-heap keeps the best; O(n log k).
  const heap: [number, number][] = [];
  const worse = (a: [number, number], b: [number, number]) => a[1] < b[1] || (a[1] === b[1] && a[0] > b[0]);
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l] as [number, number], heap[m] as [number, number])) m = l;
      if (r < heap.length && worse(heap[r] as [number, number], heap[m] as [number, number])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m] as [number, number], heap[i] as [number, number]];
      i = m;
    }
  };
  for (const i of candidates) {
    const e: [number, number] = [i, scores[i] as number];
    if (heap.length < k) {
      heap.push(e);
      for (let c = heap.length - 1; c > 0; ) {
        const parent = (c - 1) >> 1;
        if (!worse(heap[c] as [number, number], heap[parent] as [number, number])) break;
        [heap[c], heap[parent]] = [heap[parent] as [number, number], heap[c] as [number, number]];
        c = parent;
      }
    } else if (worse(heap[0] as [number, number], e)) {
      heap[0] = e;
      down(0);
    }
  }
  return heap.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
}

export class SqliteStore implements RagStore {
  readonly kind = "sqlite";
  readonly db: Db;
  private readonly postings = new Map<string, Postings>();
  private readonly dense = new Map<string, { dataVersion: number; index: DenseIndex | undefined }>();

  /**
   * `denseIndexMaxBytes`: vectors of a collection up to this size are scanned in memory with
   * SIMD (default 512 MiB); larger collections use sqlite-vec's scan.
   */
  constructor(
    readonly path: string,
    private readonly options: { denseIndexMaxBytes?: number } = {},
  ) {
    try {
      if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
      this.db = new Database(path);
      sqliteVec.load(this.db);
    } catch (err) {
      throw new InferplaneError(
        "rag_store_unavailable",
        `cannot open the sqlite store ${path}: ${(err as Error).message}`,
      );
    }
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS collections (
        name TEXT PRIMARY KEY, tid INTEGER UNIQUE NOT NULL, embedding_route TEXT NOT NULL,
        dimensions INTEGER NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS documents (
        collection TEXT NOT NULL, doc_id TEXT NOT NULL, hash TEXT NOT NULL, chunks INTEGER NOT NULL,
        PRIMARY KEY (collection, doc_id));
      CREATE TABLE IF NOT EXISTS chunks (
        rowid INTEGER PRIMARY KEY, collection TEXT NOT NULL, chunk_id TEXT NOT NULL, doc_id TEXT NOT NULL,
        ordinal INTEGER NOT NULL, text TEXT NOT NULL, source TEXT NOT NULL, ts INTEGER NOT NULL,
        title TEXT, metadata TEXT, nterms INTEGER NOT NULL DEFAULT 0, UNIQUE (collection, chunk_id));
      CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks (collection, doc_id);
    `);
  }

  async capabilities(): Promise<StoreCapabilities> {
    return { sparse: true, dense: true };
  }

  private row(name: string): CollectionRow | undefined {
    return this.stmt("SELECT * FROM collections WHERE name = ?").get(name) as CollectionRow | undefined;
  }

  private need(name: string): CollectionRow {
    const r = this.row(name);
    if (!r) throw new InferplaneError("rag_collection_not_found", `no collection named "${name}"`);
    return r;
  }

  async createCollection(c: CollectionConfig): Promise<void> {
    this.db.transaction(() => {
      if (this.row(c.name)) {
        throw new InferplaneError("rag_collection_exists", `a collection named "${c.name}" already exists`);
      }
      const tid =
        ((this.db.prepare("SELECT max(tid) m FROM collections").get() as { m: number | null }).m ?? 0) + 1;
      this.db
        .prepare("INSERT INTO collections VALUES (?, ?, ?, ?, ?)")
        .run(c.name, tid, c.embeddingRoute, c.dimensions, c.createdAt);
      this.db.exec(
        `CREATE VIRTUAL TABLE fts_${tid} USING fts5(terms, tokenize = "unicode61 remove_diacritics 0 tokenchars '_'");
         CREATE VIRTUAL TABLE fts_${tid}_i USING fts5vocab(fts_${tid}, 'instance');
         CREATE VIRTUAL TABLE vec_${tid} USING vec0(rid INTEGER PRIMARY KEY,
           embedding float[${c.dimensions}] distance_metric=cosine, source TEXT, ts INTEGER);`,
      );
    })();
  }

  private info(r: CollectionRow): CollectionInfo {
    const counts = this.db
      .prepare("SELECT count(*) d, coalesce(sum(chunks), 0) c FROM documents WHERE collection = ?")
      .get(r.name) as { d: number; c: number };
    return {
      name: r.name,
      embeddingRoute: r.embedding_route,
      dimensions: r.dimensions,
      createdAt: r.created_at,
      documents: counts.d,
      chunks: counts.c,
      store: this.kind,
    };
  }

  async getCollection(name: string): Promise<CollectionInfo | undefined> {
    const r = this.row(name);
    return r ? this.info(r) : undefined;
  }

  async listCollections(): Promise<CollectionInfo[]> {
    const rows = this.db.prepare("SELECT * FROM collections ORDER BY name").all() as CollectionRow[];
    return rows.map((r) => this.info(r));
  }

  async dropCollection(name: string): Promise<boolean> {
    const r = this.row(name);
    if (!r) return false;
    this.postings.delete(name);
    this.dense.delete(name);
    this.db.transaction(() => {
      this.db.exec(
        `DROP TABLE IF EXISTS fts_${r.tid}_i; DROP TABLE IF EXISTS fts_${r.tid}; DROP TABLE IF EXISTS vec_${r.tid};`,
      );
      this.db.prepare("DELETE FROM chunks WHERE collection = ?").run(name);
      this.db.prepare("DELETE FROM documents WHERE collection = ?").run(name);
      this.db.prepare("DELETE FROM collections WHERE name = ?").run(name);
    })();
    return true;
  }

  async documentHashes(collection: string, docIds: string[]): Promise<Map<string, string>> {
    this.need(collection);
    const out = new Map<string, string>();
    const stmt = this.db.prepare("SELECT hash FROM documents WHERE collection = ? AND doc_id = ?");
    for (const id of docIds) {
      const r = stmt.get(collection, id) as { hash: string } | undefined;
      if (r) out.set(id, r.hash);
    }
    return out;
  }

  private removeChunks(r: CollectionRow, docId: string): void {
    const rows = this.db
      .prepare("SELECT rowid FROM chunks WHERE collection = ? AND doc_id = ?")
      .all(r.name, docId) as { rowid: number }[];
    const delFts = this.db.prepare(`DELETE FROM fts_${r.tid} WHERE rowid = ?`);
    const delVec = this.db.prepare(`DELETE FROM vec_${r.tid} WHERE rid = ?`);
    for (const { rowid } of rows) {
      delFts.run(rowid);
      delVec.run(BigInt(rowid));
    }
    this.db.prepare("DELETE FROM chunks WHERE collection = ? AND doc_id = ?").run(r.name, docId);
  }

  async upsertDocuments(collection: string, writes: DocumentWrite[]): Promise<void> {
    const r = this.need(collection);
    this.postings.delete(collection);
    this.dense.delete(collection);
    const insChunk = this.db.prepare(
      "INSERT INTO chunks (collection, chunk_id, doc_id, ordinal, text, source, ts, title, metadata, nterms) VALUES (?,?,?,?,?,?,?,?,?,?)",
    );
    const insFts = this.db.prepare(`INSERT INTO fts_${r.tid} (rowid, terms) VALUES (?, ?)`);
    const insVec = this.db.prepare(
      `INSERT INTO vec_${r.tid} (rid, embedding, source, ts) VALUES (?, ?, ?, ?)`,
    );
    const upDoc = this.db.prepare(
      "INSERT INTO documents VALUES (?, ?, ?, ?) ON CONFLICT (collection, doc_id) DO UPDATE SET hash = excluded.hash, chunks = excluded.chunks",
    );
    this.db.transaction(() => {
      for (const w of writes) {
        this.removeChunks(r, w.doc.id);
        for (const c of w.chunks) {
          const ts = Math.round(c.timestamp);
          // Title and text are one field, as the Lucene baseline indexes them.
          const terms = analyze(c.ordinal === 0 && c.title ? `${c.title}\n${c.text}` : c.text);
          const info = insChunk.run(
            collection,
            c.id,
            c.docId,
            c.ordinal,
            c.text,
            c.source,
            ts,
            c.title ?? null,
            c.metadata ? JSON.stringify(c.metadata) : null,
            terms.length,
          );
          const rowid = Number(info.lastInsertRowid);
          insFts.run(rowid, terms.join(" "));
          if (c.vector) {
            if (c.vector.length !== r.dimensions) {
              throw new InferplaneError(
                "invalid_request",
                `chunk ${c.id}: embedding has ${c.vector.length} dimensions, the collection ${r.dimensions}`,
              );
            }
            insVec.run(BigInt(rowid), c.vector, c.source, BigInt(ts));
          }
        }
        upDoc.run(collection, w.doc.id, w.contentHash, w.chunks.length);
      }
    })();
  }

  async deleteDocument(collection: string, docId: string): Promise<boolean> {
    const r = this.need(collection);
    this.postings.delete(collection);
    this.dense.delete(collection);
    return this.db.transaction(() => {
      this.removeChunks(r, docId);
      return (
        this.db.prepare("DELETE FROM documents WHERE collection = ? AND doc_id = ?").run(collection, docId)
          .changes > 0
      );
    })();
  }

  /**
   * The collection's postings, read from FTS5 (`fts5vocab` instance rows) a term at a time and
   * kept until this connection writes or `PRAGMA data_version` says another one did. Chunks get
   * dense local numbers so that scoring runs over typed arrays.
   */
  private postingsOf(r: CollectionRow): Postings {
    const version = this.db.pragma("data_version", { simple: true }) as number;
    let p = this.postings.get(r.name);
    if (!p || p.dataVersion !== version) {
      const rows = this.db
        .prepare("SELECT rowid, nterms FROM chunks WHERE collection = ?")
        .raw()
        .all(r.name) as [number, number][];
      const local = new Map<number, number>();
      const rowids = new Float64Array(rows.length);
      let sum = 0;
      rows.forEach(([id, n], i) => {
        local.set(id, i);
        rowids[i] = id;
        sum += n;
      });
      const avg = rows.length ? sum / rows.length : 1;
      // Lucene's BM25 length normalisation, k1 · (1 − b + b · dl / avgdl), per chunk.
      const norm = Float64Array.from(rows, ([, n]) => BM25_K1 * (1 - BM25_B + (BM25_B * n) / (avg || 1)));
      p = {
        dataVersion: version,
        local,
        rowids,
        norm,
        terms: new Map(),
        scores: new Float64Array(rows.length),
      };
      this.postings.set(r.name, p);
    }
    return p;
  }

  private termPostings(r: CollectionRow, p: Postings, term: string): TermPostings {
    let t = p.terms.get(term);
    if (!t) {
      const occurrences = this.db
        .prepare(`SELECT doc FROM fts_${r.tid}_i WHERE term = ?`)
        .raw()
        .all(term) as [number][];
      const tf = new Map<number, number>();
      for (const [doc] of occurrences) {
        const i = p.local.get(doc);
        if (i !== undefined) tf.set(i, (tf.get(i) ?? 0) + 1);
      }
      t = { ids: Int32Array.from(tf.keys()), tfs: Int32Array.from(tf.values()) };
      if (p.terms.size < 100_000) p.terms.set(term, t);
    }
    return t;
  }

  /**
   * Lucene's BM25: k1 = 1.2, b = 0.75, idf = ln(1 + (N − n + 0.5)/(n + 0.5)), document length =
   * analyzed terms. FTS5 holds the inverted index; its own bm25() is not used because it floors
   * idf at 1e-6 for terms in more than half the chunks and streams every match through SQL.
   */
  async searchSparse(collection: string, query: string, k: number, filter?: SearchFilter): Promise<Hit[]> {
    const r = this.need(collection);
    const terms = [...new Set(analyze(query))];
    if (terms.length === 0) return [];
    const p = this.postingsOf(r);
    const total = p.rowids.length;
    let allowed: Uint8Array | undefined;
    if (
      filter &&
      (filter.source !== undefined || filter.timestampFrom !== undefined || filter.timestampTo !== undefined)
    ) {
      const f = filterSql(filter, "c");
      allowed = new Uint8Array(total);
      for (const [id] of this.db
        .prepare(`SELECT rowid FROM chunks c WHERE c.collection = ?${f.sql}`)
        .raw()
        .all(collection, ...f.params) as [number][]) {
        const i = p.local.get(id);
        if (i !== undefined) allowed[i] = 1;
      }
    }
    const scores = p.scores;
    const touched: number[] = [];
    for (const term of terms) {
      const t = this.termPostings(r, p, term);
      const n = t.ids.length;
      if (n === 0) continue;
      const idf = Math.log(1 + (total - n + 0.5) / (n + 0.5));
      const ids = t.ids;
      const tfs = t.tfs;
      for (let j = 0; j < n; j++) {
        const i = ids[j] as number;
        if (allowed && allowed[i] === 0) continue;
        const tf = tfs[j] as number;
        if (scores[i] === 0) touched.push(i);
        scores[i] = (scores[i] as number) + (idf * tf * (BM25_K1 + 1)) / (tf + (p.norm[i] as number));
      }
    }
    const top = topK(touched, scores, k);
    for (const i of touched) scores[i] = 0;
    const get = this.stmt(
      "SELECT rowid, chunk_id, doc_id, text, source, ts, title FROM chunks WHERE rowid = ?",
    );
    return top.flatMap(([i, score]) => {
      const row = get.get(p.rowids[i]) as ChunkRow | undefined;
      return row ? [toHit(row, score)] : [];
    });
  }

  private readonly statements = new Map<string, Database.Statement>();
  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /**
   * The collection's vectors in a SIMD-scanned index, loaded from vec0 on first use and kept
   * until this connection writes or `PRAGMA data_version` says another one did.
   */
  private denseOf(r: CollectionRow): DenseIndex | undefined {
    const version = this.db.pragma("data_version", { simple: true }) as number;
    const cached = this.dense.get(r.name);
    if (cached && cached.dataVersion === version) return cached.index;
    const count = (this.db.prepare(`SELECT count(*) FROM vec_${r.tid}`).pluck().get() as number) ?? 0;
    if (!DenseIndex.fits(count, r.dimensions, this.options.denseIndexMaxBytes)) {
      this.dense.set(r.name, { dataVersion: version, index: undefined });
      return undefined;
    }
    const rows = this.db.prepare(`SELECT rid, embedding, source, ts FROM vec_${r.tid}`).raw().all() as [
      number,
      Buffer,
      string,
      number,
    ][];
    const index = DenseIndex.build(
      rows.map(([rid, blob, source, ts]) => ({
        rid,
        vector: new Float32Array(blob.buffer, blob.byteOffset, blob.byteLength / 4),
        source,
        ts,
      })),
      r.dimensions,
      this.options.denseIndexMaxBytes,
    );
    this.dense.set(r.name, { dataVersion: version, index });
    return index;
  }

  async searchDense(
    collection: string,
    vector: Float32Array,
    k: number,
    filter?: SearchFilter,
  ): Promise<Hit[]> {
    const r = this.need(collection);
    if (vector.length !== r.dimensions) {
      throw new InferplaneError(
        "invalid_request",
        `the query embedding has ${vector.length} dimensions, collection "${collection}" ${r.dimensions}`,
      );
    }
    const index = this.denseOf(r);
    if (index) {
      const sources =
        filter?.source === undefined
          ? undefined
          : new Set(Array.isArray(filter.source) ? filter.source : [filter.source]);
      const best = index.search(vector, k, {
        ...(sources ? { sources } : {}),
        ...(filter?.timestampFrom !== undefined ? { from: filter.timestampFrom } : {}),
        ...(filter?.timestampTo !== undefined ? { to: filter.timestampTo } : {}),
      });
      const get = this.stmt(
        "SELECT rowid, chunk_id, doc_id, text, source, ts, title FROM chunks WHERE rowid = ?",
      );
      return best.flatMap((b) => {
        const row = get.get(b.rid) as ChunkRow | undefined;
        return row ? [toHit(row, b.score)] : [];
      });
    }
    // Too large to hold in memory: vec0's own exact scan, which filters metadata columns inside
    // the kNN; one scan per source keeps it exact.
    const sources =
      filter?.source === undefined
        ? [undefined]
        : Array.isArray(filter.source)
          ? filter.source
          : [filter.source];
    const found: { rid: number; distance: number }[] = [];
    for (const source of sources) {
      const parts: string[] = [];
      const params: unknown[] = [vector, k];
      if (source !== undefined) {
        parts.push("source = ?");
        params.push(source);
      }
      if (filter?.timestampFrom !== undefined) {
        parts.push("ts >= ?");
        params.push(BigInt(Math.round(filter.timestampFrom)));
      }
      if (filter?.timestampTo !== undefined) {
        parts.push("ts <= ?");
        params.push(BigInt(Math.round(filter.timestampTo)));
      }
      found.push(
        ...(this.db
          .prepare(
            `SELECT rid, distance FROM vec_${r.tid} WHERE embedding MATCH ? AND k = ?${parts.map((p) => ` AND ${p}`).join("")} ORDER BY distance`,
          )
          .all(...params) as { rid: number; distance: number }[]),
      );
    }
    found.sort((a, b) => a.distance - b.distance);
    const top = found.slice(0, k);
    const get = this.db.prepare(
      "SELECT rowid, chunk_id, doc_id, text, source, ts, title FROM chunks WHERE rowid = ?",
    );
    return top.flatMap((f) => {
      const row = get.get(f.rid) as ChunkRow | undefined;
      return row ? [toHit(row, 1 - f.distance)] : [];
    });
  }

  async chunkIds(collection: string): Promise<string[]> {
    this.need(collection);
    return (
      this.db
        .prepare("SELECT chunk_id FROM chunks WHERE collection = ? ORDER BY chunk_id")
        .all(collection) as {
        chunk_id: string;
      }[]
    ).map((r) => r.chunk_id);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
