/**
 * The simulator's calibration reproduced with `inferplane bench`: each published vLLM figure
 * (src/sim/model/calibration.ts) is measured by running the CLI — `inferplane sim` in its own
 * process, `inferplane bench` in another — with the command printed beside the result, so
 * docs/benchmarks.md can list the commands. Real time (speed 1): about 4 minutes.
 *
 *   npm run build && flock /tmp/bench.lock node --import tsx bench/sim-calibration.ts [--only ID,ID] [--json FILE]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { BenchReport, TargetReport } from "../src/bench/report.js";
import { CALIBRATION } from "../src/sim/model/calibration.js";
import { CLI, progress } from "./lib/procs.js";
import { startSimProcess } from "./lib/sim-process.js";

const { values } = parseArgs({ options: { only: { type: "string" }, json: { type: "string" } } });
const only = values.only?.split(",");

/** ShareGPT-like lengths as the engine-model experiment draws them (SHAREGPT_LIKE). */
const SHAREGPT = ["--input-tokens", "202:0.5:4-1024", "--output-tokens", "179:0.5:4-1024"];

interface Point {
  sim: string[];
  bench: string[];
  figure: (t: TargetReport) => number;
}

const burst = (gpu: string): Point => ({
  sim: ["--model", "llama-3.1-8b", "--gpu", gpu],
  bench: [
    "--api",
    "completions",
    "--ignore-eos",
    ...SHAREGPT,
    "--rate",
    "inf",
    "--requests",
    "500",
    "--warmup",
    "0",
    "--seed",
    "7",
  ],
  figure: (t) => t.requestThroughput,
});
const tpot = (gpu: string): Point => ({
  sim: ["--model", "llama-3.1-8b", "--gpu", gpu],
  bench: [
    "--api",
    "completions",
    "--ignore-eos",
    ...SHAREGPT,
    "--rate",
    "2",
    "--requests",
    "100",
    "--warmup",
    "0",
    "--seed",
    "7",
  ],
  figure: (t) => t.tpotMs.mean,
});
const batchOne = (quantization?: string): Point => ({
  sim: [
    "--model",
    "qwen2.5-7b",
    "--gpu",
    "A100-80GB",
    ...(quantization ? ["--quantization", quantization] : []),
  ],
  bench: [
    "--api",
    "completions",
    "--ignore-eos",
    "--input-tokens",
    "1",
    "--output-tokens",
    "2048",
    "--requests",
    "1",
    "--warmup",
    "0",
  ],
  figure: (t) => t.outputTokenThroughput,
});

const POINTS: Record<string, Point> = {
  "h100-burst": burst("H100-80GB"),
  "h100-tpot-2qps": tpot("H100-80GB"),
  "a100-burst": burst("A100-80GB"),
  "a100-tpot-2qps": tpot("A100-80GB"),
  "qwen-bf16-batch1": batchOne(),
  "qwen-awq-batch1": batchOne("awq"),
};

async function runCli(args: string[]): Promise<void> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  if (code !== 0) throw new Error(`inferplane ${args.join(" ")} exited ${code}: ${err}`);
}

const dir = mkdtempSync(join(tmpdir(), "inferplane-calibration-"));
const rows: {
  id: string;
  published: number;
  engine: number;
  bench: number;
  unit: string;
  band: number;
  command: string;
}[] = [];
try {
  for (const point of CALIBRATION) {
    const p = POINTS[point.id];
    if (!p || (only && !only.includes(point.id))) continue;
    const sim = await startSimProcess(p.sim);
    try {
      const file = join(dir, `${point.id}.json`);
      const args = ["bench", "--url", sim.url, ...p.bench];
      progress(`${point.id}: inferplane ${args.join(" ")}`);
      await runCli([...args, "--json", file]);
      const report = JSON.parse(readFileSync(file, "utf8")) as BenchReport;
      const t = report.targets[0] as TargetReport;
      if (t.requests.failed > 0)
        throw new Error(`${point.id}: ${t.requests.failed} requests failed: ${t.requests.firstError}`);
      rows.push({
        id: point.id,
        published: point.published,
        engine: point.run(),
        bench: p.figure(t),
        unit: point.unit,
        band: point.band,
        command: `inferplane sim ${p.sim.join(" ")} &\ninferplane bench --url http://127.0.0.1:8000 ${p.bench.join(" ")}`,
      });
    } finally {
      await sim.stop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const pct = (x: number, ref: number) => `${(((x - ref) / ref) * 100).toFixed(1)}%`;
console.log("| Experiment | Published | Engine model | inferplane bench (HTTP, real time) | Error | Band |");
console.log("|---|---|---|---|---|---|");
for (const r of rows) {
  const miss = Math.abs(r.bench - r.published) / r.published <= r.band ? "" : " ✖";
  console.log(
    `| ${r.id} | ${r.published} ${r.unit} | ${r.engine.toFixed(2)} | ${r.bench.toFixed(2)} | ${pct(r.bench, r.published)}${miss} | ±${r.band * 100}% |`,
  );
}
for (const r of rows) console.log(`\n# ${r.id}\n${r.command}`);
if (values.json) writeFileSync(values.json, JSON.stringify({ rows }, null, 2));
