// Shared helpers for tests that run real services (Redis, Prometheus, llm-d-inference-sim, ...).
// A service module = find/install its binary, pick a free loopback port, spawnService() with a readiness
// probe, return a handle with stop(). Every child is tracked and killed on stop() and on process exit.
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import type { TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

export const HOST = "127.0.0.1";
export const REPO_ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const CACHE_BIN = join(REPO_ROOT, ".cache", "bin");
export const INSTALL_SCRIPT = join(REPO_ROOT, "test", "services", "install.sh");
/** Upper bound for any readiness wait: a hung service fails its test instead of stalling CI. */
export const MAX_READY_MS = 60_000;

/** What every started service hands back; stop() is idempotent. */
export interface Service {
  readonly name: string;
  readonly pid: number;
  readonly dataDir: string;
  /** Last lines of the child's stdout/stderr, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

// ---------- ports ----------

/** A free loopback port: bind port 0, read what the kernel picked, release it. */
export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", fail);
    srv.listen(0, HOST, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? ok(port) : fail(new Error("could not read a free port"))));
    });
  });
}

/** True when nothing listens on HOST:port (we can bind it ourselves). */
export async function isPortFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const srv = createServer();
    srv.once("error", () => ok(false));
    srv.listen(port, HOST, () => srv.close(() => ok(true)));
  });
}

// ---------- waiting ----------

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Shown in the timeout error. */
  what?: string;
  /** Checked before each attempt; a returned message ends the wait at once with that error. */
  abortIf?: () => string | undefined;
}

/** Poll `probe` until it returns something other than undefined; throws after timeoutMs (≤ 60 s). */
export async function waitFor<T>(probe: () => Promise<T | undefined>, opts: WaitOptions = {}): Promise<T> {
  const timeoutMs = Math.min(opts.timeoutMs ?? 30_000, MAX_READY_MS);
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  for (;;) {
    const abort = opts.abortIf?.();
    if (abort !== undefined) throw new Error(abort);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = errorMessage(err);
    }
    if (Date.now() >= deadline) {
      const why = lastError ? ` (last error: ${lastError})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what ?? "condition"}${why}`);
    }
    await sleep(opts.intervalMs ?? 200);
  }
}

/** One GET (bounded to 2 s): true on HTTP 2xx. A ready-probe for spawnService. */
export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await res.arrayBuffer(); // drain so the socket is released
  return res.ok;
}

/** Send one line over TCP and resolve with the first chunk of the reply (e.g. Redis PING). */
export async function tcpRequest(port: number, line: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((ok, fail) => {
    const sock = createConnection({ host: HOST, port });
    sock.setTimeout(timeoutMs, () => sock.destroy(new Error("tcp timeout")));
    sock.once("error", fail);
    sock.once("close", () => fail(new Error("connection closed without a reply"))); // no-op after ok()
    sock.once("connect", () => sock.write(line));
    sock.once("data", (buf) => {
      ok(buf.toString("utf8"));
      sock.end();
    });
  });
}

// ---------- binaries & lazy install ----------

/** Path of an executable: .cache/bin first (go-installed tools), then PATH and the sbin dirs. */
export function findBinary(name: string): string | undefined {
  const dirs = [
    CACHE_BIN,
    ...(process.env.PATH ?? "").split(delimiter),
    "/usr/local/bin",
    "/usr/bin",
    "/usr/sbin",
  ];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

const installs = new Map<string, Promise<string | undefined>>();

/**
 * Path of `binary` after running `install.sh <component>` once per process: install.sh is the single
 * source of truth for "installed" (incl. pinned versions), a ~10 ms no-op when all is there, and takes a
 * file lock so parallel test files don't install twice. INFERPLANE_SERVICES_INSTALL=0 skips it.
 */
export async function ensureBinary(binary: string, component: string): Promise<string> {
  let installError: string | undefined;
  if (process.env.INFERPLANE_SERVICES_INSTALL !== "0") {
    let pending = installs.get(component);
    if (!pending) {
      pending = runInstall(component);
      installs.set(component, pending);
    }
    installError = await pending;
  }
  const found = findBinary(binary);
  if (found) return found; // even if install.sh failed on something else, what we need is here
  throw new Error(
    `${binary} not found${installError ? `; ${installError}` : " (run: bash test/services/install.sh)"}`,
  );
}

async function runInstall(component: string): Promise<string | undefined> {
  const res = await run("bash", [INSTALL_SCRIPT, component], { timeoutMs: 20 * 60_000 });
  if (res.code === 0) return undefined;
  return `install.sh ${component} failed (exit ${res.code}):\n${tail(res.stdout + res.stderr)}`;
}

// ---------- one-shot commands ----------

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command to completion (optional stdin), killed after timeoutMs. Never throws on non-zero exit. */
export async function run(
  cmd: string,
  args: readonly string[],
  opts: { stdin?: string; cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
      timeout: opts.timeoutMs ?? 30_000,
      killSignal: "SIGKILL",
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString("utf8");
    });
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString("utf8");
    });
    child.once("error", fail);
    child.once("close", (code, signal) => {
      if (signal) stderr += `\n[${cmd} killed by ${signal}${signal === "SIGKILL" ? " (timeout?)" : ""}]`;
      ok({ code: code ?? 128, stdout, stderr });
    });
    child.stdin.on("error", () => {}); // the tool may exit before reading stdin
    child.stdin.end(opts.stdin ?? "");
  });
}

