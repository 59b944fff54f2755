/**
 * What the operator console costs the proxy path while nobody has it open: the same
 * non-streaming chat request through `inferplane serve` processes in front of one simulator
 * (`--speed 1000000`: engine time is nil), side by side in one run:
 *   off  — `gateway.console.enabled: false`;
 *   on   — the console on (its routes mounted; no page open, so nothing polls its state);
 *   off2 — the floor again: it must read like `off` (the method's own noise).
 * Each round runs every target (order rotating) closed-loop for `--seconds` after a warm-up;
 * gateway on `--server-cpu`, load generator and simulator on `--client-cpu`.
 *
 *   npm run build && node --import tsx bench/console-overhead.ts [--rounds 3] [--seconds 8]
 *     [--connections 16] [--json FILE]
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { mean, percentile } from "../src/bench/stats.js";
import { runLoad } from "./lib/load-gen.js";
import {
  CLI,
  cpuSeconds,
  freePort,
  gitRevision,
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
const median = (xs: readonly number[]) => percentile(xs, 50);
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const serverCpu = values["server-cpu"];
const clientCpu = values["client-cpu"];

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "inferplane-bench-console-"));
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
  const targets: { name: string; url: string; pid: number | undefined }[] = [];
  const modes = ["off", "on", "off2"] as const;
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
observability: {logging: {accessLog: false}}
gateway: {replicas: 1, console: {enabled: ${mode === "on"}}}
`,
    );
    const gw = await spawnService({
      name: `gateway-${mode}`,
      cmd: process.execPath,
      args: [CLI, "serve", "-c", file, "--port", String(port)],
      cpu: serverCpu,
      ready: httpReady(`http://127.0.0.1:${port}/healthz`),
    });
    targets.push({ name: mode, url: `http://127.0.0.1:${port}`, pid: gw.child.pid });
  }
  void sim;
  for (const t of targets) {
    const status = (await fetch(`${t.url}/console`)).status;
    if (status !== (t.name === "on" ? 200 : 404))
      throw new Error(`${t.name}: GET /console answered ${status} (run npm run build first)`);
  }
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
        headers: { "content-type": "application/json" },
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
    `console overhead: ${rounds} rounds × ${seconds} s closed loop, ${values.connections} connections`,
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
