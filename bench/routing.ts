/**
 * Does the balancer matter? Four simulated vLLM replicas (Llama-3.1-8B on H100-80GB, one
 * `inferplane sim --replicas 4` process), `inferplane serve` in its own process with one route
 * whose `balancer:` is, in turn, round-robin, least-request, load-aware and prefix-affinity —
 * sims and gateway restarted for each, so every strategy starts with cold prefix caches.
 *
 * Workloads (seeded; times are the simulator's virtual seconds, `--speed` × real time):
 * - `shared`: multi-turn chat over shared system prompts. `--system-prompts` prompts of
 *   about `--system-tokens` tokens; sessions arrive as a Poisson process; each picks a system
 *   prompt, sends `--turns-min`…`--turns-max` turns, each turn's messages being the system
 *   prompt, all previous turns (the replies as the server sent them) and a new user message;
 *   the next turn follows the reply after an exponential think time.
 * - `random`: single requests with unique random prompts (no shared prefix), Poisson arrivals.
 * The rate of each workload is `--load` (0.8) × the fleet's saturated throughput for that
 * request mix under round-robin, computed beforehand by the simulator's engine model
 * (src/sim/model, the code the HTTP sim runs): the same requests, all at once, through
 * `simulateFleet`.
 *
 * Measured (requests sent in the window after `--warmup`): TTFT p50/p99 (streaming), E2E,
 * throughput, the prefix-cache hit rate (Δ`vllm:prefix_cache_hits_total` /
 * Δ`vllm:prefix_cache_queries_total` over the replicas, both in tokens), each replica's share
 * of requests, and the gateway's balancer fallbacks.
 *
 *   npm run build && node --import tsx bench/routing.ts [--workloads shared,random]
 *     [--strategies round-robin,least-request,load-aware,prefix-affinity] [--duration 60]
 *     [--warmup 20] [--speed 1] [--load 0.8] [--json FILE]
 */

import { setMaxListeners } from "node:events";
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { Client } from "../src/bench/client.js";
import { mean, percentile } from "../src/bench/stats.js";
import type { ChatMessage } from "../src/bench/workload.js";
import { PREFILL_WEIGHT } from "../src/gateway/routing/balancers/least-request.js";
import type { EngineCore } from "../src/sim/model/engine.js";
import { type FleetRouter, simulateFleet, type WorkloadRequest } from "../src/sim/model/fleet.js";
import { rng } from "../src/sim/model/workload.js";
import { resolveSimOptions } from "../src/sim/server.js";
import { chatPromptIds, pseudoText } from "../src/sim/text.js";
import { type BalancerName, startGatewayProcess } from "./lib/gateway-process.js";
import {
  CLI,
  freePort,
  gitRevision,
  httpReady,
  progress,
  type Service,
  spawnService,
  stopAll,
} from "./lib/procs.js";

const { values } = parseArgs({
  options: {
    workloads: { type: "string", default: "shared,random" },
    strategies: { type: "string", default: "round-robin,least-request,load-aware,prefix-affinity" },
    duration: { type: "string", default: "60" },
    warmup: { type: "string", default: "20" },
    speed: { type: "string", default: "1" },
    load: { type: "string", default: "0.8" },
    rate: { type: "string" },
    replicas: { type: "string", default: "4" },
    model: { type: "string", default: "llama-3.1-8b" },
    gpu: { type: "string", default: "H100-80GB" },
    quantization: { type: "string" },
    "num-gpu-blocks": { type: "string" },
    "system-prompts": { type: "string", default: "16" },
    "system-tokens": { type: "string", default: "1500" },
    "turns-min": { type: "string", default: "4" },
    "turns-max": { type: "string", default: "8" },
    "user-tokens": { type: "string", default: "150" },
    "reply-tokens": { type: "string", default: "120" },
    think: { type: "string", default: "2" },
    "random-prompt-tokens": { type: "string", default: "1000" },
    seed: { type: "string", default: "1" },
    "sim-cpu": { type: "string" },
    "gateway-cpu": { type: "string" },
    json: { type: "string" },
  },
});

