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
 *   npm run build && node --import tsx bench/sim-concurrency.ts [--streams 1000] [--tokens 400] [--itl-ms 12]
 *     [--sim-cpu 1 --client-cpu 0]        pin the sim and this client to a core each (taskset)
 *     [--sim-root /tmp/sim-before ...]    one or more checkouts (built) to run side by side
 *     [--runs 2]                          rounds; each round runs every root once, in turn
 *     [--sim-node-arg=--max-semi-space-size=32]   node flags for the sim process
 *     [--cpu-prof DIR]                    a V8 CPU profile of the sim, summarized per token
 *     [--client raw|undici]               the stream reader (default raw: bench/lib/raw-sse-client.ts)
 *     [--write-floor]                     first, the cost of one bare socket.write per stream per step
 *     [--lag-trace-ms 500]                diagnosis: the sim's lag every 500 ms (replaces the phases)
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Client, type RequestResult } from "../src/bench/client.js";
import { mean, percentile } from "../src/bench/stats.js";
import { syntheticPrompt } from "../src/bench/workload.js";
import { engineConfig } from "../src/sim/model/config.js";
import { EngineCore } from "../src/sim/model/engine.js";
import { summarizeProfileFile } from "./lib/cpuprofile.js";
import { rawStream } from "./lib/raw-sse-client.js";
import { cpuTimes, schedStats, startSimProcess } from "./lib/sim-process.js";
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
  },
});
const streams = Number(values.streams);
const tokens = Number(values.tokens);
const itlTarget = Number(values["itl-ms"]) / 1000;
const roots = (values["sim-root"] ?? [new URL("../", import.meta.url).pathname]).map((r) => resolve(r));
const runs = Number(values.runs);

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

async function once(root: string, profDir: string | undefined) {
  const nodeArgs = [...(values["sim-node-arg"] ?? [])];
  if (profDir !== undefined) nodeArgs.push("--cpu-prof", "--cpu-prof-dir", profDir);
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
  try {
    await scrapeLag(sim.url); // starts the lag monitor / resets its histogram
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
    let firsts = 0;
    const onFirst = () => {
      if (++firsts === streams) phases.admission = scrapeLag(sim.url);
    };
    const counted = (r: RequestResult) => {
      if (++done === 1 && phases.admission) phases.steady = phases.admission.then(() => scrapeLag(sim.url));
      return r;
    };
    if (values.client === "raw") {
      const { hostname, port } = new URL(sim.url);
      results = await Promise.all(
        Array.from({ length: streams }, (_, i) =>
          sent(i, () => rawStream(hostname, Number(port), "/v1/completions", body(i), onFirst)).then(counted),
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
          sent(i, () => client.send(client.body([], syntheticPrompt(16, i), tokens), false)).then(counted),
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
  for (const root of roots) {
    const profDir = values["cpu-prof"] !== undefined ? resolve(values["cpu-prof"]) : undefined;
    if (profDir !== undefined) mkdirSync(profDir, { recursive: true });
    const r = await once(root, profDir);
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
      simNodeArgs: values["sim-node-arg"] ?? [],
      ...(floor ? { writeFloor: floor } : {}),
      targets: { meanTpotMs: itlTarget * 1000, simEventLoopLagP99Ms: 5 },
      results,
    },
    null,
    2,
  ),
);
