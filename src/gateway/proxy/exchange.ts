/**
 * One proxied request, start to end: what the client sent, the runtime it started on, and what
 * happened to it (filled in by the layers as it goes, recorded once when it ends). Every layer
 * takes the exchange; nothing is passed positionally.
 */
import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { InferplaneError } from "../../errors.js";
import type { RouteSpec } from "../../spec/schema.js";
import type { Context, Span } from "../../telemetry/tracing.js";
import type { DoorStream, DoorTranslation } from "../api/door.js";
import type { StreamMeter } from "../meter.js";
import type { EndpointState } from "../types.js";
import type { UpstreamPool } from "../upstream/pool.js";
import { Cancel } from "./cancel.js";
import type { ProxyOp } from "./ops.js";

export type AttemptKind = "first" | "retry" | "fallback";

/** One try of one endpoint. */
export interface Attempt {
  /** The route whose pool is tried (the asked route or a fallback). */
  route: RouteSpec;
  pool: UpstreamPool;
  ep: EndpointState;
  kind: AttemptKind;
}

/** The header every response carries; an incoming one is kept when it looks like an id. */
export const REQUEST_ID_HEADER = "x-request-id";
/** The model the engine served (the body's `model` is the name the client asked for). */
export const SERVED_MODEL_HEADER = "x-inferplane-served-model";
export const OVERHEAD_HEADER = "x-inferplane-overhead-ms";

const SANE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The request id to answer with: the client's `x-request-id` if sane, else a fresh UUID. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const v = headers[REQUEST_ID_HEADER];
  return typeof v === "string" && SANE_ID.test(v) ? v : randomUUID();
}

export class Exchange {
  /** Cancels the upstream work: the client went away, or the total timeout fired. */
  readonly signal = new Cancel();
  /** The public name the client asked for (`model`), echoed back in every answer. */
  askedModel = "";
  /** The asked route, once resolved. */
  route: RouteSpec | undefined = undefined;
  stream = false;
  /** Prompt start for prefix-affinity balancing. */
  prefixKey: string | undefined = undefined;
  /** Admission's token meter (key limits); the streaming relay feeds it. */
  meter: StreamMeter | undefined = undefined;
  /** A front door's translation of the request and of its answers; absent for OpenAI paths. */
  door: DoorTranslation | undefined = undefined;
  /** The door's error shape (`FrontDoor.errorBody`); absent: OpenAI's. */
  doorErrorBody: ((err: InferplaneError) => unknown) | undefined = undefined;
  /** The door's stream translator of the attempt being relayed. */
  doorStream: DoorStream | undefined = undefined;

  /** Route label: the route whose pool answered (a fallback's), else the one asked for. */
  routeLabel = "unknown";
  /** The pool whose answer was relayed; empty when none answered. */
  pool = "";
  /** The last pool an attempt went to (access log when none answered). */
  lastPool = "";
  endpoint: EndpointState | undefined = undefined;
  /** Status recorded for the request when it differs from the HTTP status (502 after a failed stream). */
  status = 0;
  inputTokens = -1;
  outputTokens = -1;
  /** Token counts were estimated by the gateway (the engine sent no usage). */
  usageEstimated = false;
  firstTokenAt = 0;
  /** Gateway time until the answer started, ms; -1 until known. */
  overheadMs = -1;
  /** Time spent waiting on upstreams so far (every attempt's), ms. */
  upstreamMs = 0;
  /** Gateway time until the current attempt was dispatched, ms (a stream's overhead). */
  dispatchOverheadMs = 0;
  attempts = 0;
  attemptKind: AttemptKind = "first";
  responseModel: string | undefined = undefined;
  span: Span | undefined = undefined;
  ctx: Context | undefined = undefined;
  attemptSpan: Span | undefined = undefined;
  /** W3C trace context for the current attempt's upstream request. */
  traceparent: string | undefined = undefined;
  upstreamStatus = 0;

  constructor(
    readonly op: ProxyOp,
    readonly body: Record<string, unknown>,
    readonly headers: IncomingHttpHeaders,
    readonly res: ServerResponse,
    readonly t0: number,
    readonly requestId: string = requestIdOf(headers),
  ) {}

  /** Gateway time so far, ms (upstream time excluded). */
  overheadNow(): number {
    return performance.now() - this.t0 - this.upstreamMs;
  }
}
