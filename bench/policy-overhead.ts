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
 *     [--connections 16] [--json FILE]
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
  },
});
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
  const targets: { name: string; url: string }[] = [];
  for (const mode of ["off", "memory", "redis"] as const) {
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
observability: {logging: {accessLog: false}}
${gatewaySection(mode)}
`,
    );
    await spawnService({
      name: `gateway-${mode}`,
      cmd: process.execPath,
      args: [CLI, "serve", "-c", file, "--port", String(port)],
      cpu: serverCpu,
      ready: httpReady(`http://127.0.0.1:${port}/healthz`),
    });
    targets.push({ name: mode, url: `http://127.0.0.1:${port}` });
  }
  void sim;
  const body = JSON.stringify({
    model: "chat",
    messages: [{ role: "user", content: "Say hi." }],
    max_tokens: 16,
  });
  const results = new Map<string, { rps: number[]; p50: number[]; p99: number[] }>();
  for (let r = 0; r < rounds; r++) {
    const order = targets.map((_, i) => targets[(i + r) % targets.length] as { name: string; url: string });
    for (const t of order) {
      progress(`round ${r + 1}/${rounds}: ${t.name}`);
      const res = await runLoad(
        {
          mode: "closed",
          url: `${t.url}/v1/chat/completions`,
          headers: { "content-type": "application/json", authorization: `Bearer ${key.key}` },
          body,
          durationS: seconds,
          warmupS: Number(values.warmup),
          connections: Number(values.connections),
        },
        clientCpu,
      );
      if (res.non2xx + res.errors > 0)
        throw new Error(`${t.name}: ${res.non2xx} non-2xx, ${res.errors} errors (${res.firstError ?? ""})`);
      const lat = [...res.latenciesMs].sort((a, b) => a - b);
      const row = results.get(t.name) ?? { rps: [], p50: [], p99: [] };
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
  }));
  console.log(
    `policy overhead: ${rounds} rounds × ${seconds} s closed loop, ${values.connections} connections`,
  );
  console.log("target   req/s   ×off    p50 ms   p99 ms   p50 − off (ms)");
  for (const s of summary) {
    console.log(
      `${s.target.padEnd(8)} ${String(s.rps).padStart(6)}  ${s.rpsVsOff.toFixed(3)}  ${s.p50Ms.toFixed(3).padStart(7)}  ${s.p99Ms.toFixed(3).padStart(7)}  ${s.p50AddedVsOffMs.toFixed(3).padStart(7)}`,
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
