/**
 * The Gateway's overhead and routing benchmarks (docs/benchmarks.md) reproduced with
 * `inferplane bench`: this script starts the servers (`inferplane sim`, `inferplane serve` with a
 * temporary spec), runs the `inferplane bench` commands it prints — as child processes of the
 * built CLI, pinned where asked — and summarizes their --json reports.
 *
 *   npm run build
 *   flock /tmp/bench.lock node --import tsx bench/reproduce.ts gateway [--seconds 12] [--rounds 2]
 *   flock /tmp/bench.lock node --import tsx bench/reproduce.ts routing [--workloads shared,random]
 *       [--strategies round-robin,prefix-affinity] [--duration 60s] [--warmup 20s]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { BenchReport, TargetReport } from "../src/bench/report.js";
import { type BalancerName, benchSpecYaml, startGatewayProcess } from "./lib/gateway-process.js";
import {
  CLI,
  freePort,
  gitRevision,
  httpReady,
  pinned,
  progress,
  spawnService,
  stopAll,
} from "./lib/procs.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: "string", default: "12" },
    rounds: { type: "string", default: "2" },
    rate: { type: "string", default: "500" },
    workloads: { type: "string", default: "shared,random" },
    strategies: { type: "string", default: "round-robin,least-request,load-aware,prefix-affinity" },
    duration: { type: "string", default: "60s" },
    warmup: { type: "string", default: "20s" },
    "server-cpu": { type: "string", default: "1" },
    "client-cpu": { type: "string", default: "0" },
    json: { type: "string" },
  },
});
const what = positionals[0];
const serverCpu = values["server-cpu"];
const clientCpu = values["client-cpu"];
const dir = mkdtempSync(join(tmpdir(), "inferplane-reproduce-"));
const SOURCE = "hf://meta-llama/Llama-3.1-8B-Instruct";
const SERVED = "meta-llama/Llama-3.1-8B-Instruct";

async function startSims(args: string[], cpu?: string): Promise<string[]> {
  const port = await freePort();
  const replicas = Number(args[args.indexOf("--replicas") + 1] ?? 1) || 1;
  await spawnService({
    name: "inferplane-sim",
    cmd: process.execPath,
    args: [CLI, "sim", "--model", "llama-3.1-8b", "--port", String(port), ...args],
    ...(cpu ? { cpu } : {}),
    ready: httpReady(`http://127.0.0.1:${port + replicas - 1}/health`),
  });
  progress(`inferplane sim --model llama-3.1-8b ${args.join(" ")}  (port ${port})`);
  return Array.from({ length: replicas }, (_, i) => `http://127.0.0.1:${port + i}`);
}

let runs = 0;
async function bench(args: string[], cpu?: string): Promise<BenchReport> {
  const file = join(dir, `run-${runs++}.json`);
  progress(`inferplane bench ${args.join(" ")}`);
  const [cmd, argv] = pinned(cpu, process.execPath, [CLI, "bench", ...args, "--json", file]);
  const child = spawn(cmd, argv, { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  if (code !== 0) throw new Error(`inferplane bench exited ${code}: ${err}`);
  return JSON.parse(readFileSync(file, "utf8")) as BenchReport;
}

const f2 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(2));
const out: Record<string, unknown> = { commit: gitRevision() };

async function gateway(): Promise<void> {
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  // The upstream and the client share the client CPU; the gateway has the other (as bench/gateway-overhead.ts).
  const [sim] = await startSims(["--speed", "1000000"], clientCpu);
  const port = await freePort();
  const spec = {
    route: "bench",
    source: SOURCE,
    endpoints: [sim as string],
    balancer: "round-robin" as const,
  };
  progress(`spec:\n${benchSpecYaml(spec)}`);
  const gw = await startGatewayProcess(spec, { port, cpu: serverCpu });
  const common = [
    "--api",
    "chat",
    "--no-stream",
    "--input-tokens",
    "16",
    "--output-tokens",
    "16",
    "--ignore-eos",
  ];
  const open: { mode: string; added50: number; added99: number; a: TargetReport; b: TargetReport }[] = [];
  const closed: { gw: number; direct: number }[] = [];
  const openArgs = (rate: number) => ["--rate", String(rate), "--duration", `${seconds}s`, "--warmup", "3s"];
  const rate = Number(values.rate);
  for (let i = 0; i < rounds; i++) {
    // (1) As bench/gateway-overhead.ts: one target at a time at the full rate, order alternating.
    const order = i % 2 === 0 ? ["gw", "direct"] : ["direct", "gw"];
    const single: Record<string, TargetReport> = {};
    for (const which of order) {
      const url = which === "gw" ? gw.url : (sim as string);
      const model = which === "gw" ? "bench" : SERVED;
      const r = await bench(["--url", url, "--model", model, ...common, ...openArgs(rate)], clientCpu);
      single[which] = r.targets[0] as TargetReport;
    }
    const sa = single.gw as TargetReport;
    const sb = single.direct as TargetReport;
    open.push({
      mode: `one at a time, ${rate} req/s`,
      added50: sa.e2eMs.p50 - sb.e2eMs.p50,
      added99: sa.e2eMs.p99 - sb.e2eMs.p99,
      a: sa,
      b: sb,
    });
    // (2) --compare: both at once, half the rate each (the same total load on the machine).
    const r = await bench(
      [
        "--url",
        gw.url,
        "--model",
        "bench",
        "--compare",
        sim as string,
        "--compare-model",
        SERVED,
        ...common,
        ...openArgs(rate / 2),
      ],
      clientCpu,
    );
    const [a, b] = r.targets as [TargetReport, TargetReport];
    open.push({
      mode: `--compare, ${rate / 2} req/s each`,
      added50: a.e2eMs.p50 - b.e2eMs.p50,
      added99: a.e2eMs.p99 - b.e2eMs.p99,
      a,
      b,
    });
    const closedArgs = [...common, "--concurrency", "64", "--duration", "8s", "--warmup", "2s"];
    const c1 = await bench(["--url", gw.url, "--model", "bench", ...closedArgs], clientCpu);
    const c2 = await bench(["--url", sim as string, "--model", SERVED, ...closedArgs], clientCpu);
    closed.push({
      gw: c1.targets[0]?.requestThroughput ?? Number.NaN,
      direct: c2.targets[0]?.requestThroughput ?? Number.NaN,
    });
  }
  console.log(`\nOpen loop, ${seconds} s after 3 s warm-up (gateway A, direct B):`);
  console.log(
    "| Round | Load | gateway E2E p50 / p99 ms | direct E2E p50 / p99 ms | added p50 ms | added p99 ms | gateway's own header p50 / p99 ms | ok |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  for (const [i, o] of open.entries())
    console.log(
      `| ${Math.floor(i / 2) + 1} | ${o.mode} | ${f2(o.a.e2eMs.p50)} / ${f2(o.a.e2eMs.p99)} | ${f2(o.b.e2eMs.p50)} / ${f2(o.b.e2eMs.p99)} | ${f2(o.added50)} | ${f2(o.added99)} | ${f2(o.a.gatewayOverheadMs?.p50)} / ${f2(o.a.gatewayOverheadMs?.p99)} | ${o.a.requests.ok}/${o.a.requests.sent}, ${o.b.requests.ok}/${o.b.requests.sent} |`,
    );
  console.log("\nClosed loop, 64 connections, 8 s (client on the upstream's CPU):");
  console.log("| Round | gateway req/s | direct req/s | gateway / direct |");
  console.log("|---|---|---|---|");
  for (const [i, c] of closed.entries())
    console.log(
      `| ${i + 1} | ${c.gw.toFixed(0)} | ${c.direct.toFixed(0)} | ${(c.gw / c.direct).toFixed(3)} |`,
    );
  out.gateway = {
    open: open.map((o) => ({
      mode: o.mode,
      added50: o.added50,
      added99: o.added99,
      gateway: o.a,
      direct: o.b,
    })),
    closed,
  };
  await gw.stop();
}

async function routing(): Promise<void> {
  const workloads = values.workloads.split(",");
  const strategies = values.strategies.split(",") as BalancerName[];
  // Session rates: 0.8 × the fleet capacity the engine model computes (bench/routing.ts):
  // 41.2 req/s offered for the shared workload (≈ 6 turns per session), 49.9 req/s for the random one.
  const args: Record<string, string[]> = {
    shared: [
      "--workload",
      "shared-prefix",
      "--prefixes",
      "16",
      "--prefix-tokens",
      "1500",
      "--turns",
      "4-8",
      "--think-time",
      "2s",
      "--input-tokens",
      "150:0.5:16-600",
      "--output-tokens",
      "120:0.5:8-480",
      "--rate",
      (41.2 / 6).toFixed(2),
    ],
    random: ["--input-tokens", "1000:0.5:32-4000", "--output-tokens", "120:0.5:8-480", "--rate", "49.9"],
  };
  const rows: { workload: string; strategy: string; t: TargetReport }[] = [];
  for (const w of workloads) {
    for (const strategy of strategies) {
      const sims = await startSims(["--replicas", "4"]);
      const port = await freePort();
      const gw = await startGatewayProcess(
        { route: "chat", source: SOURCE, endpoints: sims, balancer: strategy },
        { port },
      );
      const r = await bench([
        "--url",
        gw.url,
        "--model",
        "chat",
        "--api",
        "chat",
        "--ignore-eos",
        ...(args[w] as string[]),
        "--duration",
        values.duration,
        "--warmup",
        values.warmup,
        "--seed",
        "1",
      ]);
      const t = r.targets[0] as TargetReport;
      rows.push({ workload: w, strategy, t });
      progress(
        `${w}/${strategy}: TTFT p50 ${f2(t.ttftMs.p50)} ms, p99 ${f2(t.ttftMs.p99)} ms, ${f2(t.requestThroughput)} req/s, cache ${f2((t.cachedShare ?? 0) * 100)}%`,
      );
      await stopAll();
    }
  }
  console.log(
    "\n| Workload | Strategy | TTFT p50 ms | TTFT p99 ms | TTFT mean ms | p50 vs round-robin | E2E p50 ms | req/s | prompt tokens from cache | ok / sent |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const rr = rows.find((x) => x.workload === r.workload && x.strategy === "round-robin");
    const vs = rr && rr !== r ? `${((r.t.ttftMs.p50 / rr.t.ttftMs.p50 - 1) * 100).toFixed(0)}%` : "—";
    console.log(
      `| ${r.workload} | ${r.strategy} | ${f2(r.t.ttftMs.p50)} | ${f2(r.t.ttftMs.p99)} | ${f2(r.t.ttftMs.mean)} | ${vs} | ${f2(r.t.e2eMs.p50)} | ${f2(r.t.requestThroughput)} | ${f2((r.t.cachedShare ?? 0) * 100)}% | ${r.t.requests.ok} / ${r.t.requests.sent} |`,
    );
  }
  out.routing = rows.map((r) => ({ workload: r.workload, strategy: r.strategy, report: r.t }));
}

try {
  if (what === "gateway") await gateway();
  else if (what === "routing") await routing();
  else throw new Error("usage: reproduce.ts gateway|routing [options]");
  if (values.json) writeFileSync(values.json, JSON.stringify(out, null, 2));
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
