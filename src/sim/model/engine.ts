/**
 * One replica's engine, after vLLM v1's scheduler: an FCFS waiting queue, running requests
 * scheduled first each step, chunked prefill mixed with decodes under a token budget
 * (max_num_batched_tokens) and a sequence cap (max_num_seqs), paged KV blocks with prefix
 * caching, and preemption by recompute of the newest running request when blocks run out.
 *
 * Pure and clock-free: the driver calls `step(now)`, which schedules one batch, advances the
 * state, and says how long the step takes and what happens when it ends. The same core runs in
 * real time behind HTTP and accelerated in capacity studies.
 */
import type { EngineConfig } from "./config.js";
import { KvCache } from "./kv-cache.js";
import { type StepCost, type StepItem, StepTimer } from "./step-time.js";

export interface SimRequestInput {
  id: string;
  promptTokens: number;
  /** Tokens to generate; the request finishes after this many (EOS is the caller's choice of length). */
  maxTokens: number;
  /** The first `tokens` prompt tokens are the same for every request naming this `id`. */
  prefix?: { id: string; tokens: number };
  /** Real prompt token ids, when known: full blocks are hashed from them (vLLM's hash chain). */
  tokenIds?: ArrayLike<number>;
}

export type EngineEvent =
  | { type: "scheduled"; id: string; time: number; cachedTokens: number }
  | { type: "token"; id: string; index: number; time: number }
  | { type: "finished"; id: string; time: number; reason: "length" | "abort" }
  | { type: "preempted"; id: string; time: number };

export interface StepResult {
  start: number;
  duration: number;
  end: number;
  cost: StepCost;
  /** Sequences in the batch, prefill tokens and decode tokens of the step. */
  batch: { seqs: number; prefillTokens: number; decodeTokens: number };
  events: EngineEvent[];
}

/** Cumulative counters, as vLLM exports them. */
export interface EngineCounters {
  promptTokens: number;
  generationTokens: number;
  preemptions: number;
  prefixQueries: number;
  prefixHits: number;
  requestSuccess: number;
  aborted: number;
  steps: number;
}

interface Seq {
  input: SimRequestInput;
  prompt: number;
  generated: number;
  computed: number;
  blocks: number[];
  keys: string[];
  chain: string | undefined;
  everScheduled: boolean;
}

export class RequestRejected extends Error {
  constructor(
    readonly id: string,
    message: string,
  ) {
    super(message);
    this.name = "RequestRejected";
  }
}

/** Two-lane FNV-1a (64 bits) over a block's token ids, chained with the parent block's hash. */
function chainHash(parent: string | undefined, ids: ArrayLike<number>, from: number, to: number): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ to;
  const mix = (x: number) => {
    a = Math.imul(a ^ (x & 0xffff), 0x01000193) >>> 0;
    a = Math.imul(a ^ (x >>> 16), 0x01000193) >>> 0;
    b = Math.imul(b ^ x, 0x5bd1e995) >>> 0;
    b = (b ^ (b >>> 15)) >>> 0;
  };
  // The parent hash is folded in, so equal blocks after different histories differ.
  for (let i = 0; parent && i < parent.length; i++) mix(parent.charCodeAt(i));
  for (let i = from; i < to; i++) mix(ids[i] as number);
  return `t|${a.toString(36)}${b.toString(36)}`;
}

export class EngineCore {
  readonly config: EngineConfig;
  readonly kv: KvCache;
  readonly counters: EngineCounters = {
    promptTokens: 0,
    generationTokens: 0,
    preemptions: 0,
    prefixQueries: 0,
    prefixHits: 0,
    requestSuccess: 0,
    aborted: 0,
    steps: 0,
  };
  private readonly timer: StepTimer;
  private readonly waiting: Seq[] = [];
  private readonly running: Seq[] = [];
  private readonly byId = new Map<string, Seq>();
  private pendingEvents: EngineEvent[] = [];

