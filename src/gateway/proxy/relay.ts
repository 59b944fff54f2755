/**
 * The answer of a successful attempt, relayed to the client: a JSON body in one write, or an
 * SSE stream event by event. Either way the body's `model` becomes the name the client asked
 * for (the served model goes in `x-inferplane-served-model`), a front door translates, and the
 * usage is read for accounting. A stream feeds the exchange's token meter and ends with an SSE
 * error event when the meter cuts it or the upstream fails, never silently.
 */
import type { EventEmitter } from "node:events";
import { type ErrorCode, InferplaneError } from "../../errors.js";
import { promptChars } from "../policy/request-fields.js";
import type { UpstreamBody } from "../upstream/body.js";
import type { Attempt, Exchange } from "./exchange.js";
import { OVERHEAD_HEADER, REQUEST_ID_HEADER, SERVED_MODEL_HEADER } from "./exchange.js";
import { sendJson } from "./respond.js";
import { bytesOf, SseRelay, sseError, utf8Of } from "./sse-relay.js";
import { StreamWire } from "./stream-wire.js";

/** How an attempt ended, as far as relaying goes. */
export type RelayResult =
  | { kind: "done"; healthy: boolean }
  | { kind: "early-failure"; error: InferplaneError }
  | { kind: "aborted" };

export interface RelayHooks {
  /** The overhead histogram (seconds). */
  observeOverhead(seconds: number): void;
  /** Time to first token (seconds), per route and pool. */
  observeTtft(ex: Exchange, a: Attempt, seconds: number): void;
  /** The attempt's first token arrived (balancers stop counting it as awaiting). */
  onFirstToken(): void;
}

const MODEL_FIELD = /"model"\s?:\s?"((?:[^"\\]|\\.){0,256})"/;

/** The `model` the engine put in its answer (the first one in the text). */
export function engineModel(text: string): string | undefined {
  const m = MODEL_FIELD.exec(text);
  return m ? (JSON.parse(`"${m[1]}"`) as string) : undefined;
}

/** The body's first `model` value becomes the asked name, whatever the engine called it. */
export function rewriteModelJson(payload: Buffer, asked: string): Buffer {
  const head = payload.toString("latin1", 0, Math.min(payload.length, 64 * 1024));
  const m = MODEL_FIELD.exec(head);
  if (!m || m[1] === undefined) return payload;
  const from = m.index + m[0].length - m[1].length - 1;
  const to = from + Buffer.byteLength(m[1], "latin1");
  return Buffer.concat([
    payload.subarray(0, from),
    Buffer.from(JSON.stringify(asked).slice(1, -1)),
    payload.subarray(to),
  ]);
}

/** Tokens (and the model) from a non-streamed answer, without parsing the whole body. */
function scanUsage(payload: Buffer, ex: Exchange): void {
  const at = payload.lastIndexOf('"usage"');
  if (at >= 0) {
    const text = payload.toString("utf8", at, Math.min(payload.length, at + 512));
    const p = /"prompt_tokens"\s*:\s*(\d+)/.exec(text);
    const c = /"completion_tokens"\s*:\s*(\d+)/.exec(text);
    if (p) ex.inputTokens = Number(p[1]);
    if (c) ex.outputTokens = Number(c[1]);
  }
  if (!ex.span) return; // the engine's model name is a span attribute only
  const m = payload.indexOf('"model"');
  if (m >= 0) {
    const r = /^"model"\s*:\s*"([^"]{1,256})"/.exec(
      payload.toString("utf8", m, Math.min(payload.length, m + 300)),
    );
    if (r) ex.responseModel = r[1];
  }
}