// ---------- long-running services ----------

/** Fresh per-instance data dir under the OS tmp dir; removed by stop() / on exit. */
export async function makeDataDir(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `inferplane-${name}-`));
}

export interface SpawnOptions {
  name: string;
  cmd: string;
  args: readonly string[];
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  /** One readiness check; polled until it returns true (a throw counts as "not yet"). */
  ready: () => Promise<boolean>;
  readyTimeoutMs?: number;
}

const live = new Set<{ child: ChildProcess; dataDir: string }>();

/**
 * Spawn a long-running service in its own process group (so wrappers like shell scripts die with it)
 * with cwd = its data dir, then poll `ready`. If the process exits first or readiness times out, it is
 * killed and the error carries its last log lines.
 */
export async function spawnService(opts: SpawnOptions): Promise<Service> {
  installExitHooks();
  const child = spawn(opts.cmd, opts.args, {
    cwd: opts.dataDir,
    env: opts.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const entry = { child, dataDir: opts.dataDir };
  live.add(entry);
  let log = "";
  const capture = (b: Buffer) => {
    log = (log + b.toString("utf8")).slice(-16_000);
    if (process.env.INFERPLANE_SERVICES_DEBUG === "1") process.stderr.write(`[${opts.name}] ${b.toString()}`);
  };
  child.stdout?.on("data", capture);
  child.stderr?.on("data", capture);
  let early: string | undefined;
  child.once("exit", (code, signal) => {
    early ??= `exited early (code ${code}, signal ${signal})`;
  });
  child.once("error", (err) => {
    early ??= `failed to spawn: ${err.message}`;
  });

  let stopping: Promise<void> | undefined;
  const service: Service = {
    name: opts.name,
    pid: child.pid ?? -1,
    dataDir: opts.dataDir,
    logs: () => log,
    stop: () => {
      stopping ??= (async () => {
        await terminate(child);
        live.delete(entry);
        await rm(opts.dataDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };

  try {
    await waitFor(async () => ((await opts.ready()) ? true : undefined), {
      timeoutMs: opts.readyTimeoutMs ?? 30_000,
      what: `${opts.name} readiness`,
      abortIf: () => early,
    });
  } catch (err) {
    await service.stop();
    throw new Error(
      `${opts.name} did not start: ${errorMessage(err)}\n--- ${opts.cmd} output (tail) ---\n${tail(log) || "(none)"}`,
    );
  }
  return service;
}

/** SIGTERM the process group, give it 10 s, then SIGKILL. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const gone = new Promise<void>((ok) => child.once("exit", () => ok()));
  signalGroup(child, "SIGTERM");
  // unref'd timer: a fast exit must not leave the test process waiting 10 s for it
  const timedOut = await Promise.race([gone.then(() => false), sleep(10_000, true, { ref: false })]);
  if (timedOut) {
    signalGroup(child, "SIGKILL");
    await gone;
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal); // negative pid = the whole group (detached: true made one)
  } catch {
    child.kill(signal); // group already gone or not a leader; best effort on the child itself
  }
}

let hooksInstalled = false;

/** Synchronous last-resort cleanup: 'exit' handlers can't await, so SIGKILL and rmSync. */
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const killAll = () => {
    for (const { child, dataDir } of live) {
      signalGroup(child, "SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
    }
    live.clear();
  };
  process.once("exit", killAll);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      killAll();
      process.kill(process.pid, sig); // our once-handler is gone now, so this takes the default action
    });
  }
}

// ---------- test integration ----------

/**
 * Start a service (or run any setup that needs one) for test `t`; a result with a stop() is stopped when
 * the test ends. If it can't be installed or started: with CI=true the test fails with the reason;
 * otherwise the test is skipped (visibly) and this returns undefined, so callers write
 * `const svc = await requireService(t, "redis", () => startRedis()); if (!svc) return;`.
 */
export async function requireService<T extends object>(
  t: TestContext,
  name: string,
  start: () => Promise<T>,
): Promise<T | undefined> {
  let svc: T;
  try {
    svc = await start();
  } catch (err) {
    const reason = `${name} unavailable: ${errorMessage(err)}`;
    if (process.env.CI === "true") throw new Error(`${reason}\n(CI=true: a missing service is a failure)`);
    for (const line of reason.split("\n")) t.diagnostic(line); // full detail; the skip reason stays one line
    t.skip(`${reason.replace(/\s+/g, " ").slice(0, 300)} (set CI=true to fail instead)`);
    return undefined;
  }
  if (isStoppable(svc)) t.after(() => svc.stop());
  return svc;
}

function isStoppable(x: object): x is Pick<Service, "stop"> {
  return typeof (x as { stop?: unknown }).stop === "function";
}

// ---------- small utils ----------

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function tail(text: string, lines = 40): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