  constructor(config: EngineConfig) {
    this.config = config;
    this.kv = new KvCache(config.numGpuBlocks, config.blockSize);
    this.timer = new StepTimer(config);
  }

  get numWaiting(): number {
    return this.waiting.length;
  }
  get numRunning(): number {
    return this.running.length;
  }
  get kvUsage(): number {
    return this.kv.usage;
  }
  /** Requests without their first token yet: waiting, or running but still in prefill. */
  get numAwaitingFirstToken(): number {
    let n = this.waiting.length;
    for (const s of this.running) if (s.generated === 0) n++;
    return n;
  }
  hasWork(): boolean {
    return this.waiting.length > 0 || this.running.length > 0 || this.pendingEvents.length > 0;
  }
  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Queues a request; throws RequestRejected when it can never run (too long for the model or the cache). */
  add(input: SimRequestInput): void {
    const { maxModelLen, blockSize } = this.config;
    if (this.byId.has(input.id)) throw new RequestRejected(input.id, `duplicate request id ${input.id}`);
    if (input.promptTokens < 1) throw new RequestRejected(input.id, "the prompt is empty");
    if (!(input.maxTokens >= 1)) throw new RequestRejected(input.id, "max_tokens must be at least 1");
    if (input.promptTokens + 1 > maxModelLen) {
      throw new RequestRejected(
        input.id,
        `This model's maximum context length is ${maxModelLen} tokens. However, you requested ${input.promptTokens + input.maxTokens} tokens (${input.promptTokens} in the messages, ${input.maxTokens} in the completion).`,
      );
    }
    if (Math.ceil((input.promptTokens + 1) / blockSize) > this.kv.numBlocks) {
      throw new RequestRejected(
        input.id,
        `the prompt needs more KV blocks than the cache has (${this.kv.numBlocks})`,
      );
    }
    const seq: Seq = {
      input,
      prompt: input.promptTokens,
      generated: 0,
      computed: 0,
      blocks: [],
      keys: [],
      chain: undefined,
      everScheduled: false,
    };
    this.byId.set(input.id, seq);
    this.waiting.push(seq);
  }

  /** Removes a request wherever it is; its blocks are freed (and stay cached). */
  abort(id: string, now: number): boolean {
    const seq = this.byId.get(id);
    if (!seq) return false;
    this.remove(seq);
    this.counters.aborted++;
    this.pendingEvents.push({ type: "finished", id, time: now, reason: "abort" });
    return true;
  }

  private remove(seq: Seq): void {
    const w = this.waiting.indexOf(seq);
    if (w >= 0) this.waiting.splice(w, 1);
    const r = this.running.indexOf(seq);
    if (r >= 0) this.running.splice(r, 1);
    this.kv.release(seq.blocks);
    seq.blocks = [];
    this.byId.delete(seq.input.id);
  }

  /** Block j's identity for prefix caching. */
  private key(seq: Seq, j: number): string {
    const cached = seq.keys[j];
    if (cached !== undefined) return cached;
    const B = this.config.blockSize;
    const end = (j + 1) * B;
    const { prefix, tokenIds } = seq.input;
    let k: string;
    // Real token ids, when given, are the truth; otherwise the named prefix stands for them.
    if (tokenIds && end <= tokenIds.length)
      k = chainHash(j === 0 ? undefined : this.key(seq, j - 1), tokenIds, j * B, end);
    else if (!tokenIds && prefix && end <= prefix.tokens) k = `p|${prefix.id}|${j}`;
    else k = `r|${seq.input.id}|${j}`;
    seq.keys[j] = k;
    return k;
  }

  private tokens(seq: Seq): number {
    return seq.prompt + seq.generated;
  }