const speed = Number(values.speed);
const durationV = Number(values.duration);
const warmupV = Number(values.warmup);
const load = Number(values.load);
const replicas = Number(values.replicas);
const seed = Number(values.seed);
const ROUTE = "llama";
const W = {
  systemPrompts: Number(values["system-prompts"]),
  systemTokens: Number(values["system-tokens"]),
  turnsMin: Number(values["turns-min"]),
  turnsMax: Number(values["turns-max"]),
  userTokens: Number(values["user-tokens"]),
  replyTokens: Number(values["reply-tokens"]),
  think: Number(values.think),
  randomPromptTokens: Number(values["random-prompt-tokens"]),
};
/** Engine flags given to every replica (and to the capacity model, so both see the same engine). */
const simFlags = [
  ...(values.quantization ? ["--quantization", values.quantization] : []),
  ...(values["num-gpu-blocks"] ? ["--num-gpu-blocks", values["num-gpu-blocks"]] : []),
];
const simSetup = resolveSimOptions({
  model: values.model as string,
  gpu: values.gpu as string,
  ...(values.quantization ? { quantization: values.quantization } : {}),
  ...(values["num-gpu-blocks"] ? { numGpuBlocks: Number(values["num-gpu-blocks"]) } : {}),
});
const strategies = (values.strategies ?? "").split(",").filter(Boolean) as BalancerName[];
const workloads = (values.workloads ?? "")
  .split(",")
  .filter((w): w is "shared" | "random" => w === "shared" || w === "random");

// ---------------------------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------------------------

/** Common words, each one cl100k token with its leading space: n words ≈ n tokens. */
const VOCAB = (
  " the of and to in is was for on that with as by at from it an be this are or his her they we you" +
  " time people year way day man thing woman life child world school state family student group country" +
  " problem hand part place case week company system program question work government number night point" +
  " home water room mother area money story fact month lot right study book eye job word business issue"
)
  .split(" ")
  .filter(Boolean)
  .map((w) => ` ${w}`);

function words(n: number, rand: () => number): string {
  let out = "";
  for (let i = 0; i < n; i++) out += VOCAB[Math.floor(rand() * VOCAB.length)] as string;
  return out;
}

/** Log-normal around `mean` (σ 0.5), clipped to [lo, hi]. */
function lognormal(meanV: number, rand: () => number, lo: number, hi: number): number {
  const sigma = 0.5;
  const u = Math.max(rand(), 1e-12);
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  const x = Math.round(Math.exp(Math.log(meanV) - (sigma * sigma) / 2 + sigma * z));
  return Math.min(hi, Math.max(lo, x));
}

interface Session {
  id: number;
  start: number;
  system: number;
  user: string[];
  reply: number[];
  think: number[];
}

interface SingleRequest {
  id: number;
  at: number;
  prompt: string;
  maxTokens: number;
}

function systemPrompts(): string[] {
  const rand = rng(seed * 7919);
  return Array.from(
    { length: W.systemPrompts },
    (_, i) =>
      `System prompt ${i}: you are assistant number ${i} of the support desk; answer in the voice and rules below.` +
      words(W.systemTokens - 24, rand),
  );
}

function makeSession(id: number, start: number, rand: () => number): Session {
  const turns = W.turnsMin + Math.floor(rand() * (W.turnsMax - W.turnsMin + 1));
  const s: Session = {
    id,
    start,
    system: Math.floor(rand() * W.systemPrompts),
    user: [],
    reply: [],
    think: [],
  };
  for (let k = 0; k < turns; k++) {
    s.user.push(`User ${id}, turn ${k}:${words(lognormal(W.userTokens, rand, 16, 4 * W.userTokens), rand)}`);
    s.reply.push(lognormal(W.replyTokens, rand, 8, 4 * W.replyTokens));
    s.think.push(-Math.log(1 - rand()) * W.think);
  }
  return s;
}

