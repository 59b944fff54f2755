/**
 * A small HTTP/1.1 client for one plain-http endpoint, used for streamed answers: keep-alive
 * connections (h1-connection.ts, one request at a time on each), at most `connections` of them,
 * further requests waiting for one in order.
 *
 * Why not undici here: a relayed token is one upstream read, and undici spends a third of a
 * token's gateway CPU on it (a paused socket read on a `readable` tick, llhttp in wasm, a
 * Readable per body and a Buffer per chunk; profile in docs/benchmarks.md). Here the socket
 * reads into one reused buffer, the bytes become one latin1 string (one char per byte), and
 * whatever one read brought reaches the consumer in one call. Non-streamed requests and https
 * endpoints stay on undici.
 */
import {
  Connection,
  type Exchange,
  type H1Request,
  type H1Response,
  type StaleError,
} from "./h1-connection.js";
import { H1Error } from "./h1-parser.js";

export type { H1Request, H1Response };
export { H1Error };

const STALE_CODES = new Set(["H1_CLOSED", "ECONNRESET", "EPIPE"]);

function assertHeader(name: string, value: string): void {
  if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new Error(`header ${name} holds a line break`);
}

export class H1Client {
  private readonly host: string;
  private readonly port: number;
  private readonly hostHeader: string;
  private readonly idle: Connection[] = [];
  private readonly idleTimers = new Map<Connection, NodeJS.Timeout>();
  private readonly waiting: ((c: Connection | Error) => void)[] = [];
  private open = 0;
  private closing = false;

  /** @param origin `http://host:port` */
  constructor(
    origin: string,
    private readonly opts: { connections: number; connectTimeout: number },
  ) {
    const u = new URL(origin);
    if (u.protocol !== "http:") throw new Error(`H1Client speaks plain http only, not ${u.protocol}`);
    this.host = u.hostname.replace(/^\[|\]$/g, "");
    this.port = Number(u.port || 80);
    this.hostHeader = u.host;
  }

  /** Sends one request; resolves at its response head (the body is read from `body`). */
  async request(req: H1Request): Promise<H1Response> {
    let head = `${req.method} ${req.path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\n`;
    for (const [name, value] of Object.entries(req.headers)) {
      assertHeader(name, value);
      head += `${name}: ${value}\r\n`;
    }
    head += `content-length: ${Buffer.byteLength(req.body)}\r\n\r\n`;
    const conn = await this.acquire(req.signal);
    try {
      return await this.exchange(conn, req, head);
    } catch (err) {
      // A kept-alive connection the server closed as we reused it (closed, reset, broken pipe
      // before any byte of the answer): once more on a fresh one.
      const code = (err as { code?: string }).code ?? "";
      if ((err as StaleError).staleConnection && STALE_CODES.has(code) && !req.signal?.aborted) {
        return this.exchange(await this.acquire(req.signal, true), req, head);
      }
      throw err;
    }
  }

  private exchange(conn: Connection, req: H1Request, head: string): Promise<H1Response> {
    return new Promise((resolve, reject) => {
      const ex: Exchange = {
        resolveHead: resolve,
        rejectHead: reject,
        headDone: false,
        pending: "",
        consumer: undefined,
        finish: undefined,
        ended: false,
        error: undefined,
        drained: undefined,
        sawByte: false,
        cleanup: undefined,
      };
      const signal = req.signal;
      if (signal) {
        if (signal.aborted) {
          this.free(conn);
          reject(new H1Error("H1_ABORTED", "the request was aborted"));
          return;
        }
        const onAbort = () => {
          if (conn.ex === ex) conn.fail(new H1Error("H1_ABORTED", "the request was aborted"));
        };
        signal.once("abort", onAbort);
        ex.cleanup = () => signal.off("abort", onAbort);
      }
      conn.send(req, ex, head);
    });
  }

  private acquire(signal: H1Request["signal"], fresh = false): Promise<Connection> {
    if (this.closing) return Promise.reject(new H1Error("H1_CLOSED", "the client is closed"));
    if (!fresh) {
      for (let c = this.idle.pop(); c !== undefined; c = this.idle.pop()) {
        clearTimeout(this.idleTimers.get(c));
        this.idleTimers.delete(c);
        if (!c.closed) return Promise.resolve(c);
        this.open--;
      }
    }
    if (this.open < this.opts.connections || fresh) {
      this.open++;
      return Promise.resolve(this.connect());
    }
    return new Promise((resolve, reject) => {
      const take = (c: Connection | Error) => {
        signal?.off("abort", onAbort);
        if (c instanceof Error) reject(c);
        else resolve(c);
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(take);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new H1Error("H1_ABORTED", "the request was aborted"));
      };
      signal?.once("abort", onAbort);
      this.waiting.push(take);
    });
  }

  private connect(): Connection {
    return new Connection(this.host, this.port, this.opts.connectTimeout, (c) => this.free(c));
  }

  /** A connection's request ended: to a waiting request, to the idle list, or gone. */
  private free(c: Connection): void {
    if (c.closed) {
      this.open--;
      const next = this.waiting.shift();
      if (next) {
        this.open++;
        next(this.connect());
      }
      return;
    }
    if (this.closing) {
      c.destroy();
      this.open--;
      return;
    }
    const next = this.waiting.shift();
    if (next) {
      next(c);
      return;
    }
    this.idle.push(c);
    const t = setTimeout(() => {
      this.idleTimers.delete(c);
      const i = this.idle.indexOf(c);
      if (i >= 0) this.idle.splice(i, 1);
      c.destroy();
      this.open--;
    }, c.idleFor());
    t.unref();
    this.idleTimers.set(c, t);
  }

  /** Closes idle connections now and the others when their request ends. */
  close(): Promise<void> {
    this.closing = true;
    for (const t of this.idleTimers.values()) clearTimeout(t);
    this.idleTimers.clear();
    for (const c of this.idle.splice(0)) {
      c.destroy();
      this.open--;
    }
    for (const w of this.waiting.splice(0)) w(new H1Error("H1_CLOSED", "the client is closed"));
    return Promise.resolve();
  }
}