  /** Grows the sequence's blocks to hold `upTo` tokens. */
  private grow(seq: Seq, upTo: number): boolean {
    const need = Math.ceil(upTo / this.config.blockSize) - seq.blocks.length;
    if (need <= 0) return true;
    const got = this.kv.allocate(need);
    if (!got) return false;
    seq.blocks.push(...got);
    return true;
  }

  private preempt(seq: Seq, now: number, events: EngineEvent[]): void {
    const r = this.running.indexOf(seq);
    if (r >= 0) this.running.splice(r, 1);
    this.kv.release(seq.blocks);
    seq.blocks = [];
    seq.computed = 0; // recompute: prompt and tokens generated so far are prefilled again
    this.waiting.unshift(seq);
    this.counters.preemptions++;
    events.push({ type: "preempted", id: seq.input.id, time: now });
  }

  /** Schedules and runs one step starting at `now`; `null` when there is nothing to do. */
  step(now: number): StepResult | null {
    const events: EngineEvent[] = this.pendingEvents;
    this.pendingEvents = [];
    if (this.waiting.length === 0 && this.running.length === 0) return idleStep(now, events);
    const plan: StepPlan = { budget: this.config.maxNumBatchedTokens, scheduled: [], preempted: false };
    this.scheduleRunning(now, plan, events);
    this.scheduleWaiting(now, plan, events);
    // Nothing fits (every block held by waiting-for-nothing state cannot happen with recompute);
    // report the events and let the driver retry later.
    if (plan.scheduled.length === 0) return idleStep(now, events);
    return this.runBatch(now, plan.scheduled, events);
  }

  /** 1. Running requests first, in order; preempt the newest when blocks run out. */
  private scheduleRunning(now: number, plan: StepPlan, events: EngineEvent[]): void {
    for (let i = 0; i < this.running.length && plan.budget > 0; ) {
      const seq = this.running[i] as Seq;
      const n = Math.min(this.tokens(seq) - seq.computed, plan.budget);
      if (!this.growPreempting(seq, n, now, plan, events)) break;
      plan.scheduled.push({ seq, n });
      plan.budget -= n;
      i++;
    }
  }

  /** Grows a running sequence by `n` tokens, preempting from the newest until it fits or is itself preempted. */
  private growPreempting(seq: Seq, n: number, now: number, plan: StepPlan, events: EngineEvent[]): boolean {
    let ok = this.grow(seq, seq.computed + n);
    while (!ok) {
      const victim = this.running[this.running.length - 1] as Seq;
      this.preempt(victim, now, events);
      plan.preempted = true;
      if (victim === seq) break;
      ok = this.grow(seq, seq.computed + n);
    }
    return ok;
  }

  /** 2. Waiting requests, FCFS, while the budget, the sequence cap and the blocks allow. */
  private scheduleWaiting(now: number, plan: StepPlan, events: EngineEvent[]): void {
    const cfg = this.config;
    while (
      !plan.preempted &&
      plan.budget > 0 &&
      this.waiting.length > 0 &&
      this.running.length < cfg.maxNumSeqs
    ) {
      const seq = this.waiting[0] as Seq;
      const hitTokens =
        cfg.enablePrefixCaching && seq.blocks.length === 0 ? this.takePrefixHits(seq, plan.budget) : 0;
      if (hitTokens === null) break;
      const n = Math.min(this.tokens(seq) - seq.computed, plan.budget);
      if (!this.grow(seq, seq.computed + n)) {
        this.kv.release(seq.blocks);
        seq.blocks = [];
        seq.computed = 0;
        break;
      }
      this.waiting.shift();
      this.running.push(seq);
      if (!seq.everScheduled) {
        seq.everScheduled = true;
        this.counters.prefixQueries += seq.prompt;
        this.counters.prefixHits += hitTokens;
        events.push({ type: "scheduled", id: seq.input.id, time: now, cachedTokens: hitTokens });
      }
      plan.scheduled.push({ seq, n });
      plan.budget -= n;
    }
  }

