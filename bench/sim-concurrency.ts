/**
 * Can one sim process carry 1,000 concurrent streams at a 12 ms inter-token latency while its
 * own event loop stays responsive? The sim runs in its own process with `--max-num-seqs 1024`
 * and a `--speed` chosen so that a 1,000-sequence decode step takes 12 ms of real time; this
 * process holds the streams and reads the sim's event-loop lag from its /sim/process-metrics
 * (prom-client's `nodejs_eventloop_lag_p99_seconds`, reset at every scrape). With the raw client
 * it is read by phase: admission (until every stream has its first token), steady (all streams
 * decoding, until the first ends), tail. That gauge is a percentile of the time between ticks of
 * a 5 ms timer (perf_hooks.monitorEventLoopDelay, resolution 5), so it includes the 5 ms itself:
 * an idle process reads about 5.4 ms at p50 and 5.8 ms at p99. `beyondIntervalP99Ms` is that p99
 * less the 5 ms: how late the timer fired. The sim's CPU time comes from /proc, so its cost per
 * token is CPU seconds ÷ tokens streamed; /proc/PID/schedstat gives the time its main thread
 * waited for its core. `--write-floor` measures the bare cost of the socket writes alone.
 *
 * Lateness (`simLateness`): the honest figure. The sim's /sim/loop-lateness (src/sim/loop-lateness.ts)
 * records a 1 ms timer's intervals less the 1 ms, i.e. how long after it was due the timer fired;
 * each phase is read and reset in one call at its boundary, and `run` covers admission to the end.
 * A checkout built before that endpoint existed gets the same module of this checkout preloaded
 * (bench/lib/loop-lateness-preload.mjs, on a port of its own), so before and after read alike.
 * `--ramp-ms W` opens the streams evenly over W ms (as a load generator with an arrival rate
 * does) instead of all at once; give it several times (0 = all at once) to run each.
 *
 *   npm run build && node --import tsx bench/sim-concurrency.ts [--streams 1000] [--tokens 400] [--itl-ms 12]
 *     [--sim-cpu 1 --client-cpu 0]        pin the sim and this client to a core each (taskset)
 *     [--sim-root /tmp/sim-before ...]    one or more checkouts (built) to run side by side
 *     [--runs 2]                          rounds; each round runs every root once, in turn
 *     [--sim-node-arg=--max-semi-space-size=32]   node flags for the sim process
 *     [--cpu-prof DIR]                    a V8 CPU profile of the sim, summarized per token
 *     [--client raw|undici]               the stream reader (default raw: bench/lib/raw-sse-client.ts)
 *     [--write-floor]                     first, the cost of one bare socket.write per stream per step
 *     [--lag-trace-ms 500]                diagnosis: the sim's lag every 500 ms (replaces the phases)
 *     [--ramp-ms 0 --ramp-ms 1000]        open the streams at once (0) and/or evenly over 1,000 ms
 *     [--lateness-only]                   no gauge scrapes at the phase boundaries (one at the end)
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Client, type RequestResult } from "../src/bench/client.js";
import { mean, percentile } from "../src/bench/stats.js";
import { syntheticPrompt } from "../src/bench/workload.js";
import type { LatenessReading, LatenessStats } from "../src/sim/loop-lateness.js";
import { engineConfig } from "../src/sim/model/config.js";
import { EngineCore } from "../src/sim/model/engine.js";
import { summarizeProfileFile } from "./lib/cpuprofile.js";
import { rawStream } from "./lib/raw-sse-client.js";
import { cpuTimes, freePort, schedStats, startSimProcess } from "./lib/sim-process.js";
import { writeFloor } from "./lib/write-floor.js";

const { values } = parseArgs({
  options: {
    streams: { type: "string", default: "1000" },
    tokens: { type: "string", default: "400" },
    "itl-ms": { type: "string", default: "12" },
    model: { type: "string", default: "llama-3.1-8b" },
    gpu: { type: "string", default: "H100-80GB" },
    "sim-cpu": { type: "string" },
    "client-cpu": { type: "string" },
    "sim-root": { type: "string", multiple: true },
    "sim-node-arg": { type: "string", multiple: true },
    /** The sim's stdout (with --sim-node-arg=--trace-gc: its GC pauses). */
    "sim-stdout": { type: "string" },
    runs: { type: "string", default: "1" },
    /** raw: bench/lib/raw-sse-client.ts (a few µs per token); undici: src/bench/client.ts. */
    client: { type: "string", default: "raw" },
    "write-floor": { type: "boolean", default: false },
    "cpu-prof": { type: "string" },
    /** Diagnosis: scrape the lag every N ms (each scrape resets it), print the series. */
    "lag-trace-ms": { type: "string" },
    "ramp-ms": { type: "string", multiple: true },
    /** Skip the gauge scrapes at the phase boundaries (each is a turn of a few ms in the sim). */
    "lateness-only": { type: "boolean", default: false },
  },
});
const streams = Number(values.streams);
const tokens = Number(values.tokens);
const itlTarget = Number(values["itl-ms"]) / 1000;
const roots = (values["sim-root"] ?? [new URL("../", import.meta.url).pathname]).map((r) => resolve(r));
const runs = Number(values.runs);
const ramps = (values["ramp-ms"] ?? ["0"]).map(Number);
if (ramps.some((r) => !(r >= 0))) throw new Error("--ramp-ms takes milliseconds ≥ 0");
const here = new URL("../", import.meta.url).pathname;
const latenessModule = join(here, "dist/sim/loop-lateness.js");

