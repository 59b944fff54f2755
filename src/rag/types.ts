/**
 * The RAG vocabulary shared by ingestion, stores, retrieval and answers. Stores implement
 * `RagStore`; nothing outside `stores/` imports a particular store.
 */

/** A loaded document before chunking. `id` is stable: the same source yields the same id. */
export interface SourceDocument {
  id: string;
  title?: string;
  text: string;
  /** Where it came from (file path, URL, corpus name); filterable. */
  source: string;
  /** Milliseconds since the epoch (file mtime, or given); filterable as a range. */
  timestamp: number;
  metadata?: Record<string, unknown>;
}

export interface Chunk {
  /** `${docId}#${ordinal}` */
  id: string;
  docId: string;
  ordinal: number;
  text: string;
  tokens: number;
}

export interface ChunkRecord extends Chunk {
  source: string;
  timestamp: number;
  title?: string;
  metadata?: Record<string, unknown>;
  vector?: Float32Array;
}

export interface CollectionConfig {
  name: string;
  /** Route (public model name) of the embedding model, through the gateway's router. */
  embeddingRoute: string;
  dimensions: number;
  createdAt: number;
}

export interface CollectionInfo extends CollectionConfig {
  documents: number;
  chunks: number;
  store: string;
}

/** Metadata filter: every given field must match. */
export interface SearchFilter {
  source?: string | string[];
  /** Inclusive bounds, ms since the epoch. */
  timestampFrom?: number;
  timestampTo?: number;
}

export interface Hit {
  chunkId: string;
  docId: string;
  text: string;
  source: string;
  timestamp: number;
  title?: string;
  /** Store-native score of the retriever that produced it (BM25, cosine similarity, fused, rerank). */
  score: number;
}

export interface StoreCapabilities {
  sparse: boolean;
  dense: boolean;
}

/** One document's replacement: its chunks (with vectors when the collection is dense). */
export interface DocumentWrite {
  doc: SourceDocument;
  contentHash: string;
  chunks: ChunkRecord[];
}

export interface RagStore {
  readonly kind: string;
  capabilities(): Promise<StoreCapabilities>;
  createCollection(config: CollectionConfig): Promise<void>;
  getCollection(name: string): Promise<CollectionInfo | undefined>;
  listCollections(): Promise<CollectionInfo[]>;
  dropCollection(name: string): Promise<boolean>;
  /** Content hashes of the given documents that the collection already holds. */
  documentHashes(collection: string, docIds: string[]): Promise<Map<string, string>>;
  /** Replaces each document's chunks atomically (per document at least). */
  upsertDocuments(collection: string, writes: DocumentWrite[]): Promise<void>;
  deleteDocument(collection: string, docId: string): Promise<boolean>;
  /** BM25 with an English analyzer; best first. */
  searchSparse(collection: string, query: string, k: number, filter?: SearchFilter): Promise<Hit[]>;
  /** Cosine kNN; score = cosine similarity; best first. */
  searchDense(collection: string, vector: Float32Array, k: number, filter?: SearchFilter): Promise<Hit[]>;
  /** Chunk ids in the collection, sorted (for tests and resumable ingest checks). */
  chunkIds(collection: string): Promise<string[]>;
  close(): Promise<void>;
}
