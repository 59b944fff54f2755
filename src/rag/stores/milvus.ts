/**
 * Milvus (and Milvus Lite): per collection a Milvus collection of chunks with a dense
 * `vector` field (HNSW, COSINE, as the guide) and a `sparse` field filled by Milvus's BM25
 * function (k1 = 1.2, b = 0.75), plus a `…__docs` collection holding content hashes (written
 * after the chunks, so an interrupted write is redone). The text given to the BM25 function is
 * already analyzed by our English analyzer (Lucene stop words, Snowball stemming): Milvus Lite
 * 3.2's analyzers only tokenize and drop listed stop words, and analyzing on our side keeps the
 * terms identical across stores.
 */
import { DataType, FunctionType, MilvusClient } from "@zilliz/milvus2-sdk-node";
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

export interface MilvusOptions {
  uri: string;
  token?: string;
  database?: string;
  index?: {
    type: "HNSW" | "IVF_FLAT" | "FLAT";
    metric: "COSINE" | "IP" | "L2";
    M: number;
    efConstruction: number;
  };
}

const PREFIX = "inferplane_";
const REGISTRY = "inferplane__collections";
const OUT = ["chunk_id", "doc_id", "text", "title", "source", "ts"];

/** Milvus names allow letters, digits and "_": escape the rest reversibly. */
function milvusName(name: string): string {
  return `${PREFIX}${name.replace(/_/g, "_5f").replace(/-/g, "_2d")}`;
}

interface Status {
  error_code?: string | number;
  code?: number;
  reason?: string;
}

function check<T extends { status?: Status } | Status>(r: T, what: string): T {
  const s = ("status" in r && r.status ? r.status : r) as Status;
  if (s.error_code !== undefined && s.error_code !== "Success" && s.error_code !== 0) {
    throw new InferplaneError("rag_store_unavailable", `milvus ${what}: ${s.reason || String(s.error_code)}`);
  }
  return r;
}

function quote(s: string): string {
  return JSON.stringify(s);
}

export class MilvusStore implements RagStore {
  readonly kind = "milvus";
  private readonly client: MilvusClient;