export async function relayJson(
  ex: Exchange,
  a: Attempt,
  status: number,
  body: UpstreamBody,
  hooks: RelayHooks,
  countUpstream: () => void,
): Promise<RelayResult> {
  let payload = await body.bytes(Number.MAX_SAFE_INTEGER);
  countUpstream();
  hooks.onFirstToken();
  scanUsage(payload, ex);
  ex.routeLabel = a.route.name;
  ex.pool = a.pool.info.name;
  const served = a.pool.info.upstreamModel;
  if (ex.door) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload.toString("utf8"));
    } catch {
      return {
        kind: "early-failure",
        error: new InferplaneError("upstream_error", `${a.pool.info.name} answered with invalid JSON`),
      };
    }
    payload = Buffer.from(JSON.stringify(ex.door.response(withModel(parsed, ex.askedModel))));
  } else {
    payload = rewriteModelJson(payload, ex.askedModel);
  }
  ex.overheadMs = ex.overheadNow();
  hooks.observeOverhead(ex.overheadMs / 1000);
  sendJson(ex, status, payload, { [SERVED_MODEL_HEADER]: served });
  return { kind: "done", healthy: true };
}

function withModel(parsed: unknown, asked: string): unknown {
  if (typeof parsed === "object" && parsed !== null && "model" in parsed) return { ...parsed, model: asked };
  return parsed;
}

/** A door's per-event translation: upstream SSE event → the door's frames. */
function doorTransform(ex: Exchange): ((event: string) => string) | undefined {
  const door = ex.door;
  if (!door) return undefined;
  const t = door.streamTranslator();
  ex.doorStream = t;
  return (event) => {
    const at = event.indexOf("data: ");
    if (at < 0) return "";
    const raw = event.slice(at + 6).trimEnd();
    let data: unknown = raw;
    if (raw !== "[DONE]") {
      try {
        data = withModel(JSON.parse(raw), ex.askedModel);
      } catch {
        return "";
      }
    }
    return t.event(data).join("");
  };
}

export interface StreamInput {
  upstream: UpstreamBody;
  /** The client did not ask for usage: drop the usage chunk the gateway asked for. */
  stripUsage: boolean;
}

/**
 * Relays an SSE stream. Before its first event a failure is an early failure (the retry layer
 * may try elsewhere); after it, the stream ends with an error event.
 */
export async function relayStream(
  ex: Exchange,
  a: Attempt,
  input: StreamInput,
  hooks: RelayHooks,
): Promise<RelayResult> {
  const relay = new SseRelay(ex.door ? false : input.stripUsage, doorTransform(ex));
  const wire = new StreamWire(ex.res, relay.encoding);
  // The engine's `"model":"…"`, learnt from its first event, is relayed as the asked name.
  let rename: [string, string] | null | undefined = ex.door ? null : undefined;
  let started = false;
  let metered = 0;
  let cut = false;
  const onChunk = (bytes: string): "next" | "stop" | "wait" => {
    let text = relay.push(bytes);
    if (text === "") return "next";
    if (!started) {
      started = true;
      startStream(ex, a, hooks);
    }
    if (rename === undefined) rename = modelRename(text, ex.askedModel);
    if (rename !== null) text = text.replaceAll(rename[0], rename[1]);
    if (relay.sawToken && ex.firstTokenAt === 0) {
      hooks.onFirstToken();
      ex.firstTokenAt = performance.now();
      hooks.observeTtft(ex, a, (ex.firstTokenAt - ex.t0) / 1000);
    }
    if (ex.meter && relay.tokenEvents > metered) {
      const verdict = ex.meter.add(relay.tokenEvents - metered);
      metered = relay.tokenEvents;
      if (verdict === "cut") {
        wire.write(text);
        cut = true;
        return "stop";
      }
    }
    return wire.write(text) ? "next" : "wait";
  };
  try {
    await input.upstream.each(onChunk, () => waitDrain(wire.drainTarget(), ex));
    if (cut) {
      endCut(ex, wire, relay);
      return { kind: "done", healthy: true };
    }
  } catch (err) {
    if (ex.signal.aborted && !(ex.signal.reason instanceof InferplaneError)) return { kind: "aborted" };
    const message = (err as Error).message;
    if (!started) {
      return {
        kind: "early-failure",
        error: new InferplaneError(
          "upstream_error",
          `stream from ${a.pool.info.name} failed before its first event: ${message}`,
        ),
      };
    }
    endFailed(ex, wire, relay, `the upstream stream failed: ${message}`);
    return { kind: "done", healthy: false };
  }
  const rest = relay.flush();
  if (!started) {
    return {
      kind: "early-failure",
      error: new InferplaneError("upstream_error", `empty stream from ${a.pool.info.name}`),
    };
  }
  if (!relay.done) {
    wire.write(rest);
    endFailed(ex, wire, relay, "the upstream ended the stream before [DONE]");
    return { kind: "done", healthy: false };
  }
  takeUsage(ex, relay);
  wire.end(rest, ex.doorStream ? ex.doorStream.end().join("") : "");
  return { kind: "done", healthy: true };
}

