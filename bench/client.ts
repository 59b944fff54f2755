/**
 * `inferplane bench` measuring itself:
 *
 * 1. Throughput agreement with wrk (Debian, C): the same non-streaming endpoint, the same number
 *    of keep-alive connections, closed loop, run alternately (wrk, bench, wrk, bench, …); the
 *    ratio bench / wrk per round. Endpoints: `inferplane sim` in constant-latency mode (20 ms per
 *    request: latency-bound, neither client is the limit), the same sim at zero latency (the
 *    sim's CPU is the limit) and a static nginx (the client is the limit).
 * 2. One core: `inferplane bench` pinned to one CPU against the static nginx on the other —
 *    non-streaming requests per second, and its CPU per request.
 * 3. `inferplane bench --self-test`: the client's overhead against a zero-latency sim.
 *
 * Placement (2 cores): servers on --server-cpu (1), clients on --client-cpu (0).
 *
 *   npm run build && flock /tmp/bench.lock node --import tsx bench/client.ts [--rounds 3] [--seconds 5] [--json FILE]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { BenchReport } from "../src/bench/report.js";
import { runWrk } from "../src/bench/wrk.js";
import { startNginx } from "./lib/nginx.js";
import {
  CLI,
  freePort,
  gitRevision,
  httpReady,
  pinned,
  progress,
  type Service,
  spawnService,
  stopAll,
} from "./lib/procs.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "5" },
    connections: { type: "string", default: "64" },
    "server-cpu": { type: "string", default: "1" },
    "client-cpu": { type: "string", default: "0" },
    endpoints: { type: "string", default: "latency-20ms,sim-zero-512,sim-zero,nginx-static" },
    "skip-self-test": { type: "boolean", default: false },
    json: { type: "string" },
  },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const serverCpu = values["server-cpu"];
const clientCpu = values["client-cpu"];
const MODEL = "meta-llama/Llama-3.1-8B-Instruct";
const PROMPT = "the quick brown fox jumps";
const body = (maxTokens: number) =>
  JSON.stringify({ model: MODEL, prompt: PROMPT, max_tokens: maxTokens, ignore_eos: true });

/** A canned completion of the size the sim sends for 16 tokens. */
const CANNED = JSON.stringify({
  id: "cmpl-static",
  object: "text_completion",
  created: 1,
  model: MODEL,
  choices: [
    { index: 0, text: " the of and to in is you that it he was for on are as with", finish_reason: "length" },
  ],
  usage: { prompt_tokens: 6, completion_tokens: 16, total_tokens: 22 },
});

async function startSim(extra: string[]): Promise<{ url: string; service: Service }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const service = await spawnService({
    name: "inferplane-sim",
    cmd: process.execPath,
    args: [CLI, "sim", "--model", "llama-3.1-8b", "--port", String(port), ...extra],
    cpu: serverCpu,
    ready: httpReady(`${url}/health`),
  });
  return { url, service };
}

interface Endpoint {
  url: string;
  service: Service;
  concurrency: number;
  maxTokens: number;
}

async function startEndpoint(name: string): Promise<Endpoint> {
  const zero = ["--time-to-first-token", "0ms", "--inter-token-latency", "0ms"];
  switch (name) {
    case "latency-20ms":
      return {
        ...(await startSim(["--time-to-first-token", "20ms", "--inter-token-latency", "0ms"])),
        concurrency: 16,
        maxTokens: 16,
      };
    case "sim-zero":
      return { ...(await startSim(zero)), concurrency: connections, maxTokens: 16 };
    case "sim-zero-512":
      return { ...(await startSim(zero)), concurrency: connections, maxTokens: 512 };
    case "nginx-static": {
      const port = await freePort();
      const service = await startNginx({ port, cpu: serverCpu, staticBody: CANNED });
      return { url: `http://127.0.0.1:${port}`, service, concurrency: connections, maxTokens: 16 };
    }
    default:
      throw new Error(`unknown endpoint ${name}`);
  }
}

