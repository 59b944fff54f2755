/**
 * How an engine speaks when it refuses a request: which of its answers mean "the prompt is
 * longer than the context" (the router may then take the route's `contextFallback`) and which
 * mean "this server does not do that" (not retried elsewhere, not an endpoint failure). Each
 * engine recognises its own wording; the gateway asks, it never matches engine texts itself.
 */

/** What an upstream refusal means to the gateway. */
export type UpstreamRefusal = "context-overflow" | "not-supported";

/** The `error` object of an OpenAI-shaped body (`{"error":{…}}`), else the body itself. */
export function errorObject(body: unknown): Record<string, unknown> | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const b = body as Record<string, unknown>;
  return typeof b.error === "object" && b.error !== null ? (b.error as Record<string, unknown>) : b;
}

/**
 * 501 is HTTP's own "not implemented" (llama.cpp answers it for `/v1/embeddings` without
 * `--embeddings`, vLLM for an operation the loaded model does not support): the same request on
 * any replica of the pool would get the same answer.
 */
export function isNotImplementedStatus(status: number): boolean {
  return status === 501;
}
