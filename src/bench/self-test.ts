/**
 * The client's own overhead, measured against a zero-latency server: `inferplane sim` in
 * constant-latency mode with TTFT 0 and ITL 0, in its own process. Whatever latency the client
 * then measures is the floor it adds (its own work, the loopback and the server's HTTP handling);
 * the non-streaming closed loop gives the most requests per second one client process drives.
 * CPU time of both processes is read from /proc, so the client's share per request is visible.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { InferplaneError } from "../errors.js";
import type { TargetReport } from "./report.js";
import { type BenchOptions, runBench } from "./run.js";

export interface SelfTestRow {
  name: string;
  requests: number;
  requestThroughput: number;
  ttftP50Ms: number;
  itlP50Ms: number;
  e2eP50Ms: number;
  e2eP99Ms: number;
  clientCpuUsPerRequest: number;
  serverCpuUsPerRequest: number;
}

export interface ZeroLatencySim {
  url: string;
  model: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

const CLI = fileURLToPath(new URL("../../bin/inferplane.js", import.meta.url));

/** Starts `inferplane sim` with `extra` flags on an ephemeral port, in its own process. */
export async function startSimChild(extra: readonly string[]): Promise<ZeroLatencySim> {
  const child: ChildProcess = spawn(
    process.execPath,
    [CLI, "sim", "--model", "llama-3.1-8b", "--port", "0", "--json", ...extra],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const info = await new Promise<{ url: string; model: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sim did not start in 30 s: ${err}`)), 30_000);
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (!line) return;
      clearTimeout(timer);
      const j = JSON.parse(line) as { replicas: { url: string; servedModelName: string }[] };
      resolve({ url: j.replicas[0]?.url ?? "", model: j.replicas[0]?.servedModelName ?? "" });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new InferplaneError("internal", `inferplane sim exited with ${code}: ${err}`));
    });
  });
  return {
    ...info,
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 3_000).unref();
      }),
  };
}

/** CPU seconds (user + system) of process `pid`, from /proc; NaN where there is none. */
export function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

export async function selfTest(o: {
  requests: number;
  onStep?: (name: string) => void;
}): Promise<SelfTestRow[]> {
  const sim = await startSimChild(["--time-to-first-token", "0ms", "--inter-token-latency", "0ms"]);
  try {
    const common: Omit<BenchOptions, "stream" | "load" | "workload" | "requests"> = {
      urls: [sim.url],
      model: sim.model,
      api: "completions",
      ignoreEos: true,
      headers: {},
      extraBody: {},
      timeoutMs: 30_000,
      warmup: { sessions: 200 },
      seed: 1,
      records: false,
    };
    const cases: [string, BenchOptions][] = [
      [
        "non-streaming, 16 tokens, closed loop 64",
        {
          ...common,
          stream: false,
          load: { concurrency: 64 },
          requests: o.requests,
          workload: {
            kind: "random",
            input: { kind: "fixed", value: 32 },
            output: { kind: "fixed", value: 16 },
          },
        },
      ],
      [
        "streaming, 64 tokens, closed loop 16",
        {
          ...common,
          stream: true,
          load: { concurrency: 16 },
          requests: Math.max(100, Math.round(o.requests / 8)),
          workload: {
            kind: "random",
            input: { kind: "fixed", value: 32 },
            output: { kind: "fixed", value: 64 },
          },
        },
      ],
      [
        "streaming, 64 tokens, open loop 50 req/s",
        {
          ...common,
          stream: true,
          load: { rate: 50, arrivals: "poisson" },
          warmup: { sessions: 20 },
          requests: 250,
          workload: {
            kind: "random",
            input: { kind: "fixed", value: 32 },
            output: { kind: "fixed", value: 64 },
          },
        },
      ],
    ];
    const rows: SelfTestRow[] = [];
    for (const [name, opts] of cases) {
      o.onStep?.(name);
      const s0 = processCpuSeconds(sim.pid);
      const { report } = await runBench(opts);
      const s1 = processCpuSeconds(sim.pid);
      const t = report.targets[0] as TargetReport;
      const total = (opts.requests ?? 0) + ("sessions" in opts.warmup ? opts.warmup.sessions : 0);
      rows.push({
        name,
        requests: t.requests.ok,
        requestThroughput: t.requestThroughput,
        ttftP50Ms: t.ttftMs.p50,
        itlP50Ms: t.itlMs.p50,
        e2eP50Ms: t.e2eMs.p50,
        e2eP99Ms: t.e2eMs.p99,
        clientCpuUsPerRequest: report.client.cpuUsPerRequest,
        serverCpuUsPerRequest: ((s1 - s0) * 1e6) / total,
      });
    }
    return rows;
  } finally {
    await sim.stop();
  }
}
