/** RAG: stores, embedding, retrieval, answers, ingestion. (A section of the spec schema: src/spec/schema.ts.) */
import { z } from "zod";
import { duration } from "../units.js";
import { envVar, url } from "./enums.js";

// ---------------------------------------------------------------- rag
const VectorStore = z
  .discriminatedUnion("kind", [
    z.strictObject({
      kind: z.literal("sqlite").describe("Embedded single-file store (sqlite-vec)."),
      path: z.string().default(".inferplane/rag.db").describe("Database file."),
    }),
    z.strictObject({
      kind: z.literal("milvus").describe("Milvus (dense HNSW with COSINE, as the guide)."),
      uri: url("Milvus endpoint, e.g. http://milvus-svc.ai-rag.svc:19530."),
      tokenEnv: envVar("Milvus token.").optional(),
      database: z.string().default("default").describe("Milvus database."),
      storageClass: z
        .string()
        .optional()
        .describe(
          "StorageClass of the data volume when render deploys Milvus in the cluster (ReadWriteOnce); default: the cluster's default class.",
        ),
      index: z
        .strictObject({
          type: z.enum(["HNSW", "IVF_FLAT", "FLAT"]).default("HNSW").describe("Vector index."),
          metric: z.enum(["COSINE", "IP", "L2"]).default("COSINE").describe("Similarity metric."),
          M: z.number().int().positive().default(16).describe("HNSW graph degree."),
          efConstruction: z.number().int().positive().default(200).describe("HNSW build breadth."),
        })
        .prefault({})
        .describe("Vector index parameters."),
    }),
  ])
  .describe("Where dense vectors live.");

const KeywordStore = z
  .discriminatedUnion("kind", [
    z.strictObject({
      kind: z.literal("sqlite").describe("Embedded FTS5 (BM25) in the same file as the sqlite vector store."),
      path: z.string().default(".inferplane/rag.db").describe("Database file."),
    }),
    z.strictObject({
      kind: z.enum(["elasticsearch", "opensearch"]).describe("Elasticsearch or OpenSearch (BM25)."),
      url: url("Cluster URL, e.g. http://elasticsearch-svc.ai-rag.svc:9200."),
      usernameEnv: envVar("Username.").optional(),
      passwordEnv: envVar("Password.").optional(),
      indexPrefix: z.string().default("inferplane-").describe("Prefix of index names."),
      storageClass: z
        .string()
        .optional()
        .describe(
          "StorageClass of the data volumes when render deploys the cluster in Kubernetes (ReadWriteOnce); default: the cluster's default class.",
        ),
    }),
  ])
  .describe("Where the BM25 keyword index lives.");

export const Rag = z
  .strictObject({
    enabled: z.boolean().default(true).describe("Serve /v1/rag/* from the gateway."),
    embedding: z
      .strictObject({
        route: z.string().describe("Route of the embedding model."),
        dimensions: z.number().int().positive().describe("Embedding dimension (bge-m3: 1024)."),
        batchSize: z.number().int().positive().default(32).describe("Texts per embedding request."),
        inputType: z
          .boolean()
          .default(false)
          .describe(
            "Send `input_type` (`query` or `document`) with embedding requests, so a server that knows the model's query instruction applies it to queries (the `embedded` engine; Cohere-, Voyage- and Jina-style APIs).",
          ),
      })
      .describe("Embedding model used for chunks and queries."),
    rerank: z
      .strictObject({
        route: z.string().describe("Route of the rerank model."),
        topN: z.number().int().positive().default(5).describe("Passages kept after reranking."),
      })
      .optional()
      .describe("Cross-encoder reranking of fused candidates."),
    answer: z
      .strictObject({
        route: z.string().describe("Chat route that writes grounded answers."),
        maxContextTokens: z.number().int().positive().default(4096).describe("Retrieved text budget."),
        minScore: z
          .number()
          .optional()
          .describe(
            'With rerank: passages scoring below this are not relevant; if none is left the answer says "not found in the collection" without calling the model.',
          ),
      })
      .optional()
      .describe("Grounded answers (/v1/rag/answer)."),
    stores: z
      .strictObject({
        vector: VectorStore.prefault({ kind: "sqlite" }),
        keyword: KeywordStore.prefault({ kind: "sqlite" }),
      })
      .prefault({})
      .describe("Vector and keyword stores."),
    ingest: z
      .strictObject({
        allowPrivateNetworks: z
          .boolean()
          .default(false)
          .describe(
            "Let URL ingestion fetch loopback, private, link-local and other internal addresses (SSRF guard off).",
          ),
        allowHosts: z
          .array(z.string())
          .default([])
          .describe(
            "Hosts URL ingestion may fetch even when they resolve to internal addresses: `host` (the scheme's default port only), `host:port` (`[::1]:8080`) or `host:*` (every port).",
          ),
        maxBytes: z
          .number()
          .int()
          .positive()
          .default(20 * 1024 * 1024)
          .describe("Largest file or URL body ingested."),
        timeout: duration("Time limit of one URL fetch.").default(30_000),
        maxPdfPages: z.number().int().positive().default(2000).describe("Most pages read from one PDF."),
        maxExpandedBytes: z
          .number()
          .int()
          .positive()
          .default(64 * 1024 * 1024)
          .describe(
            "Most bytes one file may expand to: a PDF's decompressed streams together, and any file's extracted text.",
          ),
        parseTimeout: duration(
          "Time limit for parsing one upload (its own worker thread, terminated past this).",
        ).default(20_000),
        parseMemory: z
          .number()
          .int()
          .min(32)
          .default(256)
          .describe("Heap (MiB) of the worker thread that parses one upload."),
      })
      .prefault({})
      .describe(
        "Ingestion limits (every upload parsed off the event loop) and the URL fetcher's SSRF guard.",
      ),
    chunking: z
      .strictObject({
        maxTokens: z.number().int().positive().default(512).describe("Chunk size in tokens."),
        overlapTokens: z
          .number()
          .int()
          .nonnegative()
          .default(64)
          .describe("Tokens shared by neighbouring chunks."),
      })
      .prefault({})
      .describe("How documents are split."),
    retrieval: z
      .strictObject({
        mode: z.enum(["dense", "sparse", "hybrid"]).default("hybrid").describe("Retrieval mode."),
        k: z.number().int().positive().default(8).describe("Passages returned."),
        candidates: z
          .number()
          .int()
          .positive()
          .default(100)
          .describe(
            "Candidates per retriever before fusion (and the rerank pool); chosen on Cranfield, docs/rag.md.",
          ),
        rrfK: z.number().int().positive().default(60).describe("Reciprocal-rank-fusion constant."),
        fusion: z
          .enum(["rrf", "weighted"])
          .default("weighted")
          .describe(
            "How hybrid search fuses BM25 and dense lists: reciprocal rank fusion, or a weighted sum of min-max normalised scores (chosen on Cranfield, docs/rag.md).",
          ),
        denseWeight: z
          .number()
          .min(0)
          .max(1)
          .default(0.6)
          .describe("Weighted fusion: the dense list's weight; BM25 gets 1 minus it (chosen on Cranfield)."),
      })
      .prefault({})
      .describe("Search defaults."),
  })
  .describe("Retrieval-augmented generation service.");
