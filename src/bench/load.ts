/**
 * The load loop. Open loop: sessions start at scheduled moments (Poisson or uniform arrivals at
 * `rate`/s; `Infinity` starts them all at once), whatever the server does, so a slow server does
 * not slow the offered load; how late each send was against its schedule is recorded apart.
 * Closed loop: `concurrency` workers each start the next session when theirs is done. A session's
 * turns follow each other (after an exponential think time); single-turn workloads make the rate
 * a request rate.
 *
 * With several targets (`--compare`), every target gets the same sessions: on one schedule in the
 * open loop (both dispatched at each arrival, first one target first, then the other), and with
 * its own `concurrency` workers, running at the same time, in the closed loop.
 *
 * The first `warmup` sessions (or those starting in the first `warmupMs`) are sent but not
 * measured. The run ends after `sessions` sessions, or at `durationMs`: no session starts after
 * it, and a timed run measures the requests that complete between the warm-up and that moment
 * (the window is exactly `durationMs` − `warmupMs`), as wrk counts; those still in flight finish
 * unmeasured.
 */
import { rng } from "../sim/model/workload.js";
import { Client, type RequestResult, type Target } from "./client.js";
import type { ChatMessage, Session, Workload } from "./workload.js";

export type LoadMode =
  | { kind: "open"; rate: number; arrivals: "poisson" | "uniform" }
  | { kind: "closed"; concurrency: number };

export interface LoadPlan {
  targets: Target[];
  workload: Workload;
  mode: LoadMode;
  /** Sessions sent before measuring (not counted). */
  warmupSessions?: number;
  /** Or: sessions starting in this first stretch are not counted. */
  warmupMs?: number;
  /** Stop starting sessions after this long (ms); without it every session of the workload runs. */
  durationMs?: number;
  /** Most connections per target (open loop; default 1,024). */
  maxConnections?: number;
  seed?: number;
  /** Called for every finished request, measured or not. */
  onRecord?: (r: RequestRecord) => void;
  /** Stops starting new sessions when aborted; requests in flight finish. */
  signal?: AbortSignal;
}

export interface RequestRecord extends RequestResult {
  /** Index of the target in the plan. */
  target: number;
  session: string;
  turn: number;
  measured: boolean;
  /** When it was sent, ms since the run started. */
  startMs: number;
  /** Open loop, first turn: how late the send was against its schedule, ms. */
  lagMs?: number;
  /** Tokens of the prompt as sent, counted here (system prompt and history included, no chat template). */
  inputTokens: number;
}

export interface LoadResult {
  records: RequestRecord[];
  /** Per target: first measured send → last measured end, ms. */
  windowMs: number[];
  wallMs: number;
  /** CPU time of this process over the run, µs (user + system). */
  clientCpuUs: number;
  aborted: boolean;
}

