/** Error replies on the wire, in each dialect's body shape; the start-up readiness check. */

import type { FastifyReply } from "fastify";
import { FAULT_HEADER } from "./faults.js";

/**
 * An engine's own wire for errors on its native routes (src/engines/<engine>/sim.ts): the body
 * shape, and how it words "no such model" where that differs from vLLM's.
 */
export interface NativeDialect {
  errorBody(e: WireError): unknown;
  modelNotFound?(name: string): string;
  /** The engine's own status and wording for an error it words differently (TGI's 422 validation errors). */
  rewrite?(e: WireError): WireError;
}

/** Which error body a route family answers with: OpenAI's, or the engine's native one. */
export type Dialect = "openai" | NativeDialect;

export interface WireError {
  status: number;
  message: string;
  /** OpenAI error `type`. */
  type: string;
  /** OpenAI error `code`. */
  code: string;
  param?: string | null;
  /** For a prompt over the context: its tokens, the context's, and the completion asked (engines that report them). */
  context?: { promptTokens: number; contextTokens: number; maxTokens?: number };
}

const FAULT_ERRORS: Readonly<Record<number, { type: string; code: string; what: string }>> = {
  429: { type: "rate_limit_error", code: "rate_limit_exceeded", what: "rate limit reached" },
  500: { type: "server_error", code: "internal_error", what: "internal server error" },
  502: { type: "server_error", code: "bad_gateway", what: "bad gateway" },
  503: { type: "server_error", code: "service_unavailable", what: "the engine is overloaded or not ready" },
  504: { type: "server_error", code: "gateway_timeout", what: "gateway timeout" },
};

export function faultError(status: number): WireError {
  const known = FAULT_ERRORS[status];
  const type = known?.type ?? (status >= 500 ? "server_error" : "invalid_request_error");
  const code = known?.code ?? `http_${status}`;
  return {
    status,
    type,
    code,
    message: `Simulated fault: ${known?.what ?? `HTTP ${status}`} (${FAULT_HEADER}).`,
  };
}

export function errorBody(dialect: Dialect, e: WireError): unknown {
  if (dialect !== "openai") return dialect.errorBody(e);
  return { error: { message: e.message, type: e.type, param: e.param ?? null, code: e.code } };
}

/** The error as the dialect answers it (its own status and wording, where it has them). */
export function wireError(dialect: Dialect, e: WireError): WireError {
  return dialect !== "openai" && dialect.rewrite !== undefined ? dialect.rewrite(e) : e;
}

export function sendError(reply: FastifyReply, dialect: Dialect, error: WireError): FastifyReply {
  const e = wireError(dialect, error);
  if (e.status === 429 || e.status === 503) reply.header("retry-after", "1");
  return reply
    .code(e.status)
    .type("application/json")
    .send(JSON.stringify(errorBody(dialect, e)));
}

export const badRequest = (
  message: string,
  param: string | null = null,
  code = "invalid_request",
): WireError => ({
  status: 400,
  type: "invalid_request_error",
  code,
  message,
  param,
});
/** vLLM's 404 for a model name the replica does not serve (a native dialect may word it its own way). */
export function modelNotFound(name: string, dialect: Dialect = "openai"): WireError {
  const own = dialect !== "openai" ? dialect.modelNotFound?.(name) : undefined;
  return {
    status: 404,
    type: "invalid_request_error",
    code: "model_not_found",
    param: "model",
    message: own ?? `The model \`${name}\` does not exist.`,
  };
}

/**
 * Whether the replica has finished its simulated start-up (`readyAt`, a performance.now() time);
 * if not, answers 503 in the dialect and returns false.
 */
export function readyOrRefuse(readyAt: number, reply: FastifyReply, dialect: Dialect): boolean {
  if (performance.now() >= readyAt) return true;
  sendError(reply, dialect, {
    status: 503,
    type: "server_error",
    code: "service_unavailable",
    message: "The model is still loading (simulated start-up delay).",
  });
  return false;
}
