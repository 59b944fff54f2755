/**
 * The bodies `/v1/rag/*` accepts, checked with zod: a bad field answers 400 `invalid_request`
 * naming its path (and OpenAI's `param`).
 */
import { z } from "zod";
import { InferplaneError } from "../errors.js";
import type { RagSpec } from "../spec/schema.js";
import type { ParseLimits } from "./ingest/limits.js";
import type { SearchRequest } from "./retrieve/search.js";
import type { SearchFilter, SourceDocument } from "./types.js";

const Timestamp = z.union([
  z.number(),
  z.string().transform((s, ctx) => {
    const t = Date.parse(s);
    if (Number.isNaN(t))
      ctx.addIssue({ code: "custom", message: "an ISO date or milliseconds since the epoch" });
    return t;
  }),
]);

const Filter = z.strictObject({
  source: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
  timestampFrom: Timestamp.optional(),
  timestampTo: Timestamp.optional(),
});

export const CreateCollection = z.strictObject({
  name: z.string(),
  embedding: z.strictObject({ route: z.string(), dimensions: z.number().int().positive() }).optional(),
});

export const Documents = z.strictObject({
  documents: z
    .array(
      z.strictObject({
        id: z.string().min(1).optional(),
        title: z.string().optional(),
        text: z.string().optional(),
        url: z.string().optional(),
        source: z.string().optional(),
        timestamp: Timestamp.optional(),
        metadata: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .min(1),
});

export const Search = z.strictObject({
  query: z.string().min(1),
  k: z.number().int().positive().max(1000).optional(),
  mode: z.enum(["dense", "sparse", "hybrid"]).optional(),
  filter: Filter.optional(),
  rerank: z.union([z.boolean(), z.strictObject({ topN: z.number().int().positive().optional() })]).optional(),
  fusion: z
    .union([
      z.strictObject({ method: z.literal("rrf"), k: z.number().int().positive().optional() }),
      z.strictObject({ method: z.literal("weighted"), dense: z.number(), sparse: z.number() }),
    ])
    .optional(),
});

export const Answer = z.looseObject({
  query: z.string().min(1),
  collection: z.string(),
  stream: z.boolean().optional(),
  k: z.number().int().positive().max(100).optional(),
  mode: z.enum(["dense", "sparse", "hybrid"]).optional(),
  filter: Filter.optional(),
});

export function parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const r = schema.safeParse(body ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue?.path.join(".") || "(body)";
    throw new InferplaneError("invalid_request", `${path}: ${issue?.message ?? "invalid"}`, {
      ...(issue?.path.length ? { param: path } : {}),
    });
  }
  return r.data;
}

export function filterOf(f: z.output<typeof Filter> | undefined): SearchFilter | undefined {
  if (!f) return undefined;
  return {
    ...(f.source !== undefined ? { source: f.source } : {}),
    ...(f.timestampFrom !== undefined ? { timestampFrom: f.timestampFrom } : {}),
    ...(f.timestampTo !== undefined ? { timestampTo: f.timestampTo } : {}),
  };
}

type IngestSpec = RagSpec["ingest"];

/** The documents of a JSON ingest body: each given as text (with an id) or fetched from its url. */
export async function documentsOf(
  body: z.output<typeof Documents>,
  ingest: IngestSpec,
  limits: ParseLimits,
): Promise<SourceDocument[]> {
  const docs: SourceDocument[] = [];
  for (const [i, d] of body.documents.entries()) {
    if (d.url !== undefined) {
      if (d.text !== undefined)
        throw new InferplaneError("invalid_request", `documents.${i}: give text or url, not both`, {
          param: `documents.${i}`,
        });
      const { fetchUrlDocument } = await import("./ingest/url.js");
      docs.push(
        ...(await fetchUrlDocument(d.url, {
          allowPrivateNetworks: ingest.allowPrivateNetworks,
          allowHosts: ingest.allowHosts,
          maxBytes: ingest.maxBytes,
          timeoutMs: ingest.timeout,
          parse: limits,
        })),
      );
      continue;
    }
    if (d.text === undefined)
      throw new InferplaneError("invalid_request", `documents.${i}.text: required (or url)`, {
        param: `documents.${i}.text`,
      });
    if (d.id === undefined)
      throw new InferplaneError("invalid_request", `documents.${i}.id: required with text`, {
        param: `documents.${i}.id`,
      });
    docs.push({
      id: d.id,
      ...(d.title !== undefined ? { title: d.title } : {}),
      text: d.text,
      source: d.source ?? "api",
      timestamp: d.timestamp ?? Date.now(),
      ...(d.metadata ? { metadata: d.metadata } : {}),
    });
  }
  return docs;
}

/** A search body as the service takes it, with the spec's retrieval defaults filled in. */
export function searchRequestOf(
  body: z.output<typeof Search>,
  retrieval: RagSpec["retrieval"],
): SearchRequest {
  const filter = filterOf(body.filter);
  const topN = typeof body.rerank === "object" ? body.rerank.topN : undefined;
  return {
    query: body.query,
    k: body.k ?? retrieval.k,
    mode: body.mode ?? retrieval.mode,
    ...(filter ? { filter } : {}),
    ...(body.rerank ? { rerank: topN !== undefined ? { topN } : {} } : {}),
    ...(body.fusion ? { fusion: body.fusion } : {}),
  };
}
