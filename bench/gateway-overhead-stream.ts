/**
 * What relaying a token costs: `--streams` concurrent streams of `--tokens` tokens, one every
 * `--itl` ms, from the constant-latency simulator, straight (direct), through Inferplane (this
 * checkout), through another built checkout (`inferplane-baseline`, `--baseline-root`) and
 * through nginx with `proxy_buffering off`, interleaved over `--rounds` rounds in one run. Each
 * server runs alone on `--server-cpu`; the sim and the client share `--client-cpu`. Reported:
 * the server's CPU (user + system, its process tree) per relayed token, its ratio to nginx's,
 * and whether every stream's usage said exactly `--tokens` completion tokens.
 *
 *   npm run build && node --import tsx bench/gateway-overhead-stream.ts [--rounds 2]
 *     [--streams 64] [--tokens 256] [--itl 5] [--baseline-root DIR] [--json FILE] [--cpu-prof DIR]
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { mean } from "../src/bench/stats.js";
import { startGatewayProcess } from "./lib/gateway-process.js";
import { startNginx } from "./lib/nginx.js";
import {
  CLI,
  cpuSeconds,
  freePort,
  hasCommand,
  httpReady,
  progress,
  type Service,
  spawnService,
  stopAll,
} from "./lib/procs.js";
import { rawStream } from "./lib/raw-sse-client.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "2" },
    streams: { type: "string", default: "64" },
    tokens: { type: "string", default: "256" },
    itl: { type: "string", default: "5" },
    ttft: { type: "string", default: "20" },
    "server-cpu": { type: "string", default: "1" },
    "client-cpu": { type: "string", default: "0" },
    targets: { type: "string", default: "direct,inferplane,inferplane-baseline,nginx" },
    "baseline-root": { type: "string" },
    json: { type: "string" },
    "cpu-prof": { type: "string" },
  },
});

const SERVED = "meta-llama/Llama-3.1-8B-Instruct";
const ROUTE = "llama";
const streams = Number(values.streams);
const tokens = Number(values.tokens);
const bodyFor = (model: string) =>
  JSON.stringify({
    model,
    messages: [{ role: "user", content: "Tell me a story." }],
    max_tokens: tokens,
    ignore_eos: true,
    stream: true,
    stream_options: { include_usage: true },
  });

interface Target {
  name: string;
  port: number;
  model: string;
  pid: number | undefined;
  service?: Service;
}

interface Run {
  cpuUsPerToken: number;
  tokens: number;
  exactUsage: boolean;
  errors: number;
  ttftMs: number;
  itlMs: number;
}

async function startTargets(simPort: number, simPid: number | undefined): Promise<Target[]> {
  const wanted = (values.targets ?? "").split(",").filter(Boolean);
  const out: Target[] = [];
  const cpu = values["server-cpu"] ?? "1";
  for (const name of wanted) {
    if (name === "direct") out.push({ name, port: simPort, model: SERVED, pid: simPid });
    else if (name === "inferplane" || name === "inferplane-baseline") {
      const root = values["baseline-root"];
      if (name === "inferplane-baseline" && !root) {
        progress("inferplane-baseline needs --baseline-root: skipped");
        continue;
      }
      const port = await freePort();
      const gw = await startGatewayProcess(
        {
          route: ROUTE,
          source: `hf://${SERVED}`,
          endpoints: [`http://127.0.0.1:${simPort}`],
          balancer: "round-robin",
        },
        {
          port,
          cpu,
          ...(name === "inferplane-baseline" && root ? { root } : {}),
          // V8's profile of this checkout's gateway, written to the folder when it stops.
          ...(name === "inferplane" && values["cpu-prof"]
            ? { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${values["cpu-prof"]}`] }
            : {}),
        },
      );
      out.push({ name, port, model: ROUTE, pid: gw.child.pid, service: gw });
    } else if (name === "nginx") {
      if (!hasCommand("nginx")) {
        progress("nginx not installed (apt-get install -y nginx-light): skipped");
        continue;
      }
      const port = await freePort();
      const ng = await startNginx({ port, cpu, proxyTo: `http://127.0.0.1:${simPort}`, unbuffered: true });
      out.push({ name, port, model: SERVED, pid: ng.child.pid, service: ng });
    }
  }
  return out;
}

async function measure(t: Target): Promise<Run> {
  const body = bodyFor(t.model);
  const cpu0 = cpuSeconds(t.pid);
  const results = await Promise.all(
    Array.from({ length: streams }, () => rawStream("127.0.0.1", t.port, "/v1/chat/completions", body)),
  );
  const cpu = cpuSeconds(t.pid) - cpu0;
  const ok = results.filter((r) => r.errorType === undefined);
  const relayed = ok.reduce((s, r) => s + r.outputTokens, 0);
  return {
    cpuUsPerToken: (cpu * 1e6) / Math.max(1, relayed),
    tokens: relayed,
    exactUsage: ok.length === streams && ok.every((r) => r.outputTokens === tokens),
    errors: results.length - ok.length,
    ttftMs: mean(ok.map((r) => r.ttftMs)),
    itlMs: mean(ok.flatMap((r) => r.itlMs)),
  };
}

async function main(): Promise<void> {
  const simPort = await freePort();
  const sim = await spawnService({
    name: "sim",
    cmd: process.execPath,
    args: [
      CLI,
      "sim",
      "--model",
      "llama-3.1-8b",
      "--time-to-first-token",
      `${values.ttft}ms`,
      "--inter-token-latency",
      `${values.itl}ms`,
      "--port",
      String(simPort),
    ],
    cpu: values["client-cpu"] ?? "0",
    ready: httpReady(`http://127.0.0.1:${simPort}/v1/models`),
  });
  const targets = await startTargets(simPort, sim.child.pid);
  const runs = new Map<string, Run[]>(targets.map((t) => [t.name, []]));
  const rounds = Number(values.rounds);
  for (let round = 0; round < rounds; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length] as Target);
    for (const t of order) {
      await measure(t); // warm-up: connections, JIT
      const r = await measure(t);
      runs.get(t.name)?.push(r);
      progress(
        `round ${round + 1} ${t.name}: ${r.cpuUsPerToken.toFixed(2)} µs/token, ${r.tokens} tokens, exact usage ${r.exactUsage}`,
      );
    }
  }
  const nginx = mean((runs.get("nginx") ?? []).map((r) => r.cpuUsPerToken));
  const summary = [...runs].map(([name, rs]) => {
    const us = mean(rs.map((r) => r.cpuUsPerToken));
    return {
      target: name,
      cpuUsPerToken: Math.round(us * 100) / 100,
      vsNginx: Number.isFinite(nginx) && nginx > 0 ? Math.round((us / nginx) * 100) / 100 : null,
      exactUsage: rs.every((r) => r.exactUsage),
      errors: rs.reduce((s, r) => s + r.errors, 0),
      ttftMs: Math.round(mean(rs.map((r) => r.ttftMs)) * 100) / 100,
      itlMs: Math.round(mean(rs.map((r) => r.itlMs)) * 1000) / 1000,
    };
  });
  console.table(summary);
  if (values.json)
    writeFileSync(
      values.json,
      `${JSON.stringify({ settings: values, summary, runs: Object.fromEntries(runs) }, null, 2)}\n`,
    );
  await stopAll();
}

main().catch(async (err: unknown) => {
  console.error(err);
  await stopAll();
  process.exitCode = 1;
});
