/**
 * Runs a workload through N replicas on a virtual clock (discrete events: arrivals and step
 * ends), as fast as the CPU allows. The capacity planner and the calibration tests use it; the
 * HTTP simulator drives the same EngineCore in real time.
 */
import { type EngineConfig, type EngineConfigInput, engineConfig } from "./config.js";
import { EngineCore, type EngineEvent, RequestRejected, type SimRequestInput } from "./engine.js";

export interface WorkloadRequest extends SimRequestInput {
  /** Arrival time, seconds from the start. */
  arrival: number;
}

export interface RequestResult {
  id: string;
  replica: number;
  arrival: number;
  promptTokens: number;
  outputTokens: number;
  /** Prompt tokens served from the prefix cache when first scheduled. */
  cachedTokens: number;
  queueTime: number;
  ttft: number;
  e2e: number;
  /** Gaps between consecutive output tokens, seconds. */
  itl: number[];
  /** Mean time per output token after the first: (e2e − ttft) / (outputTokens − 1). */
  tpot: number;
  preemptions: number;
  rejected?: string;
}

export interface ReplicaSample {
  time: number;
  waiting: number;
  running: number;
  kvUsage: number;
}

export interface FleetView {
  replicas: readonly EngineCore[];
}

/** Picks the replica for a request; default: fewest waiting + running (vLLM-router-like least load). */
export type FleetRouter = (req: WorkloadRequest, fleet: FleetView) => number;

export interface FleetOptions {
  /** One config for every replica, or one per replica. */
  engine: EngineConfigInput | EngineConfig | (EngineConfigInput | EngineConfig)[];
  replicas?: number;
  router?: FleetRouter;
  /** Time-series sampling interval, virtual seconds (0 = no series). */
  sampleInterval?: number;
  /** Stop after this much virtual time even if work remains. */
  maxTime?: number;
}

export interface FleetResult {
  requests: RequestResult[];
  series: ReplicaSample[][];
  /** Virtual time when the last request finished. */
  makespan: number;
  counters: EngineCore["counters"][];
  steps: number;
}

const isConfig = (c: EngineConfigInput | EngineConfig): c is EngineConfig =>
  typeof c.model === "object" &&
  "numGpuBlocks" in c &&
  typeof c.numGpuBlocks === "number" &&
  "efficiency" in c;

export const leastLoaded: FleetRouter = (_req, fleet) => {
  let best = 0;
  let bestLoad = Number.POSITIVE_INFINITY;
  fleet.replicas.forEach((r, i) => {
    const load = r.numWaiting + r.numRunning;
    if (load < bestLoad) {
      best = i;
      bestLoad = load;
    }
  });
  return best;
};

export function simulateFleet(workload: readonly WorkloadRequest[], options: FleetOptions): FleetResult {
  const list = Array.isArray(options.engine)
    ? options.engine
    : Array.from({ length: options.replicas ?? 1 }, () => options.engine as EngineConfigInput | EngineConfig);
  const configs = list.map((c) => (isConfig(c) ? c : engineConfig(c)));
  const engines = configs.map((c) => new EngineCore(c));
  const view: FleetView = { replicas: engines };
  const route = options.router ?? leastLoaded;
  const sampleInterval = options.sampleInterval ?? 0;
  const maxTime = options.maxTime ?? Number.POSITIVE_INFINITY;

  const arrivals = [...workload].sort((a, b) => a.arrival - b.arrival);
  const results = new Map<string, RequestResult & { lastToken: number }>();
  const busyUntil: (number | null)[] = engines.map(() => null);
  const series: ReplicaSample[][] = engines.map(() => []);
  const nextSample: number[] = engines.map(() => 0);
  let next = 0;
  let steps = 0;
  let makespan = 0;

  const apply = (events: EngineEvent[]) => {
    for (const ev of events) {
      const r = results.get(ev.id);
      if (!r) continue;
      if (ev.type === "scheduled") {
        r.queueTime = ev.time - r.arrival;
        r.cachedTokens = ev.cachedTokens;
      } else if (ev.type === "preempted") r.preemptions++;
      else if (ev.type === "token") {
        if (ev.index === 0) r.ttft = ev.time - r.arrival;
        else r.itl.push(ev.time - r.lastToken);
        r.lastToken = ev.time;
        r.outputTokens = ev.index + 1;
      } else if (ev.type === "finished") {
        r.e2e = ev.time - r.arrival;
        makespan = Math.max(makespan, ev.time);
      }
    }
  };
  const sample = (i: number, t: number) => {
    if (sampleInterval <= 0 || t < (nextSample[i] as number)) return;
    const e = engines[i] as EngineCore;
    series[i]?.push({ time: t, waiting: e.numWaiting, running: e.numRunning, kvUsage: e.kvUsage });
    nextSample[i] = t + sampleInterval;
  };
  const startStep = (i: number, t: number) => {
    const e = engines[i] as EngineCore;
    const res = e.step(t);
    if (!res) {
      busyUntil[i] = null;
      return;
    }
    steps++;
    apply(res.events);
    sample(i, t);
    // A step that scheduled nothing (all blocks pinned) waits for the next arrival instead of spinning.
    busyUntil[i] = res.duration > 0 ? res.end : null;
  };

  for (;;) {
    let replica = -1;
    let stepEnd = Number.POSITIVE_INFINITY;
    busyUntil.forEach((t, i) => {
      if (t !== null && t < stepEnd) {
        stepEnd = t;
        replica = i;
      }
    });
    const arrival = arrivals[next];
    if (arrival === undefined && replica < 0) break;
    if (arrival !== undefined && arrival.arrival <= stepEnd) {
      next++;
      const i = route(arrival, view);
      const result = {
        id: arrival.id,
        replica: i,
        arrival: arrival.arrival,
        promptTokens: arrival.promptTokens,
        outputTokens: 0,
        cachedTokens: 0,
        queueTime: Number.NaN,
        ttft: Number.NaN,
        e2e: Number.NaN,
        itl: [],
        tpot: Number.NaN,
        preemptions: 0,
        lastToken: 0,
      };
      results.set(arrival.id, result);
      try {
        engines[i]?.add(arrival);
      } catch (err) {
        if (!(err instanceof RequestRejected)) throw err;
        Object.assign(result, { rejected: err.message });
        continue;
      }
      if (busyUntil[i] === null) startStep(i, arrival.arrival);
      continue;
    }
    if (stepEnd > maxTime) break;
    startStep(replica, stepEnd);
  }

  const requests = [...results.values()].map(({ lastToken: _, ...r }) => ({
    ...r,
    tpot: r.outputTokens > 1 ? (r.e2e - r.ttft) / (r.outputTokens - 1) : 0,
  }));
  return { requests, series, makespan, counters: engines.map((e) => ({ ...e.counters })), steps };
}
