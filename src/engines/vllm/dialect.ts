/**
 * vLLM's own error wording (vllm/entrypoints/openai/serving_engine.py `_validate_input`): a prompt
 * that does not fit is a 400 `BadRequestError` whose message says "This model's maximum context
 * length is N tokens. However, you requested M tokens …" ("maximum model length" in some
 * releases); OpenAI's API gives the code `context_length_exceeded` for the same.
 */
import { errorObject, isNotImplementedStatus, type UpstreamRefusal } from "../dialect.js";

const CONTEXT_TEXT = /maximum context length|maximum model length/i;

/** What a vLLM error answer means, `undefined` when it is an ordinary error. */
export function vllmRefusal(status: number, body: unknown): UpstreamRefusal | undefined {
  if (isNotImplementedStatus(status)) return "not-supported";
  if (status !== 400) return undefined;
  const err = errorObject(body);
  if (err?.code === "context_length_exceeded") return "context-overflow";
  const message = typeof err?.message === "string" ? err.message : typeof body === "string" ? body : "";
  return CONTEXT_TEXT.test(message) ? "context-overflow" : undefined;
}