if (values["client-cpu"] !== undefined) {
  // Every thread of this process (undici and libuv's included) on the client's core.
  execFileSync("taskset", ["-a", "-p", "-c", values["client-cpu"], String(process.pid)], { stdio: "ignore" });
}

// Virtual duration of a decode step with `streams` sequences → the speed that makes it itlTarget.
const cfg = engineConfig({
  model: values.model,
  gpu: values.gpu,
  maxNumSeqs: 1024,
  maxNumBatchedTokens: 16384,
});
const probe = new EngineCore(cfg);
for (let i = 0; i < streams; i++) probe.add({ id: `p${i}`, promptTokens: 16, maxTokens: 3 });
probe.step(0);
const decodeStep = probe.step(1)?.duration ?? 0;
const speed = decodeStep / itlTarget;

/** The interval of the sim's lag monitor (src/telemetry/process-metrics.ts), ms. */
const LAG_RESOLUTION_MS = 5;

/** Mean inter-token gap the sim itself recorded (vLLM's ITL histogram), virtual seconds. */
async function simItlMean(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (s: string) => {
    const m = new RegExp(`^vllm:inter_token_latency_seconds_${s}(?:\\{[^}]*\\})? (\\S+)`, "m").exec(text);
    return m ? Number(m[1]) : Number.NaN;
  };
  return { sum: read("sum"), count: read("count") };
}

interface Lag {
  p99: number;
  p50: number;
  max: number;
}

async function scrapeLag(url: string): Promise<Lag> {
  const text = await (await fetch(`${url}/sim/process-metrics`)).text();
  const read = (name: string) => {
    const m = new RegExp(`^nodejs_eventloop_lag_${name}_seconds(?:\\{[^}]*\\})? (\\S+)`, "m").exec(text);
    return m ? Number(m[1]) : Number.NaN;
  };
  return { p99: read("p99"), p50: read("p50"), max: read("max") };
}

/** Busy CPU seconds of the whole machine so far (all cores, /proc/stat), to spot other load. */
function machineBusySeconds(): number {
  try {
    const cpu = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "")
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    // user nice system idle iowait irq softirq steal …: everything but idle and iowait is busy.
    const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - (cpu[3] ?? 0) - (cpu[4] ?? 0)) / 100;
  } catch {
    return Number.NaN;
  }
}

/** A lag scrape in ms; `beyondIntervalP99Ms` is the p99 less the monitor's 5 ms interval. */
const lagOf = (l: Lag) => ({
  p50Ms: ms(l.p50),
  p99Ms: ms(l.p99),
  beyondIntervalP99Ms: Number((l.p99 * 1000 - LAG_RESOLUTION_MS).toFixed(2)),
  maxMs: ms(l.max),
});

const ms = (s: number, digits = 2) => Number((s * 1000).toFixed(digits));

