/**
 * llama.cpp server's error dialect (tools/server/server-common.cpp `format_error_response`; seen on
 * xllamacpp 2026.10.11549 here). Errors are `{"error":{"code":<HTTP status>,"message","type"}}`,
 * where `code` is a number and `type` names the kind:
 *
 * - context overflow: 400, `type: "exceed_context_size_error"`, message "request (5031 tokens)
 *   exceeds the available context size (2048 tokens), try increasing it", plus `n_prompt_tokens`
 *   and `n_ctx`;
 * - not supported: 501, `type: "not_supported_error"` ("This server does not support embeddings.
 *   Start it with `--embeddings`").
 */
import { errorObject, isNotImplementedStatus, type UpstreamRefusal } from "../dialect.js";

export const LLAMACPP_CONTEXT_ERROR_TYPE = "exceed_context_size_error";
export const LLAMACPP_NOT_SUPPORTED_TYPE = "not_supported_error";

/** What a llama.cpp error answer means, `undefined` when it is an ordinary error. */
export function llamacppRefusal(status: number, body: unknown): UpstreamRefusal | undefined {
  const err = errorObject(body);
  const type = typeof err?.type === "string" ? err.type : undefined;
  if (type === LLAMACPP_CONTEXT_ERROR_TYPE && status >= 400 && status < 500) return "context-overflow";
  if (type === LLAMACPP_NOT_SUPPORTED_TYPE || isNotImplementedStatus(status)) return "not-supported";
  if (typeof body === "string" && status === 400 && body.includes(LLAMACPP_CONTEXT_ERROR_TYPE))
    return "context-overflow";
  return undefined;
}
