/**
 * Does a hostile upload stall the gateway? One `inferplane serve` process (built: its parse
 * worker is the .js file users run) in front of simulated chat and embedding replicas (`inferplane
 * sim` processes). For each
 * 4 MiB hostile file, uploads of it run back to back on one connection for `--seconds`, while
 * another connection probes `/healthz` and a small chat request (max_tokens 1) in turn every
 * `--interval` ms. Reports p50/p99/max per probe and per file, and the same probes with no upload
 * (baseline). Target: p99 < 50 ms for both probes under every file.
 *
 *   npm run build && node --import tsx bench/ingest-isolation.ts [--seconds 10] [--interval 20] [--json FILE]
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { Agent, request } from "undici";
import { percentile } from "../src/bench/stats.js";
import { bombPdf } from "../test/security/pdf.js";
import { CLI, freePort, gitRevision, httpReady, progress, spawnService, stopAll } from "./lib/procs.js";
import { startSimProcess } from "./lib/sim-process.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    interval: { type: "string", default: "20" },
    json: { type: "string" },
  },
});
const SECONDS = Number(values.seconds);
const INTERVAL = Number(values.interval);
const MIB4 = 4 * 1024 * 1024;

/** Uploads one file back to back until told to stop; posts how many and their statuses. */
const UPLOADER = `
const { parentPort, workerData } = require("node:worker_threads");
let stop = false;
parentPort.once("message", () => { stop = true; });
(async () => {
  const statuses = {};
  let uploads = 0;
  let failure;
  while (!stop) {
    const form = new FormData();
    form.append("file", new Blob([workerData.data]), workerData.file);
    const res = await fetch(workerData.url, { method: "POST", body: form });
    const text = await res.text();
    if (res.status >= 500 && failure === undefined) failure = text.slice(0, 300);
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    uploads++;
  }
  parentPort.postMessage({ uploads, statuses, failure });
})();
`;

/** The hostile files, 4 MiB each. */
function hostileFiles(): { name: string; file: string; data: Buffer }[] {
  const pad = (s: string) => s.repeat(Math.ceil(MIB4 / s.length)).slice(0, MIB4);
  const bomb = bombPdf(1024 * 1024 * 1024); // 1 GiB inflated, ~1 MB packed
  return [
    { name: "html: unclosed <!-- then tags", file: "a.html", data: Buffer.from(`<p>x</p><!--${pad("<a>")}`) },
    {
      name: "html: unclosed <script attribute soup",
      file: "b.html",
      data: Buffer.from(`<script${pad(" a=b")}`),
    },
    { name: "html: 4 MiB of nested <div>", file: "c.html", data: Buffer.from(pad("<div>")) },
    {
      name: "pdf: 1 GiB Flate stream (padded to 4 MiB)",
      file: "bomb.pdf",
      data: Buffer.concat([bomb, Buffer.from(`\n%${"x".repeat(Math.max(0, MIB4 - bomb.length - 2))}\n`)]),
    },
    { name: "jsonl: one line nested 2M deep", file: "d.jsonl", data: Buffer.from(`${pad("[")}\n`) },
    { name: "txt: one 4 MiB word (BPE worst case)", file: "e.txt", data: Buffer.from(pad("qzx")) },
  ];
}

interface Summary {
  p50: number;
  p99: number;
  max: number;
  n: number;
}

function summary(xs: number[]): Summary {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: percentile(xs, 50), p99: percentile(xs, 99), max: s[s.length - 1] ?? 0, n: s.length };
}

