// Gateway processes for the multi-replica tests, started through the real CLI (`inferplane serve`),
// their output written to the suite's log directory.
import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import {
  ensureBinary,
  freePort,
  HOST,
  makeDataDir,
  REPO_ROOT,
  type Service,
  spawnService,
  tcpRequest,
} from "../../services/harness.js";
import { logStream } from "./test-logs.js";

const CLI = fileURLToPath(new URL("./cli-process.ts", import.meta.url));

export interface GatewayProcess {
  url: string;
  /** Where its stdout and stderr go (in the suite's log directory). */
  logFile: string;
  child: ChildProcess;
  stop(): Promise<number | null>;
}

export async function startGatewayProcess(
  name: string,
  specFile: string,
  env: NodeJS.ProcessEnv,
): Promise<GatewayProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ["--import", "tsx", CLI, "serve", "-c", specFile, "--port", String(port)],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const out = logStream(name);
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = `http://${HOST}:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway ${name} exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`gateway ${name} did not start`);
    await sleep(100);
  }
  return {
    url,
    logFile: String(out.path),
    child,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** A Redis on a fixed port, so a test can stop it and bring it back where the gateways expect it. */
export async function startRedisAt(port?: number): Promise<Service & { port: number; url: string }> {
  const bin = await ensureBinary("redis-server", "redis");
  const p = port ?? (await freePort());
  const dataDir = await makeDataDir("redis-policy");
  const svc = await spawnService({
    name: "redis",
    cmd: bin,
    args: [
      "--port",
      String(p),
      "--bind",
      HOST,
      "--dir",
      dataDir,
      "--save",
      "",
      "--appendonly",
      "no",
      "--daemonize",
      "no",
    ],
    dataDir,
    ready: async () => (await tcpRequest(p, "PING\r\n")).startsWith("+PONG"),
  });
  return Object.assign(svc, { port: p, url: `redis://${HOST}:${p}` });
}
