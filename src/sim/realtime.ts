/**
 * Drives one EngineCore in real time. The virtual clock is real elapsed time × `speed`; each
 * engine step is computed when it starts and its outcome (tokens, finishes) is delivered when
 * the wall clock reaches the step's end. One timer per step per replica, never one per request
 * or per token: a step of 1,000 sequences costs one timer and one pass over its events.
 *
 * Steps follow each other back to back in virtual time, so timer jitter does not accumulate.
 * A step's outcome is handed out in slices of `sliceMs` (its socket writes take most of a step
 * at 1,000 streams) while the next step's time already runs, as a GPU computes the next batch
 * while the last one's tokens are detokenized and sent: the process counts as behind only when
 * the next step should have *ended* more than `maxLagMs` ago, and then the clock skips ahead
 * instead of bursting to catch up. Steps shorter than the timer resolution (high `speed`) run
 * several per tick, within a small budget, so the event loop keeps breathing.
 */
import { type EngineCore, type EngineEvent, RequestRejected, type SimRequestInput } from "./model/engine.js";

/** Receives one request's events at the wall-clock moments they happen; times are virtual seconds. */
export interface RequestListener {
  onScheduled(time: number, cachedTokens: number): void;
  onToken(index: number, time: number): void;
  onFinished(time: number, reason: "length" | "abort"): void;
  onPreempted?(time: number): void;
}

export interface RealtimeOptions {
  /** Virtual seconds per real second (default 1). */
  speed?: number;
  /** How far (wall ms) the clock may run behind before it skips ahead (default 10). */
  maxLagMs?: number;
  /** Most wall time one tick spends running short steps back to back (default 4 ms). */
  tickBudgetMs?: number;
  /**
   * Most wall time spent handing out one step's tokens before yielding to the event loop
   * (default 1 ms): with 1,000 streams a step's socket writes take ~9 ms, and health checks,
   * scrapes and new requests must not wait for all of them.
   */
  sliceMs?: number;
}

export { RequestRejected };

export class RealtimeEngine {
  readonly engine: EngineCore;
  readonly speed: number;
  private readonly origin: number;
  private readonly msPerVirtualS: number;
  private readonly maxLagMs: number;
  private readonly tickBudgetMs: number;
  private readonly sliceMs: number;
  private readonly listeners = new Map<string, RequestListener>();
  /** Virtual time the next step starts at (the end of the last one). */
  private cursor = 0;
  /** A step whose outcome waits for its end. */
  private pending: EngineEvent[] | null = null;
  private pendingEnd = 0;
  private timer: NodeJS.Timeout | null = null;
  /** A step's outcome being handed out in slices, and where it stands. */
  private draining: EngineEvent[] | null = null;
  private drainIndex = 0;
  private drainEnd = 0;
  private kicked = false;
  /** `run` is due on the next turn (after a drain that used up its slice). */
  private runQueued = false;
  private closed = false;
  /** Wall ms of the last step that took time: the estimate of the next one's length. */
  private lastStepMs = 0;
  /** Steps run so far, and steps whose outcome came late by more than maxLagMs. */
  steps = 0;
  lateSkips = 0;