async function main(): Promise<void> {
  // Replicas in their own processes: this one's threads (probes, uploader) must not slow them.
  const chat = await startSimProcess(["-m", "llama-3.1-8b", "--gpu", "H100-80GB", "--speed", "1000000"]);
  const embed = await startSimProcess(["-m", "bge-m3", "--gpu", "L4", "--speed", "1000000"]);
  const dir = mkdtempSync(join(tmpdir(), "inferplane-ingest-isolation-"));
  const spec = join(dir, "inferplane.yaml");
  writeFileSync(
    spec,
    `apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: bench}
models:
  - {name: llama, source: hf://meta-llama/Llama-3.1-8B-Instruct, servedModelName: ${chat.model}, endpoints: ["${chat.url}"]}
  - {name: embedder, source: hf://BAAI/bge-m3, servedModelName: ${embed.model}, endpoints: ["${embed.url}"]}
routes:
  - {name: chat, targets: [{model: llama}]}
  - {name: embed, targets: [{model: embedder}]}
gateway:
  maxRequestBytes: 16777216
rag:
  embedding: {route: embed, dimensions: 1024}
  stores:
    vector: {kind: sqlite, path: ${join(dir, "rag.db")}}
    keyword: {kind: sqlite, path: ${join(dir, "rag.db")}}
  ingest: {maxBytes: 8388608}
observability:
  logging: {level: warn}
`,
  );
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  await spawnService({
    name: "gateway",
    cmd: process.execPath,
    args: [CLI, "serve", "-c", spec, "--port", String(port)],
    ready: httpReady(`${base}/healthz`),
  });
  await request(`${base}/v1/rag/collections`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "bench" }),
  }).then((r) => r.body.dump());
  // The probes' own connection: they never queue behind an upload on one socket.
  const probeAgent = new Agent({ connections: 1, pipelining: 1 });

  const probe = async (ms: number) => {
    const health: number[] = [];
    const chatLat: number[] = [];
    const end = performance.now() + ms;
    let turn = 0;
    while (performance.now() < end) {
      const t0 = performance.now();
      if (turn++ % 2 === 0) {
        const r = await request(`${base}/healthz`, { dispatcher: probeAgent });
        await r.body.dump();
        health.push(performance.now() - t0);
      } else {
        const r = await request(`${base}/v1/chat/completions`, {
          dispatcher: probeAgent,
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }], max_tokens: 1 }),
        });
        await r.body.dump();
        chatLat.push(performance.now() - t0);
      }
      const wait = t0 + INTERVAL - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    return { healthz: summary(health), chat: summary(chatLat) };
  };

  const rows: { file: string; uploads: number; statuses: string; healthz: Summary; chat: Summary }[] = [];
  progress("baseline (no upload)");
  rows.push({ file: "baseline (no upload)", uploads: 0, statuses: "", ...(await probe(SECONDS * 1000)) });
  for (const h of hostileFiles()) {
    progress(h.name);
    // The uploader runs on its own thread (its multipart encoding must not delay the probes).
    const uploader = new Worker(UPLOADER, {
      eval: true,
      workerData: { url: `${base}/v1/rag/collections/bench/documents`, file: h.file, data: h.data },
    });
    const done = new Promise<{ uploads: number; statuses: Record<string, number>; failure?: string }>(
      (resolve, reject) => {
        uploader.once("message", resolve);
        uploader.once("error", reject);
      },
    );
    // Let the first upload reach the parser before measuring.
    await new Promise((r) => setTimeout(r, 200));
    const r = await probe(SECONDS * 1000);
    uploader.postMessage("stop");
    const { uploads, statuses, failure } = await done;
    if (failure) progress(`  first 5xx answer: ${failure}`);
    await uploader.terminate();
    rows.push({
      file: h.name,
      uploads,
      statuses: Object.entries(statuses)
        .map(([s, n]) => `${s}×${n}`)
        .join(" "),
      ...r,
    });
  }
  await stopAll();
  await chat.stop();
  await embed.stop();
  await probeAgent.close();

  const f = (x: number) => x.toFixed(1);
  console.log(`\n| file | uploads (status×n) | /healthz p50 / p99 / max ms | chat p50 / p99 / max ms |`);
  console.log("|---|---|---|---|");
  for (const r of rows) {
    console.log(
      `| ${r.file} | ${r.uploads ? `${r.uploads} (${r.statuses})` : "—"} | ${f(r.healthz.p50)} / ${f(r.healthz.p99)} / ${f(r.healthz.max)} (n=${r.healthz.n}) | ${f(r.chat.p50)} / ${f(r.chat.p99)} / ${f(r.chat.max)} (n=${r.chat.n}) |`,
    );
  }
  const worst = Math.max(...rows.map((r) => Math.max(r.healthz.p99, r.chat.p99)));
  console.log(`\nworst p99 ${f(worst)} ms: ${worst < 50 ? "PASS" : "FAIL"} (target < 50 ms)`);
  if (values.json)
    writeFileSync(values.json, JSON.stringify({ ...gitRevision(), seconds: SECONDS, rows }, null, 2));
}

main().catch(async (err: unknown) => {
  await stopAll();
  console.error(err);
  process.exit(1);
});