/** Reads the window since the last reset and starts the next one (`all`: the whole-run total too). */
async function resetLateness(base: string, all = false): Promise<LatenessReading> {
  const res = await fetch(`${base}/sim/loop-lateness/reset${all ? "?scope=all" : ""}`, { method: "POST" });
  if (!res.ok) throw new Error(`${base}/sim/loop-lateness/reset: HTTP ${res.status}`);
  return (await res.json()) as LatenessReading;
}

const slim = ({ samples, p50Ms, p99Ms, p999Ms, maxMs }: LatenessStats) => ({
  samples,
  p50Ms,
  p99Ms,
  p999Ms,
  maxMs,
});

async function once(root: string, profDir: string | undefined, rampMs: number) {
  const nodeArgs = [...(values["sim-node-arg"] ?? [])];
  if (profDir !== undefined) nodeArgs.push("--cpu-prof", "--cpu-prof-dir", profDir);
  // A checkout without /sim/loop-lateness: this checkout's module, preloaded, on its own port.
  const ownLateness = existsSync(join(root, "dist/sim/loop-lateness.js"));
  let latenessPort = 0;
  if (!ownLateness) {
    if (!existsSync(latenessModule))
      throw new Error(`build this checkout first: ${latenessModule} is missing`);
    latenessPort = await freePort();
    process.env.INFERPLANE_LATENESS_MODULE = latenessModule;
    process.env.INFERPLANE_LATENESS_PORT = String(latenessPort);
    nodeArgs.push("--import", join(here, "bench/lib/loop-lateness-preload.mjs"));
  }
  const sim = await startSimProcess(
    [
      "--model",
      values.model,
      "--gpu",
      values.gpu,
      "--max-num-seqs",
      "1024",
      "--max-num-batched-tokens",
      "16384",
      "--speed",
      speed.toFixed(4),
    ],
    { root, cpu: values["sim-cpu"], nodeArgs, stdoutFile: values["sim-stdout"] },
  );
  const pid = sim.child.pid;
  const latenessUrl = ownLateness ? sim.url : `http://127.0.0.1:${latenessPort}`;
  try {
    await scrapeLag(sim.url); // starts the lag monitor / resets its histogram
    await resetLateness(latenessUrl, true); // starts (or restarts) the lateness monitors
    const clientLag = monitorEventLoopDelay({ resolution: 5 });
    clientLag.enable();
    const clientCpu0 = process.cpuUsage();
    const cpu0 = cpuTimes(pid);
    const sched0 = schedStats(pid);
    const busy0 = machineBusySeconds();
    const start = performance.now();
    const trace: { t: number; p50: number; p99: number; max: number }[] = [];
    const traceEvery = Number(values["lag-trace-ms"] ?? 0);
    let tracing = traceEvery > 0;
    const traceLoop = (async () => {
      while (tracing) {
        await new Promise((r) => setTimeout(r, traceEvery));
        const l = await scrapeLag(sim.url);
        trace.push({
          t: Math.round(performance.now() - start),
          p50: ms(l.p50),
          p99: ms(l.p99),
          max: ms(l.max),
        });
      }
    })();
    let done = 0;
    const progress = process.stderr.isTTY
      ? setInterval(() => process.stderr.write(`\r${done}/${streams} streams done`), 500)
      : undefined;
    const body = (i: number) =>
      JSON.stringify({
        model: sim.model,
        prompt: syntheticPrompt(16, i),
        max_tokens: tokens,
        stream: true,
        stream_options: { include_usage: true },
        ignore_eos: true,
      });
    const sentAt = new Float64Array(streams);
    const sent = (i: number, send: () => Promise<RequestResult>) => {
      sentAt[i] = performance.now();
      return send();
    };
    let results: RequestResult[];
    // Lag by phase (raw client): admission (until every stream has its first token), steady
    // (all streams decoding, until the first one ends), tail (the rest). Each scrape resets.
    const phases: Record<string, Promise<Lag>> = {};
    const late: Record<string, Promise<LatenessReading>> = {};
    let firsts = 0;
    const onFirst = () => {
      // The lateness first, then the gauge: its scrape (prom-client's collectors) is a turn of
      // a few ms, which lands at the start of the next phase rather than the end of this one.
      if (++firsts === streams) {
        late.admission = resetLateness(latenessUrl);
        if (!values["lateness-only"]) phases.admission = late.admission.then(() => scrapeLag(sim.url));
      }
    };
    const counted = (r: RequestResult) => {
      if (++done === 1 && late.admission) {
        late.steady = (phases.admission ?? late.admission).then(() => resetLateness(latenessUrl));
        if (!values["lateness-only"]) phases.steady = late.steady.then(() => scrapeLag(sim.url));
      }
      return r;
    };
    // Stream i opens at i × rampMs / streams (0: all in this turn).
    const at = (i: number) =>
      rampMs === 0
        ? Promise.resolve()
        : new Promise<void>((r) => setTimeout(r, start + (i * rampMs) / streams - performance.now()));
    if (values.client === "raw") {
      const { hostname, port } = new URL(sim.url);
      results = await Promise.all(
        Array.from({ length: streams }, (_, i) =>
          at(i)
            .then(() => sent(i, () => rawStream(hostname, Number(port), "/v1/completions", body(i), onFirst)))
            .then(counted),
        ),
      );
    } else {
      const client = new Client(
        {
          url: sim.url,
          model: sim.model,
          api: "completions",
          stream: true,
          headers: {},
          extraBody: { ignore_eos: true },
          timeoutMs: 600_000,
        },
        streams,
      );
      results = await Promise.all(
        Array.from({ length: streams }, (_, i) =>
          at(i)
            .then(() => sent(i, () => client.send(client.body([], syntheticPrompt(16, i), tokens), false)))
            .then(counted),
        ),
      );
      await client.close();
    }
    const wall = (performance.now() - start) / 1000;
    tracing = false;
    await traceLoop;
    if (trace.length > 0)
      console.error(trace.map((x) => `${x.t}ms p50 ${x.p50} p99 ${x.p99} max ${x.max}`).join("\n"));
    const cpu1 = cpuTimes(pid);
    const sched1 = schedStats(pid);
    const cpuUser = cpu1.user - cpu0.user;
    const cpuSystem = cpu1.system - cpu0.system;
    const cpu = cpuUser + cpuSystem;
    const clientCpu = process.cpuUsage(clientCpu0);
    const busy = machineBusySeconds() - busy0;
    clientLag.disable();
    const admission = await phases.admission;
    const steady = await phases.steady;
    const lateAdmission = await late.admission;
    const lateSteady = await late.steady;
    const lateEnd = await resetLateness(latenessUrl);
    const lag = await scrapeLag(sim.url);
    const simItl = await simItlMean(sim.url);
    if (progress) clearInterval(progress);
    if (process.stderr.isTTY) process.stderr.write("\n");
    const ok = results.filter((r) => r.ok && r.outputTokens === tokens);
    // The window in which every stream was decoding at once.
    const spans = results.flatMap((r, i) =>
      r.ok ? [[(sentAt[i] as number) + r.ttftMs, (sentAt[i] as number) + r.e2eMs] as const] : [],
    );
    const lastFirst = Math.max(...spans.map((x) => x[0]));
    const firstEnd = Math.min(...spans.map((x) => x[1]));
    const allDecodingMs = Math.max(0, firstEnd - lastFirst);
    const ttft = ok.map((r) => r.ttftMs / 1000);
    // Seconds, as before; gaps under 0.5 ms are tokens that arrived in one read.
    const itl = ok.flatMap((r) => r.itlMs.map((g) => g / 1000)).filter((x) => x > 0.0005);
    const perRequestTpot = ok.map((r) => (r.e2eMs - r.ttftMs) / 1000 / (r.outputTokens - 1));
    const streamed = ok.length * tokens;
    return {
      root,
      rampMs,
      completed: ok.length,
      failed: streams - ok.length,
      wallSeconds: Number(wall.toFixed(2)),
      // Every stream was between its first and last token for this long (all 1,000 at once).
      allStreamsDecodingSeconds: Number((allDecodingMs / 1000).toFixed(2)),
      ttftP50Ms: ms(percentile(ttft, 50)),
      ttftMaxMs: ms(Math.max(...ttft)),
      meanTpotMs: ms(mean(perRequestTpot)),
      itlP50Ms: ms(percentile(itl, 50)),
      itlP99Ms: ms(percentile(itl, 99)),
      // The sim's own record: virtual seconds ÷ speed = the real gap it scheduled.
      simItlMeanMs: ms(simItl.sum / simItl.count / speed),
      // The sim's event-loop lag: over the whole run, or (raw client) by phase.
      simLag:
        admission && steady
          ? { admission: lagOf(admission), steady: lagOf(steady), tail: lagOf(lag) }
          : { run: lagOf(lag) },
      // How late the sim's 1 ms timer fired (ms; /sim/loop-lateness, resolution taken off): by
      // phase (raw client) and over the whole run.
      simLateness: {
        ...(lateAdmission && lateSteady
          ? {
              admission: slim(lateAdmission.window),
              steady: slim(lateSteady.window),
              tail: slim(lateEnd.window),
            }
          : {}),
        run: slim(lateEnd.total),
        source: ownLateness ? "sim" : "preload",
      },
      simCpuUtilisation: Number((cpu / wall).toFixed(3)),
      simCpuUsPerToken: Number(((cpu * 1e6) / Math.max(1, streamed)).toFixed(2)),
      simUserUsPerToken: Number(((cpuUser * 1e6) / Math.max(1, streamed)).toFixed(2)),
      simSystemUsPerToken: Number(((cpuSystem * 1e6) / Math.max(1, streamed)).toFixed(2)),
      // The sim's main thread was runnable but off its core (other tasks on it) this long.
      simRunQueueWaitMs: Number((sched1.waitMs - sched0.waitMs).toFixed(1)),
      simPreemptions: sched1.preemptions - sched0.preemptions,
      clientCpuUtilisation: Number(((clientCpu.user + clientCpu.system) / 1e6 / wall).toFixed(3)),
      // CPU the rest of the machine used meanwhile (cores; near 0 on a quiet machine).
      otherCpuUtilisation: Number(
        ((busy - cpu - (clientCpu.user + clientCpu.system) / 1e6) / wall).toFixed(3),
      ),
      clientEventLoopLagP99Ms: Number((clientLag.percentile(99) / 1e6).toFixed(2)),
      streamedTokens: streamed,
    };
  } finally {
    await sim.stop();
  }
}

