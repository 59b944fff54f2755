/**
 * Embedding, rerank and chat calls, always through an Inferplane gateway (its router picks
 * the pool), so RAG traffic gets the same balancing, retries, fallbacks and metrics as every other
 * request. Request shapes: OpenAI embeddings and chat; rerank in the Cohere/Jina shape
 * that vLLM, TEI and Infinity serve (`query`, `documents`, `top_n` → `results[{index, relevance_score}]`).
 */
import { request } from "undici";
import { type ErrorCode, InferplaneError } from "../errors.js";
import { type Span, traceparentOf } from "../telemetry/tracing.js";

/**
 * `parent` (a RAG stage span, undefined with tracing off) goes out as `traceparent`, so the
 * gateway's own span for the call is that stage's child.
 */
export interface Embedder {
  /** `inputType` "query" marks retrieval queries (the model's query instruction applies); default "document". */
  embed(texts: string[], parent?: Span, inputType?: InputType): Promise<Float32Array[]>;
}

export type InputType = "query" | "document";

export interface Reranker {
  rerank(
    query: string,
    documents: string[],
    topN: number,
    parent?: Span,
  ): Promise<{ index: number; score: number }[]>;
}

/** Extra request headers: the gateway's internal token for its own loopback calls, or an API key. */
export type HeaderSource = () => Record<string, string>;

function requestHeaders(headers: HeaderSource, parent: Span | undefined): Record<string, string> {
  const h = { ...headers(), "content-type": "application/json" };
  return parent ? { ...h, traceparent: traceparentOf(parent) } : h;
}

/**
 * Refusals of the caller's own request (its key, scopes, limits, budget; a full queue) keep their
 * code, status and `Retry-After`: RAG's model calls run with the caller's key, so a 429 there is
 * the caller's 429, which SDKs retry, not a 502 from a broken upstream.
 */
const CALLERS_REFUSALS: ReadonlySet<string> = new Set<ErrorCode>([
  "invalid_api_key",
  "permission_denied",
  "rate_limit_exceeded",
  "insufficient_quota",
  "policy_unavailable",
  "pool_queue_full",
  "embedding_queue_full",
]);

function failureOf(
  url: string,
  path: string,
  status: number,
  text: string,
  retryAfter: string | string[] | undefined,
): InferplaneError {
  let error: { message?: string; code?: string } | undefined;
  try {
    error = (JSON.parse(text) as { error?: { message?: string; code?: string } }).error;
  } catch {}
  const msg = error?.message ?? text.slice(0, 300);
  if (error?.code !== undefined && CALLERS_REFUSALS.has(error.code)) {
    return new InferplaneError(error.code as ErrorCode, `RAG's call to ${path} was refused: ${msg}`, {
      retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
    });
  }
  return new InferplaneError("upstream_error", `${url} answered ${status}: ${msg}`);
}

async function postJson(
  base: string,
  path: string,
  body: unknown,
  headers: HeaderSource = () => ({}),
  parent?: Span,
): Promise<unknown> {
  const url = `${base.replace(/\/$/, "")}${path}`;
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url, {
      method: "POST",
      headers: requestHeaders(headers, parent),
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new InferplaneError("upstream_error", `${url}: ${(err as Error).message}`);
  }
  const text = await res.body.text();
  if (res.statusCode >= 400) throw failureOf(url, path, res.statusCode, text, res.headers["retry-after"]);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InferplaneError("upstream_error", `${url} answered with a body that is not JSON`);
  }
}

export class GatewayEmbedder implements Embedder {
  constructor(
    private readonly baseUrl: () => string,
    readonly route: string,
    readonly batchSize = 32,
    private readonly headers: HeaderSource = () => ({}),
    /** Send `input_type` (rag.embedding.inputType): only servers that know it get it. */
    readonly sendInputType = false,
  ) {}

  async embed(texts: string[], parent?: Span, inputType: InputType = "document"): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.batchSize) {
      const batch = texts.slice(i, i + this.batchSize);
      const res = (await postJson(
        this.baseUrl(),
        "/v1/embeddings",
        this.sendInputType
          ? { model: this.route, input: batch, input_type: inputType }
          : { model: this.route, input: batch },
        this.headers,
        parent,
      )) as {
        data?: { index?: number; embedding?: number[] }[];
      };
      const data = res.data ?? [];
      if (data.length !== batch.length) {
        throw new InferplaneError(
          "upstream_error",
          `embeddings: asked for ${batch.length}, got ${data.length}`,
        );
      }
      const sorted = [...data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
      for (const d of sorted) {
        if (!Array.isArray(d.embedding))
          throw new InferplaneError("upstream_error", "embeddings: an item has no embedding");
        out.push(Float32Array.from(d.embedding));
      }
    }
    return out;
  }
}

export class GatewayReranker implements Reranker {
  constructor(
    private readonly baseUrl: () => string,
    readonly route: string,
    private readonly headers: HeaderSource = () => ({}),
  ) {}

  async rerank(
    query: string,
    documents: string[],
    topN: number,
    parent?: Span,
  ): Promise<{ index: number; score: number }[]> {
    if (documents.length === 0) return [];
    const res = (await postJson(
      this.baseUrl(),
      "/v1/rerank",
      {
        model: this.route,
        query,
        documents,
        top_n: topN,
      },
      this.headers,
      parent,
    )) as { results?: { index: number; relevance_score: number }[] };
    return (res.results ?? [])
      .map((r) => ({ index: r.index, score: r.relevance_score }))
      .sort((a, b) => b.score - a.score)
      .slice(0, topN);
  }
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** A non-streaming chat completion through the gateway. */
export async function chatCompletion(
  baseUrl: string,
  body: { model: string; messages: ChatMessage[]; [k: string]: unknown },
  headers: HeaderSource = () => ({}),
  parent?: Span,
): Promise<Record<string, unknown>> {
  return (await postJson(baseUrl, "/v1/chat/completions", body, headers, parent)) as Record<string, unknown>;
}

/** A streaming chat completion: the raw SSE body of the gateway's answer. */
export async function chatCompletionStream(
  baseUrl: string,
  body: { model: string; messages: ChatMessage[]; [k: string]: unknown },
  headers: HeaderSource = () => ({}),
  parent?: Span,
): Promise<AsyncIterable<Buffer>> {
  const url = `${baseUrl.replace(/\/$/, "")}/v1/chat/completions`;
  const res = await request(url, {
    method: "POST",
    headers: requestHeaders(headers, parent),
    body: JSON.stringify({ ...body, stream: true }),
  });
  if (res.statusCode >= 400) {
    const text = await res.body.text();
    throw failureOf(url, "/v1/chat/completions", res.statusCode, text, res.headers["retry-after"]);
  }
  return res.body as AsyncIterable<Buffer>;
}
