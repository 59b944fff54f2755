/**
 * Constant-latency mode of the HTTP simulator: every request's first token comes `ttftMs` after
 * it is submitted and each next one `itlMs` later, whatever the load — no engine model, no
 * batching, no KV cache. Benchmark clients are checked against it (a client that measures
 * TTFT 100 ms / ITL 10 ms on such a server is accurate), and with 0 / 0 it is a zero-latency
 * server that measures a client's own overhead. llm-d-inference-sim's `--time-to-first-token` /
 * `--inter-token-latency` (with its default `--time-factor-under-load 1`) behave the same way.
 *
 * Token k is due at submit + ttft + k·itl on the wall clock (absolute deadlines), so timer lateness
 * does not accumulate along a stream. It plugs in where the RealtimeEngine does; the engine
 * passed in only keeps the server's gauges readable (it stays idle).
 */
import type { EngineCore, SimRequestInput } from "./model/engine.js";
import { RealtimeEngine, type RequestListener } from "./realtime.js";

export interface ConstantLatency {
  /** Time to the first token, ms (≥ 0). */
  ttftMs: number;
  /** Time between tokens, ms (≥ 0). */
  itlMs: number;
}

interface Stream {
  listener: RequestListener;
  submitted: number;
  next: number;
  tokens: number;
  cancel: (() => void) | null;
}

/** setTimeout, or setImmediate when already due (setTimeout's floor is 1 ms). */
function later(ms: number, fn: () => void): () => void {
  if (ms <= 0) {
    const t = setImmediate(fn);
    return () => clearImmediate(t);
  }
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
}

export class ConstantLatencyEngine extends RealtimeEngine {
  private readonly streams = new Map<string, Stream>();
  private stopped = false;

  constructor(
    engine: EngineCore,
    readonly latency: ConstantLatency,
  ) {
    super(engine, { speed: 1 });
  }

  override get inFlight(): number {
    return this.streams.size;
  }

  override submit(input: SimRequestInput, listener: RequestListener): void {
    if (this.stopped) throw new Error("engine stopped");
    const s: Stream = {
      listener,
      submitted: performance.now(),
      next: 0,
      tokens: Math.max(1, input.maxTokens),
      cancel: null,
    };
    this.streams.set(input.id, s);
    // No queue: scheduled on arrival (the TTFT is all "prefill" in the server's metrics).
    listener.onScheduled(this.now(), 0);
    // Never deliver inside submit: the server starts the stream right after it returns.
    s.cancel = later(this.latency.ttftMs, () => this.advance(input.id, s));
  }

  /** Delivers every token now due, then waits for the next one. */
  private advance(id: string, s: Stream): void {
    s.cancel = null;
    if (this.stopped || this.streams.get(id) !== s) return;
    const { ttftMs, itlMs } = this.latency;
    const wall = performance.now();
    while (s.next < s.tokens) {
      const due = s.submitted + ttftMs + s.next * itlMs;
      // libuv timers count whole milliseconds from the loop's cached clock, so one fires up to
      // ~1 ms either side of its deadline; a token due within 1 ms goes now rather than a timer
      // tick later, which centres the error on the deadline instead of always adding to it.
      if (due > wall + 1) break;
      s.listener.onToken(s.next, this.now());
      s.next++;
      if (this.streams.get(id) !== s) return; // the listener aborted it (cut fault, closed socket)
    }
    if (s.next >= s.tokens) {
      this.streams.delete(id);
      s.listener.onFinished(this.now(), "length");
      return;
    }
    const due = s.submitted + ttftMs + s.next * itlMs;
    s.cancel = later(due - performance.now(), () => this.advance(id, s));
  }

  override abort(id: string): void {
    const s = this.streams.get(id);
    if (s === undefined) return;
    s.cancel?.();
    this.streams.delete(id);
  }

  override close(): void {
    this.stopped = true;
    for (const s of this.streams.values()) s.cancel?.();
    this.streams.clear();
    super.close();
  }
}
