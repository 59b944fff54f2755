/** Starts `inferplane sim` as its own process (the built CLI) and waits until it is healthy. */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

export interface SimProcess {
  url: string;
  model: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface SimProcessOptions {
  /** Checkout whose built CLI (bin/inferplane.js → dist/) runs (default: this one). */
  root?: string;
  /** Pin the process to this CPU (`taskset -c`), so it has a core of its own. */
  cpu?: string;
  /** Extra node flags (`--cpu-prof`, `--max-semi-space-size=…`). */
  nodeArgs?: string[];
  /** Where the process's stdout goes (e.g. `--trace-gc` lines); default: discarded. */
  stdoutFile?: string;
}

const here = new URL("../../", import.meta.url).pathname;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** User and system CPU seconds a process has used so far (Linux /proc; NaN elsewhere). */
export function cpuTimes(pid: number | undefined): { user: number; system: number } {
  if (pid === undefined) return { user: Number.NaN, system: Number.NaN };
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command: state is field 3, utime 14, stime 15 (clock ticks).
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { user: Number(rest[11]) / 100, system: Number(rest[12]) / 100 };
  } catch {
    return { user: Number.NaN, system: Number.NaN };
  }
}

/**
 * The main thread's scheduler record (Linux): ms spent waiting on a run queue while runnable
 * (another task had its core), and times it was switched out involuntarily.
 */
export function schedStats(pid: number | undefined): { waitMs: number; preemptions: number } {
  try {
    const sched = readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ");
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const inv = /^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status);
    return { waitMs: Number(sched[1]) / 1e6, preemptions: Number(inv?.[1] ?? Number.NaN) };
  } catch {
    return { waitMs: Number.NaN, preemptions: Number.NaN };
  }
}

export async function startSimProcess(args: string[], options: SimProcessOptions = {}): Promise<SimProcess> {
  const port = await freePort();
  const root = options.root ? `${options.root.replace(/\/+$/, "")}/` : here;
  const node = [
    ...(options.nodeArgs ?? []),
    `${root}bin/inferplane.js`,
    "sim",
    "--port",
    String(port),
    ...args,
  ];
  // taskset execs node, so the child's pid is node's own.
  const [cmd, argv] =
    options.cpu !== undefined
      ? ["taskset", ["-c", options.cpu, process.execPath, ...node]]
      : [process.execPath, node];
  const out = options.stdoutFile !== undefined ? openSync(options.stdoutFile, "w") : "ignore";
  const child = spawn(cmd, argv, { stdio: ["ignore", out, "pipe"] });
  if (typeof out === "number") closeSync(out);
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sim exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`${url}/v1/models`);
      if (res.ok) {
        const body = (await res.json()) as { data: { id: string }[] };
        const model = body.data[0]?.id ?? "";
        return {
          url,
          model,
          child,
          stop: () =>
            new Promise((resolve) => {
              if (child.exitCode !== null) return resolve();
              child.once("exit", () => resolve());
              child.kill("SIGTERM");
            }),
        };
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`sim did not become ready in 30 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