  constructor(engine: EngineCore, options: RealtimeOptions = {}) {
    const speed = options.speed ?? 1;
    if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`speed must be > 0, got ${speed}`);
    this.engine = engine;
    this.speed = speed;
    this.msPerVirtualS = 1000 / speed;
    this.maxLagMs = options.maxLagMs ?? 10;
    this.tickBudgetMs = options.tickBudgetMs ?? 4;
    this.sliceMs = options.sliceMs ?? 1;
    this.origin = performance.now();
  }

  /** Virtual time now, seconds since the engine started. */
  now(): number {
    return (performance.now() - this.origin) / this.msPerVirtualS;
  }

  private wallOf(virtual: number): number {
    return this.origin + virtual * this.msPerVirtualS;
  }

  get inFlight(): number {
    return this.listeners.size;
  }

  /**
   * Queues a request; its listener hears of it from the next step on. Throws RequestRejected
   * (too long for the model or the cache) before anything is queued.
   */
  submit(input: SimRequestInput, listener: RequestListener): void {
    if (this.closed) throw new Error("engine stopped");
    this.engine.add(input);
    this.listeners.set(input.id, listener);
    this.kick();
  }

  /** Drops a request (the client went away); its listener hears nothing more. */
  abort(id: string): void {
    if (!this.listeners.delete(id)) return;
    this.engine.abort(id, this.now());
  }

  /** Stops the clock; nothing is delivered afterwards. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
    this.draining = null;
    this.listeners.clear();
  }

  /** A step is due, waiting for its time, or being handed out. */
  private stepping(): boolean {
    return this.runQueued || this.timer !== null || this.pending !== null || this.draining !== null;
  }

  /** Starts stepping on the next turn of the event loop when idle (arrivals in one turn share a step). */
  private kick(): void {
    if (this.kicked || this.stepping()) return;
    this.kicked = true;
    setImmediate(this.onKick);
  }

  private readonly onKick = (): void => {
    this.kicked = false;
    if (this.closed || this.stepping()) return;
    // Idle until now: the next step starts at the present moment.
    this.cursor = Math.max(this.cursor, this.now());
    this.run();
  };

  private readonly onTimer = (): void => {
    this.timer = null;
    if (this.closed) return;
    const events = this.pending;
    this.pending = null;
    if (events === null || this.drain(events, this.pendingEnd)) this.run();
  };

  private readonly onDrain = (): void => {
    if (this.closed) return;
    const start = performance.now();
    if (!this.drainSome()) return;
    // The next step (1,000 sequences: ~0.5 ms) gets a turn of its own when half the slice is spent.
    if (performance.now() - start > this.sliceMs / 2) {
      this.runQueued = true;
      setImmediate(this.onRun);
    } else this.run();
  };

  private readonly onRun = (): void => {
    this.runQueued = false;
    if (!this.closed) this.run();
  };

  /** Hands out a step's outcome; false when it yielded (the rest follows, then `run`). */
  private drain(events: EngineEvent[], end: number): boolean {
    this.draining = events;
    this.drainIndex = 0;
    this.drainEnd = end;
    return this.drainSome();
  }

  private drainSome(): boolean {
    const events = this.draining;
    if (events === null) return true;
    const start = performance.now();
    let i = this.drainIndex;
    while (i < events.length) {
      const stop = Math.min(events.length, i + 8);
      this.deliver(events, true, i, stop);
      i = stop;
      if (i < events.length && performance.now() - start > this.sliceMs) {
        this.drainIndex = i;
        setImmediate(this.onDrain);
        return false;
      }
    }
    this.draining = null;
    this.cursor = this.drainEnd;
    return true;
  }

  /** Runs steps until one ends in the future (then waits for it) or the engine is idle. */
  private run(): void {
    const budgetEnd = performance.now() + this.tickBudgetMs;
    for (;;) {
      const wallNow = performance.now();
      // The next step should have ended more than maxLagMs ago (its length estimated by the
      // last one's): skip ahead rather than burst.
      if (wallNow - this.wallOf(this.cursor) - this.lastStepMs > this.maxLagMs) {
        this.cursor = this.now();
        this.lateSkips++;
      }
      const res = this.engine.step(this.cursor);
      if (res === null) return; // idle until the next submit
      this.steps++;
      if (res.duration > 0) this.lastStepMs = res.duration * this.msPerVirtualS;
      if (res.duration <= 0) {
        // Only bookkeeping (aborts) or nothing schedulable: deliver, then wait for news.
        this.deliver(res.events, false);
        this.deliver(res.events, true);
        if (res.batch.seqs === 0) {
          if (this.engine.numWaiting + this.engine.numRunning > 0) this.retryLater();
          return;
        }
        continue;
      }
      this.deliver(res.events, false);
      const delay = this.wallOf(res.end) - performance.now();
      if (delay > 0.5 || performance.now() > budgetEnd) {
        this.pending = res.events;
        this.pendingEnd = res.end;
        this.timer = setTimeout(this.onTimer, Math.max(0, delay));
        return;
      }
      // Due (about) now: deliver at once and go on with the next step.
      if (!this.drain(res.events, res.end)) return;
    }
  }

  /** Nothing fit although work waits (cannot happen with recompute preemption): look again soon. */
  private retryLater(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.closed) {
        this.cursor = Math.max(this.cursor, this.now());
        this.run();
      }
    }, 5);
  }

  /**
   * Hands a step's events to their listeners: `scheduled` and `preempted` when the step starts
   * (`atEnd` false), tokens and finishes when it ends (`atEnd` true).
   */
  private deliver(events: readonly EngineEvent[], atEnd: boolean, from = 0, to = events.length): void {
    const listeners = this.listeners;
    for (let i = from; i < to; i++) {
      const ev = events[i] as EngineEvent;
      const l = listeners.get(ev.id);
      if (l === undefined) continue;
      try {
        switch (ev.type) {
          case "token":
            if (atEnd) l.onToken(ev.index, ev.time);
            break;
          case "finished":
            if (atEnd) {
              listeners.delete(ev.id);
              l.onFinished(ev.time, ev.reason);
            }
            break;
          case "scheduled":
            if (!atEnd) l.onScheduled(ev.time, ev.cachedTokens);
            break;
          case "preempted":
            if (!atEnd) l.onPreempted?.(ev.time);
            break;
        }
      } catch (err) {
        // A broken listener must not stall the engine: drop its request and carry on.
        this.abort(ev.id);
        process.emitWarning(`simulator listener failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}
