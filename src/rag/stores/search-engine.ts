/**
 * OpenSearch and Elasticsearch over their shared REST API (index, bulk, search,
 * delete-by-query): one index per collection analysed as Lucene's English analyzer does
 * (possessives, lowercase, Lucene's English stop words) with Snowball English stemming, and BM25
 * (k1 = 1.2, b = 0.75, the default similarity); dense vectors where the server has them
 * (OpenSearch's k-NN plugin, Elasticsearch's `dense_vector`). A `…-docs` index keeps each
 * document's content hash, written after its chunks, so an interrupted write is redone.
 */
import { request } from "undici";
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

export interface SearchEngineOptions {
  flavour: "opensearch" | "elasticsearch";
  url: string;
  indexPrefix?: string;
  auth?: { username: string; password: string };
}

interface ChunkSource {
  chunk_id: string;
  doc_id: string;
  text: string;
  title?: string;
  source: string;
  ts: number;
}

/**
 * Lucene's EnglishAnalyzer chain with Snowball English (Porter2) in place of Porter: the same
 * analysis as the sqlite store and the published Lucene BM25 baseline.
 */
const ENGLISH_ANALYSIS = {
  filter: {
    inferplane_possessive: { type: "stemmer", language: "possessive_english" },
    inferplane_stop: { type: "stop", stopwords: "_english_" },
    inferplane_stem: { type: "snowball", language: "English" },
  },
  analyzer: {
    inferplane_english: {
      type: "custom",
      tokenizer: "standard",
      filter: ["inferplane_possessive", "lowercase", "inferplane_stop", "inferplane_stem"],
    },
  },
};

export class SearchEngineStore implements RagStore {
  readonly kind: string;
  private dense = false;
  /** True when the server cannot run the English chain: terms come from our analyzer. */
  clientAnalysis = false;
  private readonly prefix: string;
  private readonly base: string;
  private readonly headers: Record<string, string>;

  private constructor(readonly opts: SearchEngineOptions) {
    this.kind = opts.flavour;
    this.prefix = (opts.indexPrefix ?? "inferplane-").toLowerCase();
    this.base = opts.url.replace(/\/$/, "");
    this.headers = { "content-type": "application/json" };
    if (opts.auth) {
      this.headers.authorization = `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString("base64")}`;
    }
  }

  static async connect(opts: SearchEngineOptions): Promise<SearchEngineStore> {
    const s = new SearchEngineStore(opts);
    if (opts.flavour === "elasticsearch") s.dense = true;
    else {
      const plugins = (await s.call("GET", "/_cat/plugins?format=json")) as { component?: string }[];
      s.dense = plugins.some((p) => p.component === "opensearch-knn");
    }
    // Servers without the analysis-common module (Elasticsearch's integ-test-zip) know no
    // stemmer or stop filter: then text is analyzed here and indexed as ready-made terms.
    try {
      await s.call("POST", "/_analyze", {
        tokenizer: "standard",
        filter: [{ type: "snowball", language: "English" }],
        text: "wings",
      });
    } catch {
      s.clientAnalysis = true;
    }
    return s;
  }

