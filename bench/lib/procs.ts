/**
 * Child processes for benchmarks: spawn a server (optionally pinned to one CPU with `taskset`),
 * wait until it answers, stop it (SIGTERM, then SIGKILL after a grace period). Every wait is
 * bounded; nothing here outlives the benchmark that started it.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { freePort } from "./sim-process.js";

export { freePort };

export const ROOT = new URL("../../", import.meta.url).pathname;
export const CLI = `${ROOT}bin/inferplane.js`;

const found = new Map<string, boolean>();

/** Whether `name` is an executable on PATH. */
export function hasCommand(name: string): boolean {
  let ok = found.get(name);
  if (ok === undefined) {
    try {
      execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
      ok = true;
    } catch {
      ok = false;
    }
    found.set(name, ok);
  }
  return ok;
}

/** `cmd args` pinned to `cpu` (a taskset list such as "1" or "0,1") when taskset exists. */
export function pinned(cpu: string | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  if (cpu === undefined || cpu === "" || !hasCommand("taskset")) return [cmd, [...args]];
  return ["taskset", ["-c", cpu, cmd, ...args]];
}

/**
 * Pins this process, every thread of it, to `cpu`: a benchmark's own in-process servers (an OTLP
 * sink, a counting upstream) then stay off the core under measurement.
 */
export function pinSelf(cpu: string | undefined): void {
  if (cpu === undefined || cpu === "" || !hasCommand("taskset")) return;
  spawnSync("taskset", ["-a", "-cp", cpu, String(process.pid)], { stdio: "ignore" });
}

export interface Service {
  name: string;
  child: ChildProcess;
  /** The last 8 KiB of its stdout and stderr. */
  output(): string;
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  cmd: string;
  args: readonly string[];
  cpu?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolves true when the service is ready; polled every 100 ms. */
  ready: () => Promise<boolean>;
  /** Longest wait for readiness (default 60 s). */
  timeoutMs?: number;
}

const running = new Set<Service>();

/** Stops every service still running (also called on SIGINT/SIGTERM of the benchmark). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop(2_000)));
}

let hooked = false;
function hookSignals(): void {
  if (hooked) return;
  hooked = true;
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`\n${sig}: stopping services\n`);
    void stopAll().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
}

export async function spawnService(o: SpawnOptions): Promise<Service> {
  hookSignals();
  const [cmd, args] = pinned(o.cpu, o.cmd, o.args);
  const child = spawn(cmd, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: o.env ?? process.env,
    ...(o.cwd ? { cwd: o.cwd } : {}),
    // Its own process group, so that stop() reaches what it spawned (npx → node).
    detached: true,
  });
  let out = "";
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-8192);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const service: Service = {
    name: o.name,
    child,
    output: () => out,
    async stop(graceMs = 3_000) {
      running.delete(service);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const kill = (sig: NodeJS.Signals) => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, sig);
        } catch {
          child.kill(sig);
        }
      };
      kill("SIGTERM");
      const timer = setTimeout(() => kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(service);
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) {
      running.delete(service);
      throw new Error(`${o.name} exited with ${child.exitCode}: ${out}`);
    }
    if (await o.ready().catch(() => false)) return service;
    if (Date.now() > deadline) {
      await service.stop(500);
      throw new Error(`${o.name} was not ready in ${(o.timeoutMs ?? 60_000) / 1000} s: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A readiness probe: `url` answers with a status below 500 (any method not needed). */
export function httpReady(url: string, init: RequestInit = {}): () => Promise<boolean> {
  return async () => {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status < 500;
  };
}

/** Runs a command to completion (bounded by `timeoutMs`), pinned when `cpu` is given; returns stdout. */
export async function runToEnd(
  cmdIn: string,
  argsIn: readonly string[],
  o: { cpu?: string; timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [cmd, args] = pinned(o.cpu, cmdIn, argsIn);
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: o.env ?? process.env });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-16384);
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Progress on stderr. */
export function progress(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

const CLK_TCK = 100; // Linux USER_HZ

/** [ppid, utime + stime in ticks] of a process from /proc, or undefined when it is gone. */
function procStat(pid: number): [number, number] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return [Number(rest[1]), Number(rest[11]) + Number(rest[12])];
  } catch {
    return undefined;
  }
}

/** `pid` and every live descendant process, from /proc. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(Number(name));
    if (!s) continue;
    const list = children.get(s[0]) ?? [];
    list.push(Number(name));
    children.set(s[0], list);
  }
  const out: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/**
 * CPU seconds (user + system, all threads) used so far by `pid` and every live descendant
 * (nginx's worker, npx's node), from /proc; NaN where /proc is missing.
 */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined || !existsSync("/proc/self/stat")) return Number.NaN;
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(Number(name));
    if (!s) continue;
    ticks.set(Number(name), s[1]);
    const list = children.get(s[0]) ?? [];
    list.push(Number(name));
    children.set(s[0], list);
  }
  let total = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    total += ticks.get(p) ?? 0;
    stack.push(...(children.get(p) ?? []));
  }
  return total / CLK_TCK;
}

/** The commit the benchmark ran on, and whether src/ had uncommitted changes (for reports). */
export function gitRevision(): { commit: string; srcDirty: boolean } {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT }).toString().trim();
    const dirty =
      execFileSync("git", ["status", "--porcelain", "src"], { cwd: ROOT }).toString().trim() !== "";
    return { commit, srcDirty: dirty };
  } catch {
    return { commit: "unknown", srcDirty: false };
  }
}
