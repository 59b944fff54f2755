/**
 * A front door: a public API shape (OpenAI Responses, Anthropic Messages, …) that the gateway
 * translates to one upstream operation and dispatches through the same admission path and the
 * same layered dispatch as chat completions. The door only translates; it never forwards.
 *
 * Seam agreed between the request-path recomposition (which wires doors into the dispatch) and
 * the API-surface work (which writes the translators): keep this file stable.
 */
import type { InferplaneError } from "../../errors.js";

/** The upstream operation a translated request is dispatched as. */
export type DoorOp = "chat" | "completions";

/** One SSE frame ready to write: `event: NAME\ndata: JSON\n\n` (or `data: JSON\n\n`). */
export type SseFrame = string;

/** Per-request stateful translator of an upstream OpenAI stream into the door's events. */
export interface DoorStream {
  /** One upstream SSE `data:` payload, parsed (`"[DONE]"` stays a string); returns frames to write. */
  event(data: unknown): SseFrame[];
  /** The upstream stream ended cleanly; returns the closing frames. */
  end(): SseFrame[];
  /** The upstream failed mid-stream; returns an error frame in the door's shape. */
  fail(err: InferplaneError): SseFrame[];
}

export interface DoorTranslation {
  op: DoorOp;
  /** The OpenAI-shaped upstream body (its `model` is the route the client named). */
  body: Record<string, unknown>;
  stream: boolean;
  /** A non-streaming upstream JSON answer → the door's response body. */
  response(upstream: unknown): unknown;
  /** A fresh stream translator (only called when `stream` is true). */
  streamTranslator(): DoorStream;
  /**
   * Once admission has named the caller (its key id; undefined without keys), before dispatch:
   * a door that keeps state per caller checks and records it here; throws InferplaneError.
   */
  bind?(owner: string | undefined): void;
}

export interface FrontDoor {
  /** e.g. "/v1/responses", "/v1/messages". */
  path: string;
  /** The operation its requests are dispatched as: admission checks and estimates them as that. */
  op: DoorOp;
  /** Validates and translates; throws InferplaneError (with `param`) on bad input. */
  translate(body: unknown): DoorTranslation;
  /** The error body in the door's shape (OpenAI doors: `{error:{message,type,code,param}}`). */
  errorBody(err: InferplaneError): unknown;
}
