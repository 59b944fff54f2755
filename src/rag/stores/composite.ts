/**
 * A vector store and a keyword store side by side (the guide's Milvus + Elasticsearch). The
 * keyword store keeps the document registry (content hashes) and is written last, so a crash
 * between the two writes leaves the document unregistered and the next ingest rewrites it.
 */
import type {
  CollectionConfig,
  CollectionInfo,
  DocumentWrite,
  Hit,
  RagStore,
  SearchFilter,
  StoreCapabilities,
} from "../types.js";

export class CompositeStore implements RagStore {
  readonly kind: string;

  constructor(
    readonly vector: RagStore,
    readonly keyword: RagStore,
  ) {
    this.kind = `${vector.kind}+${keyword.kind}`;
  }

  async capabilities(): Promise<StoreCapabilities> {
    const [v, k] = await Promise.all([this.vector.capabilities(), this.keyword.capabilities()]);
    return { dense: v.dense, sparse: k.sparse };
  }

  async createCollection(c: CollectionConfig): Promise<void> {
    await this.vector.createCollection(c);
    try {
      await this.keyword.createCollection(c);
    } catch (err) {
      await this.vector.dropCollection(c.name);
      throw err;
    }
  }

  async getCollection(name: string): Promise<CollectionInfo | undefined> {
    const info = await this.keyword.getCollection(name);
    return info ? { ...info, store: this.kind } : undefined;
  }

  async listCollections(): Promise<CollectionInfo[]> {
    return (await this.keyword.listCollections()).map((c) => ({ ...c, store: this.kind }));
  }

  async dropCollection(name: string): Promise<boolean> {
    const [a, b] = await Promise.all([this.vector.dropCollection(name), this.keyword.dropCollection(name)]);
    return a || b;
  }

  documentHashes(collection: string, docIds: string[]): Promise<Map<string, string>> {
    return this.keyword.documentHashes(collection, docIds);
  }

  async upsertDocuments(collection: string, writes: DocumentWrite[]): Promise<void> {
    await this.vector.upsertDocuments(collection, writes);
    await this.keyword.upsertDocuments(collection, writes);
  }

  async deleteDocument(collection: string, docId: string): Promise<boolean> {
    const k = await this.keyword.deleteDocument(collection, docId);
    const v = await this.vector.deleteDocument(collection, docId);
    return k || v;
  }

  searchSparse(collection: string, query: string, k: number, filter?: SearchFilter): Promise<Hit[]> {
    return this.keyword.searchSparse(collection, query, k, filter);
  }

  searchDense(collection: string, vector: Float32Array, k: number, filter?: SearchFilter): Promise<Hit[]> {
    return this.vector.searchDense(collection, vector, k, filter);
  }

  chunkIds(collection: string): Promise<string[]> {
    return this.keyword.chunkIds(collection);
  }

  async close(): Promise<void> {
    await Promise.all([this.vector.close(), this.keyword.close()]);
  }
}