  private async call(method: string, path: string, body?: unknown, ok404 = false): Promise<unknown> {
    let res: Awaited<ReturnType<typeof request>>;
    const ndjson = typeof body === "string";
    try {
      res = await request(`${this.base}${path}`, {
        method: method as "GET",
        headers: ndjson ? { ...this.headers, "content-type": "application/x-ndjson" } : this.headers,
        ...(body !== undefined ? { body: ndjson ? body : JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new InferplaneError(
        "rag_store_unavailable",
        `${this.kind} at ${this.base}: ${(err as Error).message}`,
      );
    }
    const text = await res.body.text();
    if (res.statusCode === 404 && ok404) return undefined;
    if (res.statusCode >= 400) {
      throw new InferplaneError(
        "rag_store_unavailable",
        `${this.kind} ${method} ${path} answered ${res.statusCode}: ${text.slice(0, 400)}`,
      );
    }
    return text ? (JSON.parse(text) as unknown) : {};
  }

  private bodyOf(text: string): string {
    return this.clientAnalysis ? analyze(text).join(" ") : text;
  }

  private chunksIndex(name: string): string {
    return `${this.prefix}${name.toLowerCase()}`;
  }
  private docsIndex(name: string): string {
    return `${this.prefix}${name.toLowerCase()}-docs`;
  }
  private get registry(): string {
    return `${this.prefix}collections`;
  }

  async capabilities(): Promise<StoreCapabilities> {
    return { sparse: true, dense: this.dense };
  }

  async createCollection(c: CollectionConfig): Promise<void> {
    if (await this.getCollection(c.name)) {
      throw new InferplaneError("rag_collection_exists", `a collection named "${c.name}" already exists`);
    }
    const vector = this.dense
      ? this.kind === "opensearch"
        ? { vector: { type: "knn_vector", dimension: c.dimensions, space_type: "cosinesimil" } }
        : { vector: { type: "dense_vector", dims: c.dimensions, index: true, similarity: "cosine" } }
      : {};
    await this.call("PUT", `/${this.chunksIndex(c.name)}`, {
      settings: {
        number_of_shards: 1,
        number_of_replicas: 0,
        ...(this.clientAnalysis ? {} : { analysis: ENGLISH_ANALYSIS }),
        ...(this.dense && this.kind === "opensearch" ? { "index.knn": true } : {}),
      },
      mappings: {
        properties: {
          chunk_id: { type: "keyword" },
          doc_id: { type: "keyword" },
          // Client-analyzed terms are lower-case words joined by spaces: the standard analyzer keeps them.
          body: { type: "text", analyzer: this.clientAnalysis ? "standard" : "inferplane_english" },
          text: { type: "text", index: false },
          title: { type: "text", index: false },
          source: { type: "keyword" },
          ts: { type: "long" },
          ...vector,
        },
      },
    });
    await this.call("PUT", `/${this.docsIndex(c.name)}`, {
      settings: { number_of_shards: 1, number_of_replicas: 0 },
      mappings: { properties: { hash: { type: "keyword" }, chunks: { type: "integer" } } },
    });
    await this.call("PUT", `/${this.registry}/_doc/${encodeURIComponent(c.name)}?refresh=true`, c);
  }

  private async info(c: CollectionConfig): Promise<CollectionInfo> {
    const docs = (await this.call("GET", `/${this.docsIndex(c.name)}/_search`, {
      size: 0,
      track_total_hits: true,
      aggs: { chunks: { sum: { field: "chunks" } } },
    })) as { hits: { total: { value: number } }; aggregations: { chunks: { value: number } } };
    return {
      ...c,
      documents: docs.hits.total.value,
      chunks: docs.aggregations.chunks.value,
      store: this.kind,
    };
  }

  async getCollection(name: string): Promise<CollectionInfo | undefined> {
    const r = (await this.call(
      "GET",
      `/${this.registry}/_doc/${encodeURIComponent(name)}`,
      undefined,
      true,
    )) as { found?: boolean; _source?: CollectionConfig } | undefined;
    return r?.found && r._source ? this.info(r._source) : undefined;
  }

  async listCollections(): Promise<CollectionInfo[]> {
    const r = (await this.call("GET", `/${this.registry}/_search?size=1000`, undefined, true)) as
      | { hits: { hits: { _source: CollectionConfig }[] } }
      | undefined;
    const all = (r?.hits.hits ?? []).map((h) => h._source).sort((a, b) => a.name.localeCompare(b.name));
    return Promise.all(all.map((c) => this.info(c)));
  }

  private async need(name: string): Promise<CollectionConfig> {
    const r = (await this.call(
      "GET",
      `/${this.registry}/_doc/${encodeURIComponent(name)}`,
      undefined,
      true,
    )) as { found?: boolean; _source?: CollectionConfig } | undefined;
    if (!r?.found || !r._source)
      throw new InferplaneError("rag_collection_not_found", `no collection named "${name}"`);
    return r._source;
  }

  async dropCollection(name: string): Promise<boolean> {
    if (!(await this.getCollection(name))) return false;
    await this.call("DELETE", `/${this.chunksIndex(name)}`, undefined, true);
    await this.call("DELETE", `/${this.docsIndex(name)}`, undefined, true);
    await this.call(
      "DELETE",
      `/${this.registry}/_doc/${encodeURIComponent(name)}?refresh=true`,
      undefined,
      true,
    );
    return true;
  }

  async documentHashes(collection: string, docIds: string[]): Promise<Map<string, string>> {
    await this.need(collection);
    const out = new Map<string, string>();
    if (docIds.length === 0) return out;
    const r = (await this.call("POST", `/${this.docsIndex(collection)}/_mget`, { ids: docIds })) as {
      docs: { _id: string; found: boolean; _source?: { hash: string } }[];
    };
    for (const d of r.docs) if (d.found && d._source) out.set(d._id, d._source.hash);
    return out;
  }

  /**
   * Deletes the chunks of these documents: found by a terms query, removed by a bulk request
   * (`_delete_by_query` lives in the reindex module, which minimal distributions lack).
   */
  private async deleteChunksOf(index: string, docIds: string[]): Promise<void> {
    for (;;) {
      const r = (await this.call("POST", `/${index}/_search`, {
        size: 10_000,
        _source: false,
        query: { terms: { doc_id: docIds } },
      })) as { hits: { hits: { _id: string }[] } };
      if (r.hits.hits.length === 0) return;
      await this.bulk(r.hits.hits.map((h) => ({ delete: { _index: index, _id: h._id } })));
    }
  }

  private async bulk(lines: unknown[]): Promise<void> {
    if (lines.length === 0) return;
    const body = `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`;
    const r = (await this.call("POST", "/_bulk?refresh=true", body)) as {
      errors: boolean;
      items: Record<string, { error?: { reason?: string } }>[];
    };
    if (r.errors) {
      const first = r.items.map((i) => Object.values(i)[0]?.error?.reason).find(Boolean);
      throw new InferplaneError("rag_store_unavailable", `${this.kind} bulk write failed: ${first}`);
    }
  }

  async upsertDocuments(collection: string, writes: DocumentWrite[]): Promise<void> {
    const c = await this.need(collection);
    if (writes.length === 0) return;
    const index = this.chunksIndex(collection);
    await this.deleteChunksOf(
      index,
      writes.map((w) => w.doc.id),
    );
    const lines: unknown[] = [];
    for (const w of writes) {
      for (const ch of w.chunks) {
        if (ch.vector && ch.vector.length !== c.dimensions) {
          throw new InferplaneError(
            "invalid_request",
            `chunk ${ch.id}: embedding has ${ch.vector.length} dimensions, the collection ${c.dimensions}`,
          );
        }
        lines.push({ index: { _index: index, _id: ch.id } });
        lines.push({
          chunk_id: ch.id,
          doc_id: ch.docId,
          body: this.bodyOf(ch.ordinal === 0 && ch.title ? `${ch.title}\n${ch.text}` : ch.text),
          text: ch.text,
          ...(ch.title ? { title: ch.title } : {}),
          source: ch.source,
          ts: Math.round(ch.timestamp),
          ...(ch.vector && this.dense ? { vector: Array.from(ch.vector) } : {}),
        });
      }
    }
    await this.bulk(lines);
    // Hashes last: a document whose chunks did not all land is not marked done.
    await this.bulk(
      writes.flatMap((w) => [
        { index: { _index: this.docsIndex(collection), _id: w.doc.id } },
        { hash: w.contentHash, chunks: w.chunks.length },
      ]),
    );
  }

  async deleteDocument(collection: string, docId: string): Promise<boolean> {
    await this.need(collection);
    const r = (await this.call(
      "DELETE",
      `/${this.docsIndex(collection)}/_doc/${encodeURIComponent(docId)}?refresh=true`,
      undefined,
      true,
    )) as { result?: string } | undefined;
    await this.deleteChunksOf(this.chunksIndex(collection), [docId]);
    return r?.result === "deleted";
  }

  private filters(filter?: SearchFilter): unknown[] {
    const out: unknown[] = [];
    if (filter?.source !== undefined) {
      out.push({ terms: { source: Array.isArray(filter.source) ? filter.source : [filter.source] } });
    }
    if (filter?.timestampFrom !== undefined || filter?.timestampTo !== undefined) {
      out.push({
        range: {
          ts: {
            ...(filter.timestampFrom !== undefined ? { gte: filter.timestampFrom } : {}),
            ...(filter.timestampTo !== undefined ? { lte: filter.timestampTo } : {}),
          },
        },
      });
    }
    return out;
  }

  private hits(r: unknown, score: (s: number) => number): Hit[] {
    return (r as { hits: { hits: { _score: number; _source: ChunkSource }[] } }).hits.hits.map((h) => ({
      chunkId: h._source.chunk_id,
      docId: h._source.doc_id,
      text: h._source.text,
      source: h._source.source,
      timestamp: h._source.ts,
      ...(h._source.title ? { title: h._source.title } : {}),
      score: score(h._score),
    }));
  }

  async searchSparse(collection: string, query: string, k: number, filter?: SearchFilter): Promise<Hit[]> {
    await this.need(collection);
    const q = this.clientAnalysis ? [...new Set(analyze(query))].join(" ") : query;
    if (!q.trim()) return [];
    const r = await this.call("POST", `/${this.chunksIndex(collection)}/_search`, {
      size: k,
      _source: { excludes: ["vector", "body"] },
      query: { bool: { must: { match: { body: { query: q } } }, filter: this.filters(filter) } },
    });
    return this.hits(r, (s) => s);
  }

  async searchDense(
    collection: string,
    vector: Float32Array,
    k: number,
    filter?: SearchFilter,
  ): Promise<Hit[]> {
    const c = await this.need(collection);
    if (!this.dense) {
      throw new InferplaneError(
        "invalid_request",
        `${this.kind} at ${this.base} has no vector search (k-NN plugin)`,
      );
    }
    if (vector.length !== c.dimensions) {
      throw new InferplaneError(
        "invalid_request",
        `the query embedding has ${vector.length} dimensions, collection "${collection}" ${c.dimensions}`,
      );
    }
    const filters = this.filters(filter);
    const v = Array.from(vector);
    const body =
      this.kind === "opensearch"
        ? {
            size: k,
            _source: { excludes: ["vector", "body"] },
            query: {
              knn: {
                vector: {
                  vector: v,
                  k,
                  ...(filters.length ? { filter: { bool: { filter: filters } } } : {}),
                },
              },
            },
          }
        : {
            size: k,
            _source: { excludes: ["vector", "body"] },
            knn: {
              field: "vector",
              query_vector: v,
              k,
              num_candidates: Math.max(100, k * 4),
              filter: filters,
            },
          };
    const r = await this.call("POST", `/${this.chunksIndex(collection)}/_search`, body);
    // Both engines report cosine as (1 + cos) / 2.
    return this.hits(r, (s) => 2 * s - 1);
  }

  async chunkIds(collection: string): Promise<string[]> {
    await this.need(collection);
    const r = (await this.call("POST", `/${this.chunksIndex(collection)}/_search`, {
      size: 10_000,
      _source: false,
      fields: ["chunk_id"],
      sort: [{ chunk_id: "asc" }],
      query: { match_all: {} },
    })) as { hits: { hits: { _id: string }[] } };
    return r.hits.hits.map((h) => h._id);
  }

  async close(): Promise<void> {}
}