/** The newest .cpuprofile in a directory. */
function newestProfile(dir: string): string | undefined {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return files[0];
}

const floor = values["write-floor"]
  ? await writeFloor(streams, Math.round(5000 / (itlTarget * 1000)), itlTarget * 1000, values["sim-cpu"])
  : undefined;
if (floor) console.error(JSON.stringify({ writeFloor: floor }));
const results = [];
for (let round = 0; round < runs; round++) {
  for (const root of roots)
    for (const rampMs of ramps) {
      const profDir = values["cpu-prof"] !== undefined ? resolve(values["cpu-prof"]) : undefined;
      if (profDir !== undefined) mkdirSync(profDir, { recursive: true });
      const r = await once(root, profDir, rampMs);
      let profile: unknown;
      if (profDir !== undefined) {
        const file = newestProfile(profDir);
        if (file !== undefined) {
          const s = summarizeProfileFile(file);
          const perToken = (msTotal: number) => Number(((msTotal * 1000) / r.streamedTokens).toFixed(2));
          profile = {
            file,
            busyUsPerToken: perToken(s.busyMs),
            components: s.components.map((c) => ({ component: c.component, usPerToken: perToken(c.ms) })),
            top: s.top.map((f) => ({ fn: f.fn, where: f.where, usPerToken: perToken(f.ms) })),
          };
        }
      }
      results.push({ round, ...r, ...(profile ? { profile } : {}) });
      console.error(JSON.stringify({ round, ...r }));
    }
}
console.log(
  JSON.stringify(
    {
      streams,
      tokensPerStream: tokens,
      speed: Number(speed.toFixed(3)),
      virtualDecodeStepMs: Number((decodeStep * 1000).toFixed(2)),
      client: values.client,
      placement: { simCpu: values["sim-cpu"] ?? "any", clientCpu: values["client-cpu"] ?? "any" },
      gaugeAtPhaseBoundaries: !values["lateness-only"],
      simNodeArgs: values["sim-node-arg"] ?? [],
      ...(floor ? { writeFloor: floor } : {}),
      targets: { meanTpotMs: itlTarget * 1000, simEventLoopLagP99Ms: 5 },
      latenessResolutionMs: 1,
      results,
    },
    null,
    2,
  ),
);
