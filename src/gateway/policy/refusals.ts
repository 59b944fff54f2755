/**
 * What admission answers when it refuses: OpenAI's messages, types and rate-limit headers
 * (https://platform.openai.com/docs/guides/rate-limits), or a front door's error shape.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { InferplaneError } from "../../errors.js";
import type { Decision, LimitState } from "./limiter.js";
import { checkRequestFields, type Op } from "./request-fields.js";

/** A route's error shape (a front door's); absent: OpenAI's. */
export type ErrorBody = (err: InferplaneError) => unknown;

export function seconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

/** OpenAI's reset format: `20ms`, `1.5s`, `6m0s`. */
export function resetText(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = ms / 1000;
  if (s < 60) return `${Number(s.toFixed(1))}s`;
  return `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
}

export function limitHeaders(s: LimitState): Record<string, string> {
  const h: Record<string, string> = {};
  if (s.requests) {
    h["x-ratelimit-limit-requests"] = String(s.requests.limit);
    h["x-ratelimit-remaining-requests"] = String(s.requests.remaining);
    h["x-ratelimit-reset-requests"] = resetText(s.requests.resetMs);
  }
  if (s.tokens) {
    h["x-ratelimit-limit-tokens"] = String(s.tokens.limit);
    h["x-ratelimit-remaining-tokens"] = String(s.tokens.remaining);
    h["x-ratelimit-reset-tokens"] = resetText(s.tokens.resetMs);
  }
  return h;
}

export function monthOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

export function nextMonthMs(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** A refusal's body: the route's shape, else OpenAI's (with `type` overriding the code's type). */
export function errorBodyOf(err: InferplaneError, errorBody: ErrorBody | undefined, type?: string): unknown {
  if (errorBody) return errorBody(err);
  const body = err.toOpenAI();
  if (type) body.error.type = type;
  return body;
}

/** A limit refused the request: 429 with OpenAI's message, type and reset headers. */
export function limitRefusal(
  decision: Extract<Decision, { ok: false }>,
  l: { name: string; rpm: number | undefined; tpm: number | undefined; budget: number | undefined },
  headers: Record<string, string>,
  now: number,
): { err: InferplaneError; result: string; headers: Record<string, string>; type?: string } {
  if (decision.reason === "budget") {
    return {
      err: new InferplaneError(
        "insufficient_quota",
        `You exceeded your current quota: key ${l.name} spent ${decision.spent ?? l.budget} of its ${l.budget} tokens for ${monthOf(now)}.`,
      ),
      result: "budget",
      headers: { ...headers, "retry-after": seconds(nextMonthMs(now) - now) },
    };
  }
  const what = decision.reason === "rpm" ? `requests per minute (${l.rpm})` : `tokens per minute (${l.tpm})`;
  return {
    err: new InferplaneError(
      "rate_limit_exceeded",
      `Rate limit reached for key ${l.name} on ${what}. Please try again in ${resetText(decision.retryAfterMs)}.`,
    ),
    result: decision.reason,
    headers: { ...headers, "retry-after": seconds(decision.retryAfterMs) },
    type: decision.reason === "rpm" ? "requests" : "tokens",
  };
}

/** Field checks for every API request, policy on or off (cheap: a few typeof). */
export function checkFields(
  op: Op,
  request: FastifyRequest,
  reply: FastifyReply,
  errorBody?: ErrorBody,
): boolean {
  const problem = checkRequestFields(op, request.body);
  if (!problem) return true;
  void reply.code(problem.def.status).send(errorBodyOf(problem, errorBody));
  return false;
}