  constructor(private readonly opts: MilvusOptions) {
    this.client = new MilvusClient({
      address: opts.uri.replace(/^https?:\/\//, ""),
      ...(opts.token ? { token: opts.token } : {}),
      ...(opts.database ? { database: opts.database } : {}),
      logLevel: "error",
    });
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof InferplaneError) throw err;
      // The SDK rejects with Errors, or with the server's status object.
      const msg = err instanceof Error ? err.message : ((err as Status)?.reason ?? JSON.stringify(err));
      throw new InferplaneError("rag_store_unavailable", `milvus ${what} at ${this.opts.uri}: ${msg}`);
    }
  }

  async capabilities(): Promise<StoreCapabilities> {
    return { sparse: true, dense: true };
  }

  private registryReady?: Promise<void>;

  /** Collection configs live in a registry collection (Milvus Lite keeps no collection description). */
  private registry(): Promise<void> {
    this.registryReady ??= this.call("registry", async () => {
      const has = await this.client.hasCollection({ collection_name: REGISTRY });
      if (!has.value) {
        check(
          await this.client.createCollection({
            collection_name: REGISTRY,
            fields: [
              { name: "name", data_type: DataType.VarChar, is_primary_key: true, max_length: 256 },
              { name: "config", data_type: DataType.VarChar, max_length: 4096 },
              { name: "v", data_type: DataType.FloatVector, dim: 2 },
            ],
          }),
          "createCollection(registry)",
        );
        check(
          await this.client.createIndex({
            collection_name: REGISTRY,
            field_name: "v",
            index_type: "FLAT",
            metric_type: "L2",
            params: {},
          }),
          "createIndex(registry)",
        );
      }
      await this.client.loadCollection({ collection_name: REGISTRY });
    });
    return this.registryReady;
  }

  private async configs(filter: string): Promise<CollectionConfig[]> {
    await this.registry();
    const r = (await this.call("query", () =>
      this.client.query({
        collection_name: REGISTRY,
        filter,
        output_fields: ["config"],
        limit: 16384,
        consistency_level: "Strong" as never,
      }),
    )) as unknown as { data: { config: string }[] };
    return r.data.map((d) => JSON.parse(d.config) as CollectionConfig);
  }

  private async config(name: string): Promise<CollectionConfig | undefined> {
    return (await this.configs(`name == ${quote(name)}`))[0];
  }

  private async need(name: string): Promise<CollectionConfig> {
    const c = await this.config(name);
    if (!c) throw new InferplaneError("rag_collection_not_found", `no collection named "${name}"`);
    return c;
  }

  async createCollection(c: CollectionConfig): Promise<void> {
    await this.registry();
    if (await this.config(c.name)) {
      throw new InferplaneError("rag_collection_exists", `a collection named "${c.name}" already exists`);
    }
    const idx = this.opts.index ?? { type: "HNSW", metric: "COSINE", M: 16, efConstruction: 200 };
    const chunks = milvusName(c.name);
    const docs = `${chunks}__docs`;
    await this.call("createCollection", async () => {
      // Leftovers of a creation that died before registering are orphans: start clean.
      for (const n of [chunks, docs]) {
        if ((await this.client.hasCollection({ collection_name: n })).value)
          await this.client.dropCollection({ collection_name: n });
      }
      check(
        await this.client.createCollection({
          collection_name: chunks,
          fields: [
            { name: "chunk_id", data_type: DataType.VarChar, is_primary_key: true, max_length: 1024 },
            { name: "doc_id", data_type: DataType.VarChar, max_length: 1024 },
            {
              name: "terms",
              data_type: DataType.VarChar,
              max_length: 65535,
              enable_analyzer: true,
              analyzer_params: { tokenizer: "standard" },
            },
            { name: "sparse", data_type: DataType.SparseFloatVector },
            { name: "vector", data_type: DataType.FloatVector, dim: c.dimensions },
            { name: "text", data_type: DataType.VarChar, max_length: 65535 },
            { name: "title", data_type: DataType.VarChar, max_length: 4096 },
            { name: "source", data_type: DataType.VarChar, max_length: 4096 },
            { name: "ts", data_type: DataType.Int64 },
          ],
          functions: [
            {
              name: "bm25",
              type: FunctionType.BM25,
              input_field_names: ["terms"],
              output_field_names: ["sparse"],
              params: {},
            },
          ],
        }),
        "createCollection",
      );
      check(
        await this.client.createIndex({
          collection_name: chunks,
          field_name: "vector",
          index_type: idx.type,
          metric_type: idx.metric,
          params: idx.type === "HNSW" ? { M: idx.M, efConstruction: idx.efConstruction } : {},
        }),
        "createIndex(vector)",
      );
      check(
        await this.client.createIndex({
          collection_name: chunks,
          field_name: "sparse",
          index_type: "SPARSE_INVERTED_INDEX",
          metric_type: "BM25",
          params: { bm25_k1: 1.2, bm25_b: 0.75 },
        }),
        "createIndex(sparse)",
      );
      check(
        await this.client.createCollection({
          collection_name: docs,
          fields: [
            { name: "doc_id", data_type: DataType.VarChar, is_primary_key: true, max_length: 1024 },
            { name: "hash", data_type: DataType.VarChar, max_length: 128 },
            { name: "chunks", data_type: DataType.Int64 },
            // Milvus wants a vector field in every collection.
            { name: "v", data_type: DataType.FloatVector, dim: 2 },
          ],
        }),
        "createCollection(docs)",
      );
      check(
        await this.client.createIndex({
          collection_name: docs,
          field_name: "v",
          index_type: "FLAT",
          metric_type: "L2",
          params: {},
        }),
        "createIndex(docs)",
      );
      await this.client.loadCollection({ collection_name: chunks });
      await this.client.loadCollection({ collection_name: docs });
      check(
        await this.client.upsert({
          collection_name: REGISTRY,
          data: [{ name: c.name, config: JSON.stringify(c), v: [0, 0] }],
        }),
        "upsert(registry)",
      );
    });
  }

  private async info(c: CollectionConfig): Promise<CollectionInfo> {
    const docs = (await this.call("query", () =>
      this.client.query({
        collection_name: `${milvusName(c.name)}__docs`,
        filter: 'doc_id != ""',
        output_fields: ["chunks"],
        limit: 16384,
        consistency_level: "Strong" as never,
      }),
    )) as unknown as { data: { chunks: string | number }[] };
    return {
      ...c,
      documents: docs.data.length,
      chunks: docs.data.reduce((s, d) => s + Number(d.chunks), 0),
      store: this.kind,
    };
  }

  async getCollection(name: string): Promise<CollectionInfo | undefined> {
    const c = await this.config(name);
    return c ? this.info(c) : undefined;
  }

  async listCollections(): Promise<CollectionInfo[]> {
    const all = await this.configs('name != ""');
    const out = await Promise.all(all.map((c) => this.info(c)));
    return out.sort((x, y) => x.name.localeCompare(y.name));
  }

  async dropCollection(name: string): Promise<boolean> {
    if (!(await this.config(name))) return false;
    await this.call("dropCollection", async () => {
      await this.client.dropCollection({ collection_name: milvusName(name) });
      await this.client.dropCollection({ collection_name: `${milvusName(name)}__docs` });
      check(
        await this.client.delete({ collection_name: REGISTRY, filter: `name in [${quote(name)}]` }),
        "delete(registry)",
      );
    });
    return true;
  }

  async documentHashes(collection: string, docIds: string[]): Promise<Map<string, string>> {
    await this.need(collection);
    const out = new Map<string, string>();
    for (let i = 0; i < docIds.length; i += 500) {
      const ids = docIds.slice(i, i + 500);
      const r = (await this.call("query", () =>
        this.client.query({
          collection_name: `${milvusName(collection)}__docs`,
          filter: `doc_id in [${ids.map(quote).join(",")}]`,
          output_fields: ["doc_id", "hash"],
          limit: ids.length,
          consistency_level: "Strong" as never,
        }),
      )) as unknown as { data: { doc_id: string; hash: string }[] };
      for (const d of r.data) out.set(d.doc_id, d.hash);
    }
    return out;
  }

  async upsertDocuments(collection: string, writes: DocumentWrite[]): Promise<void> {
    const c = await this.need(collection);
    if (writes.length === 0) return;
    const name = milvusName(collection);
    const ids = writes.map((w) => w.doc.id);
    const rows = writes.flatMap((w) =>
      w.chunks.map((ch) => {
        if (!ch.vector || ch.vector.length !== c.dimensions) {
          throw new InferplaneError(
            "invalid_request",
            `chunk ${ch.id}: milvus needs an embedding of ${c.dimensions} dimensions, got ${ch.vector ? ch.vector.length : "none"}`,
          );
        }
        return {
          chunk_id: ch.id,
          doc_id: ch.docId,
          terms: analyze(ch.ordinal === 0 && ch.title ? `${ch.title}\n${ch.text}` : ch.text).join(" "),
          vector: Array.from(ch.vector),
          text: ch.text,
          title: ch.title ?? "",
          source: ch.source,
          ts: Math.round(ch.timestamp),
        };
      }),
    );
    await this.call("write", async () => {
      for (let i = 0; i < ids.length; i += 500) {
        const part = ids.slice(i, i + 500);
        check(
          await this.client.delete({
            collection_name: name,
            filter: `doc_id in [${part.map(quote).join(",")}]`,
          }),
          "delete",
        );
      }
      for (let i = 0; i < rows.length; i += 500) {
        check(await this.client.insert({ collection_name: name, data: rows.slice(i, i + 500) }), "insert");
      }
      // Hashes last: a document whose chunks did not all land is not marked done.
      check(
        await this.client.upsert({
          collection_name: `${name}__docs`,
          data: writes.map((w) => ({
            doc_id: w.doc.id,
            hash: w.contentHash,
            chunks: w.chunks.length,
            v: [0, 0],
          })),
        }),
        "upsert(docs)",
      );
    });
  }

  async deleteDocument(collection: string, docId: string): Promise<boolean> {
    await this.need(collection);
    const had = (await this.documentHashes(collection, [docId])).has(docId);
    await this.call("delete", async () => {
      check(
        await this.client.delete({
          collection_name: `${milvusName(collection)}__docs`,
          filter: `doc_id in [${quote(docId)}]`,
        }),
        "delete",
      );
      check(
        await this.client.delete({
          collection_name: milvusName(collection),
          filter: `doc_id in [${quote(docId)}]`,
        }),
        "delete",
      );
    });
    return had;
  }

  private filter(f?: SearchFilter): string {
    const parts: string[] = [];
    if (f?.source !== undefined) {
      const s = Array.isArray(f.source) ? f.source : [f.source];
      parts.push(`source in [${s.map(quote).join(",")}]`);
    }
    if (f?.timestampFrom !== undefined) parts.push(`ts >= ${Math.round(f.timestampFrom)}`);
    if (f?.timestampTo !== undefined) parts.push(`ts <= ${Math.round(f.timestampTo)}`);
    return parts.join(" and ");
  }

  private hits(results: Record<string, unknown>[], score: (s: number) => number): Hit[] {
    return results.map((r) => ({
      chunkId: String(r.chunk_id ?? r.id),
      docId: String(r.doc_id),
      text: String(r.text ?? ""),
      source: String(r.source ?? ""),
      timestamp: Number(r.ts ?? 0),
      ...(r.title ? { title: String(r.title) } : {}),
      score: score(Number(r.score)),
    }));
  }

  async searchSparse(collection: string, query: string, k: number, filter?: SearchFilter): Promise<Hit[]> {
    await this.need(collection);
    const terms = [...new Set(analyze(query))].join(" ");
    if (!terms) return [];
    const expr = this.filter(filter);
    const r = await this.call("search", () =>
      this.client.search({
        collection_name: milvusName(collection),
        data: [terms],
        anns_field: "sparse",
        metric_type: "BM25",
        limit: k,
        output_fields: OUT,
        ...(expr ? { filter: expr } : {}),
        consistency_level: "Strong" as never,
      }),
    );
    check(r, "search");
    // Milvus Lite reports BM25 as a negated distance; the order is already best first.
    return this.hits(r.results as unknown as Record<string, unknown>[], Math.abs);
  }

  async searchDense(
    collection: string,
    vector: Float32Array,
    k: number,
    filter?: SearchFilter,
  ): Promise<Hit[]> {
    const c = await this.need(collection);
    if (vector.length !== c.dimensions) {
      throw new InferplaneError(
        "invalid_request",
        `the query embedding has ${vector.length} dimensions, collection "${collection}" ${c.dimensions}`,
      );
    }
    const expr = this.filter(filter);
    const r = await this.call("search", () =>
      this.client.search({
        collection_name: milvusName(collection),
        data: [Array.from(vector)],
        anns_field: "vector",
        metric_type: "COSINE",
        limit: k,
        output_fields: OUT,
        ...(expr ? { filter: expr } : {}),
        consistency_level: "Strong" as never,
      }),
    );
    check(r, "search");
    return this.hits(r.results as unknown as Record<string, unknown>[], (s) => s);
  }

  async chunkIds(collection: string): Promise<string[]> {
    await this.need(collection);
    const r = (await this.call("query", () =>
      this.client.query({
        collection_name: milvusName(collection),
        filter: 'chunk_id != ""',
        output_fields: ["chunk_id"],
        limit: 16384,
        consistency_level: "Strong" as never,
      }),
    )) as unknown as { data: { chunk_id: string }[] };
    return r.data.map((d) => d.chunk_id).sort();
  }

  async close(): Promise<void> {
    await this.client.closeConnection();
  }
}