  /** Takes the cached blocks of a waiting sequence's prefix: the tokens they hold, `null` when its fresh blocks do not fit. */
  private takePrefixHits(seq: Seq, budget: number): number | null {
    const B = this.config.blockSize;
    const total = this.tokens(seq);
    // At least one token is always computed, so hits stop before the last one (as vLLM).
    const maxBlocks = Math.floor((total - 1) / B);
    const keys: string[] = [];
    for (let j = 0; j < maxBlocks; j++) keys.push(this.key(seq, j));
    const hitBlocks = this.kv.peekHits(keys);
    const n = Math.min(total - hitBlocks * B, budget);
    const freshBlocks = Math.ceil((hitBlocks * B + n) / B) - hitBlocks;
    if (freshBlocks > this.kv.freeBlocks) return null;
    seq.blocks = this.kv.takeHits(keys.slice(0, hitBlocks));
    const hitTokens = hitBlocks * B;
    seq.computed = hitTokens;
    return hitTokens;
  }

  /** 3. Cost of the batch, then its effects at the end of the step. */
  private runBatch(now: number, scheduled: Scheduled[], events: EngineEvent[]): StepResult {
    const items: StepItem[] = scheduled.map(({ seq, n }) => ({
      tokens: n,
      context: seq.computed,
      decode: seq.generated > 0 && seq.computed === this.tokens(seq) - 1 && n === 1,
      samples: seq.computed + n === this.tokens(seq),
    }));
    const cost = this.timer.cost(items);
    const end = now + cost.seconds;
    let prefillTokens = 0;
    let decodeTokens = 0;
    for (let i = 0; i < scheduled.length; i++) {
      const { seq, n } = scheduled[i] as Scheduled;
      const item = items[i] as StepItem;
      if (item.decode) decodeTokens += n;
      else prefillTokens += n;
      this.advance(seq, n, item, end, events);
    }
    this.counters.steps++;
    return {
      start: now,
      duration: cost.seconds,
      end,
      cost,
      batch: { seqs: scheduled.length, prefillTokens, decodeTokens },
      events,
    };
  }

  /** A scheduled sequence after its step: blocks it filled become cacheable, a sampled token may finish it. */
  private advance(seq: Seq, n: number, item: StepItem, end: number, events: EngineEvent[]): void {
    const B = this.config.blockSize;
    const before = seq.computed;
    seq.computed += n;
    if (this.config.enablePrefixCaching) {
      for (let j = Math.floor(before / B); j < Math.floor(seq.computed / B); j++) {
        this.kv.register(seq.blocks[j] as number, this.key(seq, j));
      }
    }
    if (!item.samples) return;
    if (seq.generated === 0) this.counters.promptTokens += seq.prompt;
    const index = seq.generated;
    seq.generated++;
    this.counters.generationTokens++;
    events.push({ type: "token", id: seq.input.id, index, time: end });
    if (seq.generated >= seq.input.maxTokens || this.tokens(seq) >= this.config.maxModelLen) {
      this.remove(seq);
      this.counters.requestSuccess++;
      events.push({ type: "finished", id: seq.input.id, time: end, reason: "length" });
    }
  }
}

interface Scheduled {
  seq: Seq;
  n: number;
}

/** What one step has scheduled so far: the token budget left, and whether a preemption closed admission. */
interface StepPlan {
  budget: number;
  scheduled: Scheduled[];
  preempted: boolean;
}

/** A step that computes nothing: it only reports pending events, `null` when there are none. */
function idleStep(now: number, events: EngineEvent[]): StepResult | null {
  return events.length
    ? { start: now, duration: 0, end: now, cost: zeroCost(), batch: noBatch(), events }
    : null;
}

const zeroCost = (): StepCost => ({ seconds: 0, computeS: 0, memoryS: 0, commS: 0, overheadS: 0 });
const noBatch = () => ({ seqs: 0, prefillTokens: 0, decodeTokens: 0 });
