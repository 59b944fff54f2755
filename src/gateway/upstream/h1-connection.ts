/**
 * One keep-alive connection of the HTTP/1.1 client (h1-client.ts) and the request it carries:
 * reads land in one shared buffer (`onread`) and become one latin1 string, parsed by
 * h1-parser.ts; body bytes go to the consumer once per read. Timeouts: one timer per
 * connection, re-armed lazily (a read only moves `lastRead`).
 */
import type { EventEmitter } from "node:events";
import { connect, type Socket } from "node:net";
import type { UpstreamBody } from "./body.js";
import { H1Error, type H1Head, ResponseParser } from "./h1-parser.js";

/** Idle keep-alive connections close after this (servers such as uvicorn close theirs at 5 s). */
export const KEEP_ALIVE_MS = 4_000;
/** One read buffer for every connection: reads are consumed synchronously, as a string. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export interface H1Request {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  headers: Readonly<Record<string, string>>;
  body: string;
  /** ms from the request written to the response head. */
  headersTimeout: number;
  /** ms between two reads of the body. */
  bodyTimeout: number;
  /** `abort` ends the request (an EventEmitter with `aborted`, like proxy/cancel.ts). */
  signal?: EventEmitter & { aborted: boolean };
}

export interface H1Response {
  statusCode: number;
  /** Lower-case names; a repeated header keeps its last value. */
  headers: Record<string, string>;
  body: UpstreamBody;
}

/** An error on a reused keep-alive connection before any byte of the answer (the server closed it as we reused it). */
export type StaleError = Error & { staleConnection?: boolean };

type Verdict = "next" | "stop" | "wait";

/** What a connection is doing for its current request. */
export interface Exchange {
  resolveHead(r: H1Response): void;
  rejectHead(err: Error): void;
  headDone: boolean;
  /** Bytes of the body not yet taken by a consumer. */
  pending: string;
  consumer: ((bytes: string) => Verdict) | undefined;
  finish: ((err?: Error) => void) | undefined;
  ended: boolean;
  error: Error | undefined;
  drained: (() => Promise<void>) | undefined;
  /** Set once any response byte arrived (a reused connection that fails before may be retried). */
  sawByte: boolean;
  /** Run once when the request leaves its connection (the abort listener goes). */
  cleanup: (() => void) | undefined;
}

export class Connection {
  readonly socket: Socket;
  ex: Exchange | undefined;
  reused = false;
  private parser: ResponseParser | undefined;
  private keepAlive = true;
  private keepAliveMs = KEEP_ALIVE_MS;
  private timer: NodeJS.Timeout | undefined;
  private deadline = 0;
  private timeoutCode: "H1_HEADERS_TIMEOUT" | "H1_BODY_TIMEOUT" = "H1_HEADERS_TIMEOUT";
  private bodyTimeout = 0;
  lastRead = 0;
  closed = false;