export async function runLoad(plan: LoadPlan): Promise<LoadResult> {
  const { targets, workload, mode } = plan;
  if (targets.length === 0) throw new Error("no target");
  const conns =
    mode.kind === "closed" ? mode.concurrency : Math.min(plan.maxConnections ?? 1024, workload.size);
  const clients = targets.map((t) => new Client(t, Math.max(1, conns)));
  const records: RequestRecord[] = [];
  const seed = plan.seed ?? 1;
  const think = rng(seed ^ 0x7f4a7c15);
  const warmN = plan.warmupSessions ?? 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const durationEnd = plan.durationMs === undefined ? Number.POSITIVE_INFINITY : t0 + plan.durationMs;
  const measuredFrom = t0 + (plan.warmupMs ?? 0);
  // A timed run measures what completes inside its window, as wrk does; a run of N requests
  // measures those N, from the first send to the last end (as vLLM's benchmark does).
  const timed = plan.durationMs !== undefined;
  const stopped = () => plan.signal?.aborted === true;
  const isMeasured = (sentAt: number, end: number) =>
    timed ? end >= measuredFrom && end <= durationEnd : sentAt >= measuredFrom;
  // A timed run's window has closed: later turns would not be measured.
  const windowClosed = () => stopped() || performance.now() >= durationEnd;

  const runSession = async (ti: number, index: number, scheduled?: number): Promise<void> => {
    const s = workload.at(index);
    const client = clients[ti] as Client;
    const sentAt = performance.now();
    const counted = index >= warmN;
    const history: ChatMessage[] = s.system ? [{ role: "system", content: s.system.text }] : [];
    let historyTokens = s.system?.tokens ?? 0;
    const multi = s.turns.length > 1;
    for (let k = 0; k < s.turns.length; k++) {
      const turn = s.turns[k] as Session["turns"][number];
      const messages: ChatMessage[] = [...history, { role: "user", content: turn.prompt }];
      const prompt = multi || s.system ? joinedPrompt(messages) : turn.prompt;
      const body = client.body(messages, prompt, turn.maxTokens);
      const start = performance.now();
      const res = await client.send(body, multi);
      const end = performance.now();
      const rec: RequestRecord = {
        ...res,
        target: ti,
        session: s.id,
        turn: k,
        measured: counted && isMeasured(sentAt, end),
        startMs: start - t0,
        inputTokens: historyTokens + turn.promptTokens,
      };
      if (k === 0 && scheduled !== undefined) rec.lagMs = sentAt - scheduled;
      rec.text = undefined;
      records.push(rec);
      plan.onRecord?.(rec);
      if (!res.ok || k === s.turns.length - 1) break;
      history.push({ role: "user", content: turn.prompt }, { role: "assistant", content: res.text ?? "" });
      historyTokens += turn.promptTokens + res.outputTokens;
      if (s.thinkMs > 0) await sleep(-Math.log(1 - think()) * s.thinkMs);
      if (windowClosed()) break;
    }
  };

  const all: Promise<void>[] = [];
  if (mode.kind === "open") {
    const rand = rng(seed);
    const n = plan.durationMs === undefined ? workload.size : Number.POSITIVE_INFINITY;
    const finite = Number.isFinite(mode.rate);
    const gap = () =>
      mode.arrivals === "uniform" ? 1000 / mode.rate : (-Math.log(1 - rand()) * 1000) / mode.rate;
    let next = t0;
    let i = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        while (i < n && (next <= now || !finite) && next < durationEnd && !stopped()) {
          for (let j = 0; j < clients.length; j++) {
            const ti = (i + j) % clients.length;
            all.push(runSession(ti, i, next));
          }
          i++;
          if (finite) next += gap();
        }
        if (i >= n || next >= durationEnd || stopped()) resolve();
        else setTimeout(tick, Math.max(0, next - performance.now()));
      };
      tick();
    });
  } else {
    const nextIndex = Array.from(clients, () => 0);
    const limit = plan.durationMs === undefined ? workload.size : Number.POSITIVE_INFINITY;
    for (let ti = 0; ti < clients.length; ti++) {
      for (let w = 0; w < mode.concurrency; w++) {
        all.push(
          (async () => {
            for (;;) {
              const idx = nextIndex[ti] as number;
              if (idx >= limit || performance.now() >= durationEnd || stopped()) return;
              nextIndex[ti] = idx + 1;
              await runSession(ti, idx);
            }
          })(),
        );
      }
    }
  }
  await Promise.all(all);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(clients.map((c) => c.close()));
  const windowMs = targets.map((_, ti) => {
    if (timed) return Math.max(0, durationEnd - measuredFrom);
    let from = Number.POSITIVE_INFINITY;
    let to = 0;
    for (const r of records) {
      if (r.target !== ti || !r.measured) continue;
      from = Math.min(from, r.startMs);
      to = Math.max(to, r.startMs + (Number.isFinite(r.e2eMs) ? r.e2eMs : 0));
    }
    return to > from ? to - from : 0;
  });
  return { records, windowMs, wallMs, clientCpuUs: cpu.user + cpu.system, aborted: stopped() };
}

/** The conversation as one prompt, for completions-style targets. */
const joinedPrompt = (messages: ChatMessage[]): string => messages.map((m) => m.content).join("\n");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