/**
 * The engine's `"model":"<served>"` as relayed bytes and its replacement with the asked name;
 * null when they are the same (or the text names no model).
 */
function modelRename(bytes: string, asked: string): [string, string] | null {
  const m = MODEL_FIELD.exec(bytes);
  if (!m || m[1] === undefined || utf8Of(JSON.parse(`"${m[1]}"`) as string) === asked) return null;
  const quote = m[0].length - m[1].length - 2; // the value's opening quote
  return [m[0], m[0].slice(0, quote) + bytesOf(JSON.stringify(asked))];
}

function startStream(ex: Exchange, a: Attempt, hooks: RelayHooks): void {
  // Gateway time: until this attempt was dispatched, earlier attempts' upstream time excluded.
  ex.overheadMs = ex.dispatchOverheadMs;
  ex.routeLabel = a.route.name;
  ex.pool = a.pool.info.name;
  hooks.observeOverhead(ex.overheadMs / 1000);
  ex.res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
    [REQUEST_ID_HEADER]: ex.requestId,
    [OVERHEAD_HEADER]: ex.overheadMs.toFixed(3),
    [SERVED_MODEL_HEADER]: a.pool.info.upstreamModel,
  });
}

function errorFrame(ex: Exchange, err: InferplaneError): string {
  if (ex.doorStream) return ex.doorStream.fail(err).join("");
  return sseError(err.message, err.code, err.def.type);
}

function endFailed(ex: Exchange, wire: StreamWire, relay: SseRelay, message: string): void {
  ex.status = 502;
  takeUsage(ex, relay);
  wire.end("", errorFrame(ex, new InferplaneError("upstream_stream_error", message)));
}

/** The meter said stop: an error event in OpenAI's shape with the meter's code, then the end. */
function endCut(ex: Exchange, wire: StreamWire, relay: SseRelay): void {
  const reason = ex.meter?.cutReason ?? {
    code: "rate_limit_exceeded",
    message: "the stream was cut by a limit",
  };
  takeUsage(ex, relay);
  const err = new InferplaneError(reason.code as ErrorCode, reason.message);
  // OpenAI's type for a tokens-per-minute refusal is "tokens"; a budget keeps its own type.
  const type = reason.code === "rate_limit_exceeded" ? "tokens" : err.def.type;
  wire.end("", ex.doorStream ? ex.doorStream.fail(err).join("") : sseError(err.message, err.code, type));
}

/** Usage from the engine's usage chunk, else counted by the gateway (engines that ignore include_usage). */
function takeUsage(ex: Exchange, relay: SseRelay): void {
  const u = relay.usage;
  if (typeof u?.prompt_tokens === "number") ex.inputTokens = u.prompt_tokens;
  if (typeof u?.completion_tokens === "number") ex.outputTokens = u.completion_tokens;
  if (ex.outputTokens < 0) {
    ex.outputTokens = relay.tokenEvents;
    ex.usageEstimated = true;
  }
  if (ex.inputTokens < 0) {
    // About four characters per token for English text (OpenAI's rule of thumb).
    ex.inputTokens = Math.ceil(promptChars(ex.op, ex.body) / 4);
    ex.usageEstimated = true;
  }
  if (relay.model !== undefined) ex.responseModel = relay.model;
}

function waitDrain(res: EventEmitter, ex: Exchange): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      ex.signal.off("abort", done);
      resolve();
    };
    res.once("drain", done);
    res.once("close", done);
    ex.signal.once("abort", done);
  });
}