/** Sessions starting as a Poisson process of `rate` per (virtual) second over [0, until). */
function sessionsAt(rate: number, until: number, s0: number): Session[] {
  const rand = rng(s0);
  const out: Session[] = [];
  for (let t = -Math.log(1 - rand()) / rate; t < until; t += -Math.log(1 - rand()) / rate) {
    out.push(makeSession(out.length, t, rand));
  }
  return out;
}

function randomRequests(rate: number, until: number, s0: number): SingleRequest[] {
  const rand = rng(s0);
  const out: SingleRequest[] = [];
  for (let t = -Math.log(1 - rand()) / rate; t < until; t += -Math.log(1 - rand()) / rate) {
    const id = out.length;
    out.push({
      id,
      at: t,
      prompt: `Request ${id} (${Math.floor(rand() * 1e9)}):${words(lognormal(W.randomPromptTokens, rand, 32, 4 * W.randomPromptTokens), rand)}`,
      maxTokens: lognormal(W.replyTokens, rand, 8, 4 * W.replyTokens),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Capacity from the engine model
// ---------------------------------------------------------------------------------------------

/** Saturated throughput (req/s) of the fleet for these requests, all sent at once, round-robin. */
function burstCapacity(requests: { messages: ChatMessage[]; maxTokens: number }[]): number {
  const work: WorkloadRequest[] = requests.map((r, i) => {
    const ids = chatPromptIds(r.messages);
    return { id: `c${i}`, arrival: 0, promptTokens: ids.length, maxTokens: r.maxTokens, tokenIds: ids };
  });
  let next = 0;
  const res = simulateFleet(work, {
    engine: simSetup.config,
    replicas,
    router: () => next++ % replicas,
  });
  const done = res.requests.filter((r) => !r.rejected).length;
  return done / res.makespan;
}

function sharedCapacity(prompts: string[]): { capacity: number; meanTurns: number } {
  const sample = sessionsAt(1, 100, seed + 1000).slice(0, 96);
  const reqs: { messages: ChatMessage[]; maxTokens: number }[] = [];
  for (const s of sample) {
    const history: ChatMessage[] = [{ role: "system", content: prompts[s.system] as string }];
    s.user.forEach((u, k) => {
      history.push({ role: "user", content: u });
      reqs.push({ messages: [...history], maxTokens: s.reply[k] as number });
      history.push({ role: "assistant", content: pseudoText(s.id * 100 + k, s.reply[k] as number) });
    });
  }
  return { capacity: burstCapacity(reqs), meanTurns: (W.turnsMin + W.turnsMax) / 2 };
}

/**
 * The random workload through the engine model alone (no HTTP, no gateway): the same requests at
 * the same arrival times, placed by simple routers. Tells placement effects of the engines from
 * effects of the gateway. TTFT p50/p99 in seconds over the measured window.
 */
function modelCheckRandom(rate: number): { router: string; ttftP50: number; ttftP99: number }[] {
  const reqs = randomRequests(rate, warmupV + durationV, seed);
  const work: WorkloadRequest[] = reqs.map((q) => {
    const ids = chatPromptIds([{ role: "user", content: q.prompt }]);
    return { id: `m${q.id}`, arrival: q.at, promptTokens: ids.length, maxTokens: q.maxTokens, tokenIds: ids };
  });
  const rand = rng(seed + 17);
  const load = (e: { numWaiting: number; numRunning: number }) => e.numWaiting + e.numRunning;
  const weighted = (e: EngineCore) => load(e) + PREFILL_WEIGHT * e.numAwaitingFirstToken;
  let next = 0;
  const routers: Record<string, FleetRouter> = {
    "round-robin": () => next++ % replicas,
    "uniform random (what a hash of unique prompts amounts to)": () => Math.floor(rand() * replicas),
    "two random choices, fewer waiting + running": (_q, f) => {
      const a = Math.floor(rand() * replicas);
      let b = Math.floor(rand() * (replicas - 1));
      if (b >= a) b++;
      return load(f.replicas[b] as EngineCore) < load(f.replicas[a] as EngineCore) ? b : a;
    },
    "fewest waiting + running of all": (_q, f) => {
      let best = 0;
      f.replicas.forEach((e, i) => {
        if (load(e) < load(f.replicas[best] as EngineCore)) best = i;
      });
      return best;
    },
    // What the gateway's balancers do now (src/gateway/routing/balancers), in engine terms: a
    // request awaiting its first token is one queued or in prefill.
    "least-request now: two choices {next in rotation, random}, in flight + 8 × awaiting first token": (
      _q,
      f,
    ) => {
      const a = next++ % replicas;
      let b = Math.floor(rand() * (replicas - 1));
      if (b >= a) b++;
      return weighted(f.replicas[b] as EngineCore) < weighted(f.replicas[a] as EngineCore) ? b : a;
    },
    "load-aware now: queue = in flight + 8 × awaiting, minus KV usage, ties in rotation": (_q, f) => {
      const start = next++ % replicas;
      let mn = Number.POSITIVE_INFINITY;
      let mx = Number.NEGATIVE_INFINITY;
      for (const e of f.replicas) {
        mn = Math.min(mn, weighted(e));
        mx = Math.max(mx, weighted(e));
      }
      const score = (e: EngineCore) => (mx > mn ? 1 - (weighted(e) - mn) / (mx - mn) : 1) + (1 - e.kvUsage);
      let best = start;
      for (let k = 1; k < replicas; k++) {
        const i = (start + k) % replicas;
        if (score(f.replicas[i] as EngineCore) > score(f.replicas[best] as EngineCore) + 1e-9) best = i;
      }
      return best;
    },
    "prefix-affinity now (every key new): its hash's replica unless one awaits its first token there, else the fewest such":
      (_q, f) => {
        const home = Math.floor(rand() * replicas);
        if ((f.replicas[home] as EngineCore).numAwaitingFirstToken === 0) return home;
        const start = next++ % replicas;
        let best = start;
        for (let k = 1; k < replicas; k++) {
          const i = (start + k) % replicas;
          if (
            (f.replicas[i] as EngineCore).numAwaitingFirstToken <
            (f.replicas[best] as EngineCore).numAwaitingFirstToken
          )
            best = i;
        }
        return best;
      },
  };
  return Object.entries(routers).map(([router, route]) => {
    next = 0;
    const res = simulateFleet(work, { engine: simSetup.config, replicas, router: route });
    const ttfts = res.requests.filter((r) => r.arrival >= warmupV && !r.rejected).map((r) => r.ttft);
    return { router, ttftP50: percentile(ttfts, 50), ttftP99: percentile(ttfts, 99) };
  });
}

function randomCapacity(): number {
  const sample = randomRequests(1, 600, seed + 2000).slice(0, 512);
  return burstCapacity(
    sample.map((r) => ({ messages: [{ role: "user", content: r.prompt }], maxTokens: r.maxTokens })),
  );
}

// ---------------------------------------------------------------------------------------------
// Running one strategy
// ---------------------------------------------------------------------------------------------

interface Rec {
  /** Virtual seconds from the start of the run when the request was sent. */
  sent: number;
  ok: boolean;
  ttft: number;
  e2e: number;
  promptTokens: number;
  cachedTokens: number;
  outputTokens: number;
  turn: number;
  error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

async function scrape(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return res.text();
}

/** Sum of a metric family's samples (any labels) in Prometheus text. */
function metricSum(text: string, name: string): number {
  let sum = 0;
  const re = new RegExp(`^${name.replace(/[.:]/g, (c) => `\\${c}`)}(?:\\{[^}]*\\})? (\\S+)`, "gm");
  for (let m = re.exec(text); m; m = re.exec(text)) sum += Number(m[1]);
  return sum;
}

interface ReplicaCounters {
  hits: number;
  queries: number;
  success: number;
  promptTokens: number;
}

async function replicaCounters(urls: readonly string[]): Promise<ReplicaCounters[]> {
  return Promise.all(
    urls.map(async (u) => {
      const t = await scrape(`${u}/metrics`);
      return {
        hits: metricSum(t, "vllm:prefix_cache_hits_total"),
        queries: metricSum(t, "vllm:prefix_cache_queries_total"),
        success: metricSum(t, "vllm:request_success_total"),
        promptTokens: metricSum(t, "vllm:prompt_tokens_total"),
      };
    }),
  );
}

async function startSims(): Promise<{ service: Service; urls: string[] }> {
  // Consecutive free ports: try a few bases.
  for (let attempt = 0; attempt < 5; attempt++) {
    const base = await freePort();
    if (base + replicas > 65_000) continue;
    const urls = Array.from({ length: replicas }, (_, i) => `http://127.0.0.1:${base + i}`);
    try {
      const service = await spawnService({
        name: "sim",
        cmd: process.execPath,
        args: [
          CLI,
          "sim",
          "--model",
          values.model as string,
          "--gpu",
          values.gpu as string,
          "--replicas",
          String(replicas),
          "--speed",
          String(speed),
          "--port",
          String(base),
          ...simFlags,
        ],
        ...(values["sim-cpu"] ? { cpu: values["sim-cpu"] } : {}),
        ready: async () => {
          for (const u of urls) if (!(await httpReady(`${u}/health`)())) return false;
          return true;
        },
      });
      return { service, urls };
    } catch (err) {
      progress(
        `sim start failed on ports ${base}…: ${err instanceof Error ? err.message.slice(0, 200) : err}`,
      );
    }
  }
  throw new Error("could not start the simulator");
}

interface RunResult {
  workload: "shared" | "random";
  strategy: BalancerName;
  rate: number;
  sent: number;
  ok: number;
  failed: number;
  firstError?: string;
  ttftP50: number;
  ttftP90: number;
  ttftP99: number;
  ttftMean: number;
  e2eP50: number;
  throughputRps: number;
  outputTokS: number;
  hitRate: number;
  cachedShare: number;
  replicaShare: number[];
  balancerFallbacks: Record<string, number>;
  simLagP99Ms: number;
  wallSeconds: number;
}

async function runOne(
  workload: "shared" | "random",
  strategy: BalancerName,
  rate: number,
  prompts: string[],
  meanTurns: number,
): Promise<RunResult> {
  const sims = await startSims();
  const port = await freePort();
  const gw = await startGatewayProcess(
    {
      route: ROUTE,
      source: "hf://meta-llama/Llama-3.1-8B-Instruct",
      endpoints: sims.urls,
      balancer: strategy,
    },
    { port, ...(values["gateway-cpu"] ? { cpu: values["gateway-cpu"] } : {}) },
  );
  try {
    const before = await replicaCounters(sims.urls);
    await scrape(`${sims.urls[0]}/sim/process-metrics`).catch(() => ""); // resets the lag window
    const recs: Rec[] = [];
    const sendEnd = warmupV + durationV;
    const realMs = (v: number) => (v / speed) * 1000;
    const t0 = performance.now();
    const nowV = () => ((performance.now() - t0) / 1000) * speed;
    const stop = new AbortController();
    setMaxListeners(0, stop.signal); // one listener per request in flight
    const drainMs = Math.max(60_000, realMs(durationV) / 2);
    const killer = setTimeout(() => stop.abort(), realMs(sendEnd) + drainMs);
    const tick = setInterval(() => {
      const m = recs.filter((r) => r.sent >= warmupV);
      progress(
        `  ${workload}/${strategy}: t=${nowV().toFixed(0)} s (virtual), ${recs.length} done, TTFT p50 so far ${(
          percentile(
            m.filter((r) => r.ok).map((r) => r.ttft),
            50,
          ) * 1000
        ).toFixed(0)} ms`,
      );
    }, 15_000);
    const client = new Client(
      {
        url: gw.url,
        model: ROUTE,
        api: "chat",
        stream: true,
        headers: {},
        extraBody: { ignore_eos: true },
        timeoutMs: 600_000,
      },
      1024,
    );
    clients.push(client);
    const send = async (messages: ChatMessage[], maxTokens: number, turn: number) => {
      const sent = nowV();
      const r = await client.send(client.body(messages, "", maxTokens), true, stop.signal);
      recs.push({
        sent,
        ok: r.ok,
        ttft: (r.ttftMs / 1000) * speed,
        e2e: (r.e2eMs / 1000) * speed,
        promptTokens: r.promptTokens,
        cachedTokens: r.cachedTokens,
        outputTokens: r.outputTokens,
        turn,
        ...(r.error ? { error: r.error } : {}),
      });
      return r;
    };
    if (workload === "shared") {
      const sessions = sessionsAt(rate / meanTurns, sendEnd, seed);
      await Promise.all(
        sessions.map(async (s) => {
          await sleep(t0 + realMs(s.start) - performance.now());
          const history: ChatMessage[] = [{ role: "system", content: prompts[s.system] as string }];
          for (let k = 0; k < s.user.length; k++) {
            if (nowV() >= sendEnd || stop.signal.aborted) return;
            history.push({ role: "user", content: s.user[k] as string });
            const r = await send([...history], s.reply[k] as number, k);
            if (!r.ok) return;
            history.push({ role: "assistant", content: r.text ?? "" });
            await sleep(realMs(s.think[k] as number));
          }
        }),
      );
    } else {
      const reqs = randomRequests(rate, sendEnd, seed);
      await Promise.all(
        reqs.map(async (q) => {
          await sleep(t0 + realMs(q.at) - performance.now());
          if (stop.signal.aborted) return;
          await send([{ role: "user", content: q.prompt }], q.maxTokens, 0);
        }),
      );
    }
    clearTimeout(killer);
    clearInterval(tick);
    const wallSeconds = (performance.now() - t0) / 1000;
    const after = await replicaCounters(sims.urls);
    const lagText = await scrape(`${sims.urls[0]}/sim/process-metrics`).catch(() => "");
    const gwMetrics = await scrape(`${gw.url}/metrics`).catch(() => "");
    const fallbacks: Record<string, number> = {};
    for (const m of gwMetrics.matchAll(
      /^inferplane_gateway_balancer_fallbacks_total\{[^}]*reason="([^"]+)"[^}]*\} (\S+)/gm,
    )) {
      fallbacks[m[1] as string] = (fallbacks[m[1] as string] ?? 0) + Number(m[2]);
    }
    const measured = recs.filter((r) => r.sent >= warmupV && r.sent < sendEnd);
    const ok = measured.filter((r) => r.ok);
    const ttfts = ok.map((r) => r.ttft);
    const dHits = after.reduce((s, a, i) => s + a.hits - (before[i]?.hits ?? 0), 0);
    const dQueries = after.reduce((s, a, i) => s + a.queries - (before[i]?.queries ?? 0), 0);
    const dSuccess = after.map((a, i) => a.success - (before[i]?.success ?? 0));
    const totalSuccess = dSuccess.reduce((s, x) => s + x, 0);
    const failedRec = measured.find((r) => !r.ok);
    return {
      workload,
      strategy,
      rate,
      sent: measured.length,
      ok: ok.length,
      failed: measured.length - ok.length,
      ...(failedRec?.error ? { firstError: failedRec.error } : {}),
      ttftP50: percentile(ttfts, 50),
      ttftP90: percentile(ttfts, 90),
      ttftP99: percentile(ttfts, 99),
      ttftMean: mean(ttfts),
      e2eP50: percentile(
        ok.map((r) => r.e2e),
        50,
      ),
      throughputRps: ok.length / durationV,
      outputTokS: ok.reduce((s, r) => s + r.outputTokens, 0) / durationV,
      hitRate: dQueries > 0 ? dHits / dQueries : 0,
      cachedShare:
        ok.reduce((s, r) => s + r.cachedTokens, 0) /
        Math.max(
          1,
          ok.reduce((s, r) => s + r.promptTokens, 0),
        ),
      replicaShare: dSuccess.map((x) => (totalSuccess > 0 ? x / totalSuccess : 0)),
      balancerFallbacks: fallbacks,
      simLagP99Ms:
        Number(/^nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? (\S+)/m.exec(lagText)?.[1] ?? Number.NaN) *
        1000,
      wallSeconds,
    };
  } finally {
    await gw.stop(1_000);
    await sims.service.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

const prompts = systemPrompts();
const results: RunResult[] = [];
/** Each strategy run's HTTP client (one connection pool per gateway), closed at the end. */
const clients: Client[] = [];
const capacities: Record<string, { capacity: number; rate: number }> = {};
const modelChecks: { random?: ReturnType<typeof modelCheckRandom> } = {};
try {
  for (const workload of workloads) {
    let capacity: number;
    let meanTurns = 1;
    progress(
      `${workload}: fleet capacity from the engine model (${replicas} × ${values.model} on ${values.gpu}, ${simSetup.config.numGpuBlocks} KV blocks each)…`,
    );
    if (workload === "shared") {
      const c = sharedCapacity(prompts);
      capacity = c.capacity;
      meanTurns = c.meanTurns;
    } else {
      capacity = randomCapacity();
    }
    const rate = values.rate ? Number(values.rate) : load * capacity;
    capacities[workload] = { capacity, rate };
    if (workload === "random") modelChecks.random = modelCheckRandom(rate);
    progress(
      `${workload}: saturated ${capacity.toFixed(2)} req/s → offered ${rate.toFixed(2)} req/s (virtual)`,
    );
    for (const strategy of strategies) {
      progress(
        `${workload}/${strategy}: ${warmupV} s warm-up + ${durationV} s measured (virtual), speed ${speed}×`,
      );
      const r = await runOne(workload, strategy, rate, prompts, meanTurns);
      results.push(r);
      progress(
        `  TTFT p50 ${(r.ttftP50 * 1000).toFixed(0)} ms, p99 ${(r.ttftP99 * 1000).toFixed(0)} ms, ${r.throughputRps.toFixed(2)} req/s, hit rate ${(r.hitRate * 100).toFixed(1)}%, failed ${r.failed}`,
      );
    }
  }
} finally {
  await Promise.all(clients.map((c) => c.close()));
  await stopAll();
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------
const ms = (s: number) => Math.round(s * 1000);
const lines: string[] = [];
const titles = {
  shared: `Shared prefixes: multi-turn chat, ${W.systemPrompts} system prompts of ~${W.systemTokens} tokens, ${W.turnsMin}–${W.turnsMax} turns per session, user messages ~${W.userTokens} tokens, replies ~${W.replyTokens} tokens, think time ${W.think} s`,
  random: `No shared prefixes: single requests with unique random prompts of ~${W.randomPromptTokens} tokens, replies ~${W.replyTokens} tokens`,
};
for (const workload of workloads) {
  const rows = results.filter((r) => r.workload === workload);
  const rr = rows.find((r) => r.strategy === "round-robin");
  const cap = capacities[workload];
  lines.push(
    `### ${titles[workload]}`,
    "",
    `${replicas} × ${values.model} on ${values.gpu}${values.quantization ? ` (${values.quantization})` : ""}, ${simSetup.config.numGpuBlocks} KV blocks of ${simSetup.config.blockSize} tokens per replica (simulated, speed ${speed}×); offered ${cap?.rate.toFixed(2)} req/s = ${load} × the engine model's saturated round-robin throughput of ${cap?.capacity.toFixed(2)} req/s; ${warmupV} s warm-up, ${durationV} s measured (virtual seconds).`,
    "",
    "| Strategy | TTFT p50 ms | TTFT p99 ms | TTFT mean ms | p50 vs round-robin | E2E p50 ms | throughput req/s (÷ capacity) | output tok/s | prefix-cache hit rate | requests per replica | ok / sent | balancer fallbacks |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  );
  for (const r of rows) {
    const vs =
      rr && r !== rr
        ? `${r.ttftP50 <= rr.ttftP50 ? "−" : "+"}${Math.abs(Math.round((r.ttftP50 / rr.ttftP50 - 1) * 100))}%`
        : "—";
    const fb = Object.entries(r.balancerFallbacks)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    lines.push(
      `| ${r.strategy} | ${ms(r.ttftP50)} | ${ms(r.ttftP99)} | ${ms(r.ttftMean)} | ${vs} | ${ms(r.e2eP50)} | ${r.throughputRps.toFixed(2)} (${Math.round((r.throughputRps / (cap?.capacity ?? Number.NaN)) * 100)}%) | ${Math.round(r.outputTokS)} | ${(r.hitRate * 100).toFixed(1)}% | ${r.replicaShare.map((x) => `${Math.round(x * 100)}%`).join(" / ")} | ${r.ok} / ${r.sent} | ${fb || "—"} |`,
    );
  }
  lines.push("");
}
if (modelChecks.random) {
  const rows = modelChecks.random;
  const base = rows[0]?.ttftP50 ?? Number.NaN;
  lines.push(
    "### The random workload through the engine model alone (no HTTP, no gateway)",
    "",
    "The same requests at the same arrival times, placed by simple routers inside `simulateFleet`.",
    "",
    "| Router | TTFT p50 ms | TTFT p99 ms | p50 vs round-robin |",
    "|---|---|---|---|",
    ...rows.map(
      (r, i) =>
        `| ${r.router} | ${ms(r.ttftP50)} | ${ms(r.ttftP99)} | ${i === 0 ? "—" : `+${Math.round((r.ttftP50 / base - 1) * 100)}%`} |`,
    ),
    "",
  );
}
const verdict = (ok: boolean) => (ok ? "**met**" : "**missed**");
const t: string[] = ["### Targets", "", "| Target | Measured | Result |", "|---|---|---|"];
const sharedRR = results.find((r) => r.workload === "shared" && r.strategy === "round-robin");
const sharedPA = results.find((r) => r.workload === "shared" && r.strategy === "prefix-affinity");
if (sharedRR && sharedPA) {
  const cut = 1 - sharedPA.ttftP50 / sharedRR.ttftP50;
  t.push(
    `| prefix-affinity cuts TTFT p50 by ≥ 50% against round-robin (shared prefixes) | ${ms(sharedRR.ttftP50)} → ${ms(sharedPA.ttftP50)} ms: ${cut >= 0 ? "−" : "+"}${Math.abs(Math.round(cut * 100))}% | ${verdict(cut >= 0.5)} |`,
  );
}
const randomRR = results.find((r) => r.workload === "random" && r.strategy === "round-robin");
if (randomRR) {
  for (const r of results.filter((x) => x.workload === "random" && x !== randomRR)) {
    const worse = r.ttftP50 / randomRR.ttftP50 - 1;
    t.push(
      `| ${r.strategy} no more than 10% worse than round-robin on TTFT p50 (random prompts) | ${ms(randomRR.ttftP50)} vs ${ms(r.ttftP50)} ms: ${worse >= 0 ? "+" : "−"}${Math.abs(Math.round(worse * 100))}% | ${verdict(worse <= 0.1)} |`,
    );
  }
}
lines.push(...t, "");
const md = lines.join("\n");
console.log(md);
if (values.json) {
  writeFileSync(
    values.json,
    JSON.stringify(
      {
        git: gitRevision(),
        settings: { ...values, workload: W },
        capacities,
        modelChecks,
        results,
        markdown: md,
      },
      null,
      2,
    ),
  );
  progress(`wrote ${values.json}`);
}