/** Runs the CLI pinned to the client CPU; returns its --json report. */
async function benchCli(args: string[]): Promise<BenchReport> {
  const dir = mkdtempSync(join(tmpdir(), "inferplane-bench-client-"));
  try {
    const file = join(dir, "r.json");
    const [cmd, argv] = pinned(clientCpu, process.execPath, [CLI, "bench", ...args, "--json", file]);
    const child = spawn(cmd, argv, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise<number | null>((r) => child.once("exit", r));
    if (code !== 0) throw new Error(`inferplane bench exited ${code}: ${err}`);
    return JSON.parse(readFileSync(file, "utf8")) as BenchReport;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** wrk sends one body again and again; bench sends the same prompt (a one-line jsonl workload). */
const DATA_DIR = mkdtempSync(join(tmpdir(), "inferplane-bench-client-"));
function dataset(maxTokens: number): string {
  const file = join(DATA_DIR, `prompt-${maxTokens}.jsonl`);
  writeFileSync(file, `${JSON.stringify({ prompt: PROMPT, max_tokens: maxTokens })}\n`);
  return file;
}

const benchArgs = (url: string, concurrency: number, maxTokens: number) => [
  "--url",
  url,
  "--model",
  MODEL,
  "--api",
  "completions",
  "--no-stream",
  "--ignore-eos",
  "--workload",
  "jsonl",
  "--dataset",
  dataset(maxTokens),
  "--concurrency",
  String(concurrency),
  "--duration",
  `${seconds}s`,
  "--warmup",
  "1s",
];

interface Row {
  endpoint: string;
  concurrency: number;
  wrk: number[];
  bench: number[];
  benchCpuUsPerReq: number[];
}

const rows: Row[] = [];
const r0 = (x: number) => Math.round(x);
try {
  for (const name of values.endpoints.split(",")) {
    const ep = await startEndpoint(name);
    const row: Row = {
      endpoint: `${name} (${ep.maxTokens} tokens)`,
      concurrency: ep.concurrency,
      wrk: [],
      bench: [],
      benchCpuUsPerReq: [],
    };
    try {
      // Warm the server up (JIT) before the first measured round: not measured.
      await runWrk({
        url: `${ep.url}/v1/completions`,
        headers: {},
        body: body(ep.maxTokens),
        connections: ep.concurrency,
        durationS: 2,
        cpu: clientCpu,
      });
      for (let i = 0; i < rounds; i++) {
        const w = await runWrk({
          url: `${ep.url}/v1/completions`,
          headers: {},
          body: body(ep.maxTokens),
          connections: ep.concurrency,
          durationS: seconds,
          cpu: clientCpu,
        });
        if (w.non2xx + w.socketErrors > 0)
          throw new Error(`wrk: ${w.non2xx} non-2xx, ${w.socketErrors} socket errors`);
        const b = await benchCli(benchArgs(ep.url, ep.concurrency, ep.maxTokens));
        const t = b.targets[0];
        if (!t || t.requests.failed > 0)
          throw new Error(`bench: ${t?.requests.failed} failed: ${t?.requests.firstError}`);
        row.wrk.push(w.rps);
        row.bench.push(t.requestThroughput);
        row.benchCpuUsPerReq.push(b.client.cpuUsPerRequest);
        progress(
          `${name} round ${i + 1}: wrk ${r0(w.rps)} req/s, inferplane bench ${r0(t.requestThroughput)} req/s (${(t.requestThroughput / w.rps).toFixed(3)}), client CPU ${b.client.cpuUsPerRequest.toFixed(1)} µs/req`,
        );
      }
    } finally {
      await ep.service.stop();
    }
    rows.push(row);
  }
} finally {
  await stopAll();
  rmSync(DATA_DIR, { recursive: true, force: true });
}

let selfTest = "";
if (!values["skip-self-test"]) {
  progress("inferplane bench --self-test");
  const [cmd, argv] = pinned(clientCpu, process.execPath, [CLI, "bench", "--self-test"]);
  const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "inherit"] });
  child.stdout.on("data", (d: Buffer) => {
    selfTest += d.toString();
  });
  await new Promise((r) => child.once("exit", r));
}

const rev = gitRevision();
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
console.log(
  `commit ${rev.commit}${rev.srcDirty ? " (src modified)" : ""}; ${rounds} rounds × ${seconds} s, alternating; client CPU ${clientCpu}, server CPU ${serverCpu}`,
);
console.log(
  "| Endpoint | connections | wrk req/s (rounds) | inferplane bench req/s (rounds) | bench / wrk (rounds) | bench client CPU µs/req |",
);
console.log("|---|---|---|---|---|---|");
for (const r of rows) {
  const ratios = r.bench.map((b, i) => b / (r.wrk[i] as number));
  console.log(
    `| ${r.endpoint} | ${r.concurrency} | ${r0(med(r.wrk))} (${r.wrk.map(r0).join(", ")}) | ${r0(med(r.bench))} (${r.bench.map(r0).join(", ")}) | ${med(ratios).toFixed(3)} (${ratios.map((x) => x.toFixed(3)).join(", ")}) | ${med(r.benchCpuUsPerReq).toFixed(1)} |`,
  );
}
if (selfTest) console.log(`\n${selfTest}`);
if (values.json) writeFileSync(values.json, JSON.stringify({ commit: rev.commit, rows, selfTest }, null, 2));