  constructor(
    host: string,
    port: number,
    connectTimeout: number,
    private readonly onFree: (c: Connection) => void,
  ) {
    this.socket = connect({
      host,
      port,
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: (n: number) => this.onRead(n) },
    });
    const t = setTimeout(
      () => this.fail(new H1Error("H1_CONNECT_TIMEOUT", `connect timeout after ${connectTimeout} ms`)),
      connectTimeout,
    );
    this.socket.once("connect", () => clearTimeout(t));
    this.socket.on("error", (err) => {
      clearTimeout(t);
      this.fail(err);
    });
    this.socket.on("end", () => this.onEnd());
    this.socket.on("close", () => {
      clearTimeout(t);
      this.closed = true;
      this.fail(new H1Error("H1_CLOSED", "the upstream closed the connection"));
    });
  }

  send(req: H1Request, ex: Exchange, head: string): void {
    this.ex = ex;
    this.parser = new ResponseParser((h) => this.onHead(h));
    this.bodyTimeout = req.bodyTimeout;
    this.arm("H1_HEADERS_TIMEOUT", req.headersTimeout);
    this.socket.write(head + req.body);
  }

  /** A timer per connection, re-armed lazily: a read only moves `lastRead`. */
  private arm(code: "H1_HEADERS_TIMEOUT" | "H1_BODY_TIMEOUT", ms: number): void {
    this.timeoutCode = code;
    this.lastRead = performance.now();
    this.deadline = ms;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onTimer(), ms);
  }

  private onTimer(): void {
    this.timer = undefined;
    if (this.ex === undefined) return;
    const left = this.lastRead + this.deadline - performance.now();
    if (left > 1) {
      this.timer = setTimeout(() => this.onTimer(), left);
      return;
    }
    const what = this.timeoutCode === "H1_HEADERS_TIMEOUT" ? "response head" : "body read";
    this.fail(new H1Error(this.timeoutCode, `no ${what} within ${this.deadline} ms`));
  }

  private onRead(n: number): boolean {
    const ex = this.ex;
    if (ex === undefined) {
      // Bytes on an idle connection: the server broke the protocol; do not reuse it.
      this.socket.destroy();
      return false;
    }
    ex.sawByte = true;
    this.lastRead = performance.now();
    try {
      const data = (this.parser as ResponseParser).feed(READ_BUFFER.toString("latin1", 0, n));
      if (this.ex !== ex) return false; // failed while parsing
      return this.deliver(ex, data);
    } catch (err) {
      this.fail(err as Error);
      return false;
    }
  }

  private onHead(h: H1Head): void {
    this.keepAlive = h.keepAlive;
    if (h.keepAliveMs !== undefined) this.keepAliveMs = Math.min(KEEP_ALIVE_MS, h.keepAliveMs - 1000);
    this.arm("H1_BODY_TIMEOUT", this.bodyTimeout);
    const ex = this.ex as Exchange;
    ex.headDone = true;
    ex.resolveHead({ statusCode: h.statusCode, headers: h.headers, body: bodyOf(ex, this) });
  }

  /** Hands a read's body bytes to the consumer (or keeps them until it comes); false pauses reading. */
  deliver(ex: Exchange, data: string): boolean {
    const parser = this.parser as ResponseParser;
    const done = parser.done;
    if (parser.extra) this.keepAlive = false; // bytes after the response: not reusable
    if (ex.consumer === undefined) {
      ex.pending += data;
      if (done) this.complete(ex);
      return true;
    }
    const verdict = data === "" ? "next" : ex.consumer(data);
    if (verdict === "stop") {
      this.release(false);
      ex.finish?.();
      return false;
    }
    if (done) {
      this.complete(ex);
      return true;
    }
    if (verdict === "wait" && ex.drained) {
      void ex.drained().then(() => {
        if (this.ex === ex && !this.closed) this.socket.resume();
      });
      return false;
    }
    return true;
  }

  private complete(ex: Exchange): void {
    ex.ended = true;
    this.release(this.keepAlive);
    ex.finish?.();
  }

  private onEnd(): void {
    const ex = this.ex;
    if (ex !== undefined && this.parser?.untilEof) {
      this.parser.eof();
      this.complete(ex);
      return;
    }
    this.fail(new H1Error("H1_CLOSED", "the upstream closed the connection"));
  }

  /** The current request fails (if any); the connection is not reused. */
  fail(err: Error): void {
    const ex = this.ex;
    this.release(false);
    if (ex === undefined || ex.ended || ex.error) return;
    ex.error = err;
    if (ex.headDone) ex.finish?.(err);
    else {
      if (!ex.sawByte && this.reused) (err as StaleError).staleConnection = true;
      ex.rejectHead(err);
    }
  }

  /** Ends the current request: back to the idle list, or closed. */
  release(reusable: boolean): void {
    if (this.ex === undefined) {
      if (!reusable) this.destroy();
      return;
    }
    const ex = this.ex;
    this.ex = undefined;
    ex.cleanup?.();
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (reusable && !this.closed) {
      this.reused = true;
      this.onFree(this);
    } else {
      this.destroy();
      this.onFree(this);
    }
  }

  idleFor(): number {
    return this.keepAliveMs;
  }

  destroy(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.closed = true;
    this.socket.destroy();
  }
}

/** The body of a response, read from its connection. */
function bodyOf(ex: Exchange, conn: Connection): UpstreamBody {
  const take = (onData: (bytes: string) => Verdict, drained: () => Promise<void>): Promise<void> => {
    return new Promise((resolve, reject) => {
      ex.drained = drained;
      ex.finish = (err) => {
        ex.finish = undefined;
        if (err) reject(err);
        else resolve();
      };
      if (ex.error) return ex.finish(ex.error);
      ex.consumer = onData;
      const first = ex.pending;
      ex.pending = "";
      if (first !== "" && onData(first) === "stop") {
        if (conn.ex === ex) conn.release(false);
        return ex.finish();
      }
      if (ex.ended) ex.finish();
    });
  };
  return {
    each: take,
    async bytes(cap: number): Promise<Buffer> {
      let text = "";
      await take(
        (bytes) => {
          if (text.length < cap) text += bytes;
          return "next";
        },
        () => Promise.resolve(),
      );
      return Buffer.from(text.slice(0, cap), "latin1");
    },
    destroy(): void {
      if (!ex.ended && conn.ex === ex) conn.fail(new H1Error("H1_ABORTED", "the request was aborted"));
    },
  };
}
