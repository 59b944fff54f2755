/**
 * Load scraping of one pool: every `intervalMs` (default 200 ms) a GET of each endpoint's
 * metrics URL, parsed by the engine adapter into `ep.load` (requests running and waiting,
 * KV-cache usage). Parsing happens here, off the request path; the balancer only reads the last
 * sample. A failed scrape (connection error, timeout, non-2xx, unreadable text) leaves the old
 * sample in place: its `at` ages and the load-aware balancer treats it as stale and falls back.
 *
 * One keep-alive undici Agent serves every scrape of the scraper (one connection per endpoint,
 * reused every interval). Rounds never overlap: the next is scheduled when the current one is
 * done. Timers are unref'd. Engines without metrics (Ollama, external providers) make the
 * scraper a no-op.
 */
import { Agent, type Dispatcher, request } from "undici";
import type { EngineAdapter } from "../../engines/adapter.js";
import type { EndpointLoad, EndpointState } from "../types.js";
import { PeriodicRounds } from "./periodic.js";

export interface LoadScraperOptions {
  adapter: EngineAdapter;
  /** The pool's endpoints, read at every round. */
  endpoints: () => readonly EndpointState[];
  /** Period between rounds, ms (default 200). */
  intervalMs?: number;
  /** Bound on one scrape, ms (default max(1 s, 5 × interval)). */
  timeoutMs?: number;
  /** Largest metrics text accepted, bytes (default 8 MiB); a larger one counts as a failure. */
  maxBytes?: number;
  /** Environment the adapter reads its API key from (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** HTTP client; default: an own keep-alive Agent (closed by `close`). */
  dispatcher?: Dispatcher;
  /** Clock for `EndpointLoad.at`, ms (default performance.now). */
  now?: () => number;
  /** Called after each successful scrape with the new sample (undefined: the text had no load series). */
  onSample?: (ep: EndpointState, load: EndpointLoad | undefined) => void;
  /** Called with each failed scrape's reason (for logs and metrics). */
  onError?: (ep: EndpointState, reason: string) => void;
}

export class LoadScraper {
  private readonly adapter: EngineAdapter;
  private readonly endpoints: () => readonly EndpointState[];
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly now: () => number;
  private readonly onSample: LoadScraperOptions["onSample"];
  private readonly onError: LoadScraperOptions["onError"];
  private readonly rounds: PeriodicRounds;

  constructor(opts: LoadScraperOptions) {
    this.adapter = opts.adapter;
    this.endpoints = opts.endpoints;
    this.intervalMs = Math.max(1, opts.intervalMs ?? 200);
    this.timeoutMs = Math.max(1, opts.timeoutMs ?? Math.max(1_000, 5 * this.intervalMs));
    this.maxBytes = opts.maxBytes ?? 8 * 1024 * 1024;
    this.env = opts.env ?? process.env;
    this.ownsDispatcher = opts.dispatcher === undefined;
    this.dispatcher =
      opts.dispatcher ??
      new Agent({
        connections: 1, // per endpoint origin: scrapes of one endpoint never overlap
        pipelining: 1,
        keepAliveTimeout: 60_000,
        connect: { timeout: this.timeoutMs },
      });
    this.now = opts.now ?? (() => performance.now());
    this.rounds = new PeriodicRounds(() => this.round(), this.intervalMs, this.now);
    this.onSample = opts.onSample;
    this.onError = opts.onError;
  }

  /** Whether this engine has metrics to scrape at all. */
  get enabled(): boolean {
    return this.adapter.metricsPath !== undefined;
  }

  /** Starts periodic scrapes; the first round runs at once. Idempotent; a no-op without metrics. */
  start(): void {
    if (this.enabled) this.rounds.start();
  }

  /** Stops scraping (a round in flight finishes). */
  stop(): void {
    this.rounds.stop();
  }

  /** Stops and closes the scraper's own keep-alive agent. */
  async close(): Promise<void> {
    await this.rounds.settle();
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /** Scrapes every endpoint once now (or joins the round in flight). */
  scrapeNow(): Promise<void> {
    return this.enabled ? this.rounds.runNow() : Promise.resolve();
  }

  private async round(): Promise<void> {
    await Promise.all(this.endpoints().map((ep) => this.scrape(ep)));
  }

  private async scrape(ep: EndpointState): Promise<void> {
    const url = this.adapter.metricsUrl(ep.url);
    if (url === undefined) return;
    let text: string;
    try {
      const res = await request(url, {
        method: "GET",
        headers: {
          accept: "text/plain;version=0.0.4;q=1,*/*;q=0.1",
          ...this.adapter.requestHeaders(this.env),
        },
        dispatcher: this.dispatcher,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (res.statusCode < 200 || res.statusCode >= 300) {
        await res.body.dump({ limit: 64 * 1024 }).catch(() => {});
        this.onError?.(ep, `HTTP ${res.statusCode} from ${url}`);
        return;
      }
      text = await readText(res.body, this.maxBytes);
    } catch (err) {
      const e = err as Error & { code?: string };
      this.onError?.(ep, `${url}: ${e.code ? `${e.code}: ` : ""}${e.message}`);
      return;
    }
    const load = this.adapter.parseLoad(text, this.now());
    if (load !== undefined) ep.load = load;
    this.onSample?.(ep, load);
  }
}

async function readText(
  body: AsyncIterable<Buffer | Uint8Array> & { destroy(err?: Error): unknown },
  maxBytes: number,
): Promise<string> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      const err = new Error(`metrics text larger than ${maxBytes} bytes`);
      body.destroy(err);
      throw err;
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts, size).toString("utf8");
}
