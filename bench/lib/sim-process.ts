/** Starts `inferplane sim` as its own process (the built CLI) and waits until it is healthy. */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

export interface SimProcess {
  url: string;
  model: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

const root = new URL("../../", import.meta.url).pathname;

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

export async function startSimProcess(args: string[]): Promise<SimProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [`${root}bin/inferplane.js`, "sim", "--port", String(port), ...args],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
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
