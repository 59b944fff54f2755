/**
 * One request's generation: the planned job, how its dialect writes it (Wire), and the engine
 * listener that writes each token as the engine produces it (the hot path).
 */

import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { FastifyInstance } from "fastify";
import type { FinishReason, SimMetrics } from "./metrics.js";
import type { EngineCore } from "./model/engine.js";
import type { RealtimeEngine, RequestListener } from "./realtime.js";
import { pseudoText, pseudoToken } from "./text.js";

/** One incarnation of a replica: a fresh engine, clock, metrics and app per (re)start. */
export interface Life {
  app: FastifyInstance;
  engine: EngineCore;
  rt: RealtimeEngine;
  metrics: SimMetrics;
  readyAt: number;
  jsonHeaders: Readonly<Record<string, string>>;
  sseHeaders: Readonly<Record<string, string>>;
  ndjsonHeaders: Readonly<Record<string, string>>;
  /** Sockets of this incarnation, destroyed on kill (hung requests included). */
  sockets: Set<Socket>;
}
export interface Job {
  id: string;
  promptIds: number[];
  /** Reply tokens the engine generates. */
  outputTokens: number;
  finishReason: "stop" | "length";
  /** Pseudo-text seed. */
  textSeed: number;
  /** Per-token visible text when a stop string cut the reply. */
  texts: string[] | null;
  /** The stop string that ended the reply (vLLM's `stop_reason`), as JSON. */
  stopReason: string;
  /** Token index after which the connection is dropped (`cut` fault); -1 for none. */
  cutAt: number;
}

/** What a dialect's wire reads from its replica; `servedJson` is the served name as a JSON string. */
export interface WireContext {
  servedModelName: string;
  servedJson: string;
  /** Whether the served name (the only free text in token payloads) is ASCII. */
  asciiName: boolean;
  /** Unix seconds of the reply. */
  created: number;
}

/** How one endpoint writes a reply. Strings are built once per request; `token` is the hot path. */
export interface Wire {
  stream: boolean;
  contentType: string;
  /** Whether every token payload is ASCII (its length is its byte length). */
  ascii: boolean;
  /** Bytes sent as soon as the request is accepted (e.g. vLLM's role chunk). */
  head(): string;
  token(index: number, text: string, last: boolean): string;
  end(g: Generation): string;
  body(g: Generation): unknown;
}

/** Hex lengths of HTTP chunks, made once: a token's chunk header is a table read. */
const HEX: readonly string[] = Array.from({ length: 4096 }, (_, n) => n.toString(16));
const hexOf = (n: number): string => HEX[n] ?? n.toString(16);

export class Generation implements RequestListener {
  scheduled: number | undefined;
  first: number | undefined;
  last = 0;
  cached = 0;
  generated = 0;
  done = false;
  /** Per-token state read on the hot path, copied out of `life`, `job` and `wire` once. */
  private readonly metrics: SimMetrics;
  private readonly itlPerToken: boolean;
  private readonly stream: boolean;
  private readonly lastIndex: number;
  private readonly cutAt: number;
  private readonly textSeed: number;
  private readonly texts: string[] | null;

  constructor(
    readonly life: Life,
    readonly job: Job,
    readonly wire: Wire,
    readonly res: ServerResponse,
    readonly arrival: number,
  ) {
    this.metrics = life.metrics;
    this.itlPerToken = life.metrics.itlPerToken;
    this.stream = wire.stream;
    this.lastIndex = job.outputTokens - 1;
    this.cutAt = job.cutAt;
    this.textSeed = job.textSeed;
    this.texts = job.texts;
  }

  get promptTokens(): number {
    return this.job.promptIds.length;
  }

  text(index: number): string {
    const texts = this.texts;
    return texts !== null ? (texts[index] ?? "") : pseudoToken(this.textSeed, index);
  }

  fullText(): string {
    const j = this.job;
    return j.texts !== null ? j.texts.join("") : pseudoText(j.textSeed, j.outputTokens);
  }

  onScheduled(time: number, cachedTokens: number): void {
    if (this.scheduled === undefined) {
      this.scheduled = time;
      this.cached = cachedTokens;
    }
  }

  /**
   * The socket a stream's tokens go to directly, framed as HTTP chunks here: one string and one
   * write per token, instead of ServerResponse's four-buffer writev (the hot path at 1,000
   * streams). Null until the headers are flushed, and when the wire is not plain ASCII.
   */
  private socket: Socket | null = null;
  private chunked = false;

  /** Sends the status line and headers (and the wire's head) of a streamed reply. */
  startStream(headers: Readonly<Record<string, string>>): void {
    const res = this.res;
    res.writeHead(200, headers);
    const head = this.wire.head();
    if (head !== "") res.write(head);
    else res.flushHeaders();
    if (this.wire.ascii && res.socket) {
      this.socket = res.socket;
      this.chunked = res.chunkedEncoding;
    }
  }

  onToken(index: number, time: number): void {
    if (index === 0) this.first = time;
    else if (this.itlPerToken) this.metrics.tokenGap(time - this.last);
    this.last = time;
    this.generated = index + 1;
    if (this.stream && !this.res.destroyed) {
      const payload = this.wire.token(index, this.text(index), index === this.lastIndex);
      if (payload !== "") {
        const socket = this.socket;
        if (socket === null) this.res.write(payload);
        else socket.write(this.chunked ? `${hexOf(payload.length)}\r\n${payload}\r\n` : payload);
      }
    }
    if (index === this.cutAt) this.cut(time);
  }

  onFinished(time: number): void {
    if (this.done) return;
    this.done = true;
    this.record(this.job.finishReason, time);
    const res = this.res;
    if (res.destroyed) return;
    if (this.wire.stream) res.end(this.wire.end(this));
    else {
      res.writeHead(200, this.life.jsonHeaders);
      res.end(JSON.stringify(this.wire.body(this)));
    }
  }

  private record(reason: FinishReason, end: number): void {
    this.life.metrics.finished({
      reason,
      arrival: this.arrival,
      scheduled: this.scheduled,
      firstToken: this.first,
      end,
      promptTokens: this.promptTokens,
      outputTokens: this.generated,
    });
  }

  /** `cut` fault: drop the connection mid-reply. */
  private cut(time: number): void {
    this.done = true;
    this.life.rt.abort(this.job.id);
    this.record("abort", time);
    this.res.destroy();
  }

  /** The client went away (or the server dropped the connection) before the end. */
  readonly onClose = (): void => {
    if (this.done) return;
    this.done = true;
    this.life.rt.abort(this.job.id);
    this.record("abort", this.life.rt.now());
  };
}
