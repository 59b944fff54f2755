/**
 * What the gateway policy costs on the request path, side by side in one run: the same
 * non-streaming chat request through three `inferplane serve` processes in front of one
 * simulator (`--speed 1000000`: engine time is nil):
 *   off    — `auth.mode: none` (the default): only the field checks run;
 *   memory — keys on, RPM + TPM limits in the gateway's memory (one replica), usage to SQLite;
 *   redis  — keys on, limits, usage and keys in Redis (what several replicas use).
 * Each round runs every target (order rotating) closed-loop for `--seconds` after a warm-up;
 * gateway on `--server-cpu`, load generator, simulator and Redis on `--client-cpu`.
 *
 *   npm run build && node --import tsx bench/policy-overhead.ts [--rounds 3] [--seconds 8]
 *     [--connections 16] [--before DIR] [--json FILE]
 * `--before DIR` adds a fourth target: `DIR/bin/inferplane.js` (a built checkout from before the
 * policy existed) with the `off` spec, to measure what the off path itself costs.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { mean, percentile } from "../src/bench/stats.js";
import { generateKey } from "../src/gateway/policy/keys.js";
import { runLoad } from "./lib/load-gen.js";
import {
  CLI,
  cpuSeconds,
  freePort,
  gitRevision,
  hasCommand,
  httpReady,
  progress,
  spawnService,
  stopAll,
} from "./lib/procs.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "8" },
    warmup: { type: "string", default: "2" },
    connections: { type: "string", default: "16" },
    "server-cpu": { type: "string", default: "1" },
    "client-cpu": { type: "string", default: "0" },
    json: { type: "string" },
    before: { type: "string" },
    targets: { type: "string" },
  },
});
const median = (xs: readonly number[]) => percentile(xs, 50);
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const serverCpu = values["server-cpu"];
const clientCpu = values["client-cpu"];

async function main() {
  if (!hasCommand("redis-server"))
    throw new Error("redis-server not found (bash test/services/install.sh redis)");
  const dir = mkdtempSync(join(tmpdir(), "inferplane-bench-policy-"));
  const simPort = await freePort();
  const sim = await spawnService({
    name: "sim",
    cmd: process.execPath,
    args: [
      CLI,
      "sim",
      "-m",
      "llama-3.1-8b",
      "--port",
      String(simPort),
      "--speed",
      "1000000",
      "--served-model-name",
      "m",
    ],
    cpu: clientCpu,
    ready: httpReady(`http://127.0.0.1:${simPort}/health`),
  });
  const redisPort = await freePort();
  await spawnService({
    name: "redis",
    cmd: "redis-server",
    args: [
      "--port",
      String(redisPort),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
    ],
    cpu: clientCpu,
    ready: async () => {
      const { createConnection } = await import("node:net");
      return new Promise((ok) => {
        const s = createConnection(redisPort, "127.0.0.1", () => s.end(() => ok(true)));
        s.on("error", () => ok(false));
      });
    },
  });
  const key = generateKey();
  const gatewaySection = (mode: "off" | "memory" | "redis") =>
    mode === "off"
      ? "gateway: {replicas: 1}"
      : [
          "gateway:",
          "  replicas: 1",
          ...(mode === "redis" ? [`  redis: {url: "redis://127.0.0.1:${redisPort}"}`] : []),
          "  auth:",
          "    mode: keys",
          `    store: ${mode === "redis" ? "redis" : "sqlite"}`,
          `    sqlitePath: ${join(dir, `${mode}.db`)}`,
          `    keys: [{name: bench, hash: "${key.hash}", rpm: 100000000, tpm: 2000000000}]`,
        ].join("\n");
  const targets: { name: string; url: string; pid: number | undefined }[] = [];
  // `--before DIR`: a built checkout without the policy, run with the "off" spec (true before/after).
  const all = values.before
    ? (["before", "off", "memory", "redis"] as const)
    : (["off", "memory", "redis"] as const);
  const only = values.targets?.split(",");
  const modes = all.filter((m) => only === undefined || only.includes(m));
  for (const mode of modes) {
    const port = await freePort();
    const file = join(dir, `${mode}.yaml`);
    writeFileSync(
      file,
      `apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: bench}
models:
  - {name: llama, source: hf://meta-llama/Llama-3.1-8B-Instruct, servedModelName: m, endpoints: ["http://127.0.0.1:${simPort}"]}
routes:
  - {name: chat, targets: [{model: llama}]}
${mode === "before" ? "" : "observability: {logging: {accessLog: false}}"}
${gatewaySection(mode === "before" ? "off" : mode)}
`,
    );
    const gw = await spawnService({
      name: `gateway-${mode}`,
      cmd: process.execPath,
      args: [
        mode === "before" ? join(values.before ?? "", "bin/inferplane.js") : CLI,
        "serve",
        "-c",
        file,
        "--port",
        String(port),
      ],
      cpu: serverCpu,
      ready: httpReady(`http://127.0.0.1:${port}/healthz`),
    });
    targets.push({ name: mode, url: `http://127.0.0.1:${port}`, pid: gw.child.pid });
  }
  void sim;
  const body = JSON.stringify({
    model: "chat",
    messages: [{ role: "user", content: "Say hi." }],
    max_tokens: 16,
  });
  const results = new Map<string, { rps: number[]; p50: number[]; p99: number[]; cpuUs: number[] }>();
  const load = (url: string, durationS: number) =>
    runLoad(
      {
        mode: "closed",
        url: `${url}/v1/chat/completions`,
        headers: { "content-type": "application/json", authorization: `Bearer ${key.key}` },
        body,
        durationS,
        warmupS: 0,
        connections: Number(values.connections),
      },
      clientCpu,
    );
  for (const t of targets) {
    progress(`warm-up: ${t.name}`);
    await load(t.url, Number(values.warmup));
  }
  for (let r = 0; r < rounds; r++) {
    const order = targets.map((_, i) => targets[(i + r) % targets.length] as (typeof targets)[number]);
    for (const t of order) {
      progress(`round ${r + 1}/${rounds}: ${t.name}`);
      // CPU time of the gateway process per request: far less sensitive to a busy machine than latency.
      const cpu0 = cpuSeconds(t.pid);
      const res = await load(t.url, seconds);
      const cpuUs = ((cpuSeconds(t.pid) - cpu0) * 1e6) / Math.max(1, res.ok);
      if (res.non2xx + res.errors > 0)
        throw new Error(`${t.name}: ${res.non2xx} non-2xx, ${res.errors} errors (${res.firstError ?? ""})`);
      const lat = [...res.latenciesMs].sort((a, b) => a - b);
      const row = results.get(t.name) ?? { rps: [], p50: [], p99: [], cpuUs: [] };
      row.cpuUs.push(cpuUs);
      row.rps.push(res.rps);
      row.p50.push(percentile(lat, 50));
      row.p99.push(percentile(lat, 99));
      results.set(t.name, row);
    }
  }
  progress("");
  const off = results.get("off");
  const summary = [...results].map(([name, r]) => ({
    target: name,
    rps: Math.round(mean(r.rps)),
    rpsVsOff: off ? Number((mean(r.rps) / mean(off.rps)).toFixed(3)) : 1,
    p50Ms: Number(mean(r.p50).toFixed(3)),
    p99Ms: Number(mean(r.p99).toFixed(3)),
    p50AddedVsOffMs: off ? Number((mean(r.p50) - mean(off.p50)).toFixed(3)) : 0,
    cpuUsPerRequest: Number(median(r.cpuUs).toFixed(1)),
    cpuVsOff: off ? Number((median(r.cpuUs) / median(off.cpuUs)).toFixed(3)) : 1,
  }));
  console.log(
    `policy overhead: ${rounds} rounds × ${seconds} s closed loop, ${values.connections} connections`,
  );
  console.log("target   gateway CPU µs/req (median)  ×off    req/s   ×off    p50 ms   p99 ms");
  for (const s of summary) {
    console.log(
      `${s.target.padEnd(8)} ${s.cpuUsPerRequest.toFixed(1).padStart(27)}  ${s.cpuVsOff.toFixed(3)}  ${String(s.rps).padStart(6)}  ${s.rpsVsOff.toFixed(3)}  ${s.p50Ms.toFixed(3).padStart(7)}  ${s.p99Ms.toFixed(3).padStart(7)}`,
    );
  }
  if (values.json)
    writeFileSync(
      values.json,
      `${JSON.stringify({ revision: gitRevision(), summary, raw: Object.fromEntries(results) }, null, 2)}\n`,
    );
}

main()
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  })
  .finally(() => stopAll());
