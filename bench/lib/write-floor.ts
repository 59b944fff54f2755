/**
 * The floor under a streaming server's per-token cost: one small socket write per stream per
 * step, and nothing else. A child process (pinned like the sim) accepts N connections from this
 * process and, every `stepMs`, writes one SSE-sized HTTP chunk to each with `socket.write`; this
 * process only reads. Reports the writer's CPU per write, user and system (the kernel's loopback
 * TCP send, which on Linux also runs the receiving socket's input path).
 */
import { spawn } from "node:child_process";
import { connect } from "node:net";

const WRITER = `
const net = require("node:net");
const [n, steps, stepMs] = process.argv.slice(1).map(Number);
const payload = 'data: {"id":"cmpl-0123456789abcdef1","object":"text_completion","created":1764200000,"model":"meta-llama/Llama-3.1-8B-Instruct","choices":[{"index":0,"text":" word","logprobs":null,"finish_reason":null}]}\\n\\n';
const chunk = payload.length.toString(16) + "\\r\\n" + payload + "\\r\\n";
const socks = [];
const server = net.createServer({ noDelay: true }, (s) => {
  socks.push(s);
  if (socks.length === n) run();
});
server.listen(0, "127.0.0.1", 2048, () => process.stdout.write(String(server.address().port) + "\\n"));
async function run() {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    const st = performance.now();
    for (const sock of socks) sock.write(chunk);
    await new Promise((r) => setTimeout(r, Math.max(0, stepMs - (performance.now() - st))));
  }
  const c = process.cpuUsage(c0);
  const writes = n * steps;
  process.stdout.write(JSON.stringify({ writes, wallS: (performance.now() - t0) / 1000, userUs: c.user / writes, systemUs: c.system / writes }) + "\\n");
  for (const s of socks) s.destroy();
  server.close();
}
`;

export interface WriteFloor {
  writes: number;
  usPerWrite: number;
  userUsPerWrite: number;
  systemUsPerWrite: number;
  writerCpuUtilisation: number;
}

export async function writeFloor(
  n: number,
  steps: number,
  stepMs: number,
  cpu?: string,
): Promise<WriteFloor> {
  const args = ["-e", WRITER, String(n), String(steps), String(stepMs)];
  const child =
    cpu !== undefined
      ? spawn("taskset", ["-c", cpu, process.execPath, ...args], { stdio: ["ignore", "pipe", "inherit"] })
      : spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  const lines: string[] = [];
  let partial = "";
  let onLine: (() => void) | undefined;
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (d: string) => {
    partial += d;
    let i = partial.indexOf("\n");
    while (i >= 0) {
      lines.push(partial.slice(0, i));
      partial = partial.slice(i + 1);
      i = partial.indexOf("\n");
      onLine?.();
    }
  });
  const line = (k: number) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        if (lines.length > k) resolve(lines[k] as string);
      };
      onLine = check;
      child.once("exit", () => reject(new Error("the writer exited early")));
      check();
    });
  const port = Number(await line(0));
  for (let i = 0; i < n; i++) {
    const s = connect({ host: "127.0.0.1", port, noDelay: true });
    s.on("data", () => {}); // read and drop
    s.on("error", () => {});
  }
  const r = JSON.parse(await line(1)) as { writes: number; wallS: number; userUs: number; systemUs: number };
  child.kill();
  const round = (x: number) => Number(x.toFixed(2));
  return {
    writes: r.writes,
    usPerWrite: round(r.userUs + r.systemUs),
    userUsPerWrite: round(r.userUs),
    systemUsPerWrite: round(r.systemUs),
    writerCpuUtilisation: round(((r.userUs + r.systemUs) * r.writes) / 1e6 / r.wallS),
  };
}
