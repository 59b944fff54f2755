/**
 * wrk (Debian's `wrk`, C) as a reference load generator: a closed loop POSTing one fixed body
 * over `connections` keep-alive connections for `durationS` seconds, optionally pinned to CPUs
 * with taskset. `inferplane bench`'s non-streaming throughput is checked against it.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface WrkResult {
  /** Successful (2xx) responses per second. */
  rps: number;
  /** Every response per second, as wrk counts them (errors included). */
  rawRps: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
  /** wrk's latency distribution, ms. */
  p50Ms: number;
  p99Ms: number;
}

const luaString = (s: string) => `[==[${s}]==]`;

function ms(v: string, unit: string): number {
  const n = Number(v);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : unit === "m" ? n * 60_000 : n;
}

export function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = sock ? sock.slice(1, 5).reduce((s, x) => s + Number(x), 0) : 0;
  const lat = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(out);
    return m ? ms(m[1] as string, m[2] as string) : Number.NaN;
  };
  const seconds = /requests in ([\d.]+)(ms|s|m)/.exec(out);
  const wall = seconds ? ms(seconds[1] as string, seconds[2] as string) / 1000 : Number.NaN;
  const good = Number.isFinite(wall) && wall > 0 ? (requests - non2xx) / wall : rps;
  return { rps: good, rawRps: rps, requests, non2xx, socketErrors, p50Ms: lat("50"), p99Ms: lat("99") };
}

export function hasWrk(): boolean {
  try {
    execFileSync("sh", ["-c", "command -v wrk"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export async function runWrk(o: {
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  durationS: number;
  /** taskset CPU list, e.g. "0". */
  cpu?: string;
  threads?: number;
}): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), "inferplane-wrk-"));
  try {
    const script = join(dir, "post.lua");
    const lines = [
      'wrk.method = "POST"',
      `wrk.body = ${luaString(o.body)}`,
      `wrk.headers["content-type"] = "application/json"`,
      ...Object.entries(o.headers).map(([k, v]) => `wrk.headers[ ${luaString(k)} ] = ${luaString(v)}`),
    ];
    writeFileSync(script, `${lines.join("\n")}\n`);
    const args = [
      `-t${o.threads ?? 1}`,
      `-c${o.connections}`,
      `-d${o.durationS}s`,
      "--timeout",
      "10s",
      "--latency",
      "-s",
      script,
      o.url,
    ];
    const [cmd, argv] = o.cpu ? ["taskset", ["-c", o.cpu, "wrk", ...args]] : ["wrk", args];
    const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), (o.durationS + 30) * 1000);
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    clearTimeout(timer);
    if (code !== 0) throw new Error(`wrk failed (${code}): ${stderr}`);
    return parseWrk(stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
