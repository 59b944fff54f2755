/**
 * TGI's own error wording (text-generation-inference router/src/validation.rs `ValidationError`;
 * the router answers it 422 with `{"error": "Input validation error: …", "error_type":
 * "validation"}`): a prompt that does not fit is `MaxTotalTokens` ("`inputs` tokens +
 * `max_new_tokens` must be <= N. Given: …") or `InputLength` ("`inputs` must have less than N
 * tokens. Given: M"). Neither says "context length", so the router's OpenAI-wording fallback
 * would miss it.
 */
import { errorObject, isNotImplementedStatus, type UpstreamRefusal } from "../dialect.js";

const CONTEXT_TEXT = /`inputs` tokens \+ `max_new_tokens` must be <=|`inputs` must have less than \d+ tokens/;

/** What a TGI error answer means, `undefined` when it is an ordinary error. */
export function tgiRefusal(status: number, body: unknown): UpstreamRefusal | undefined {
  if (isNotImplementedStatus(status)) return "not-supported";
  if (status !== 422 && status !== 400) return undefined;
  const err = errorObject(body);
  const text =
    typeof body === "string"
      ? body
      : typeof err?.error === "string"
        ? err.error
        : typeof err?.message === "string"
          ? err.message
          : "";
  return CONTEXT_TEXT.test(text) ? "context-overflow" : undefined;
}
