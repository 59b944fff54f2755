/**
 * The simulator's calibration measured through HTTP: `inferplane sim` in its own process, a
 * streaming client in this one, the same experiments as test/sim/calibration.test.ts. The
 * virtual clock runs `--speed` times faster than real time; measured times are scaled back.
 *
 *   npm run build && node --import tsx bench/sim-calibration.ts [--speed 4] [--burst-speed 1] [--tpot-requests 100] [--json FILE]
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { CALIBRATION } from "../src/sim/model/calibration.js";
import { generateWorkload, SHAREGPT_LIKE } from "../src/sim/model/workload.js";
import { startSimProcess } from "./lib/sim-process.js";
import { mean, promptOfTokens, streamCompletion } from "./lib/stream-client.js";

const { values } = parseArgs({
  options: {
    speed: { type: "string", default: "4" },
    // Bursts push 500 streams through one process: at speed 1 the HTTP work stays small against engine time.
    "burst-speed": { type: "string", default: "1" },
    "tpot-requests": { type: "string", default: "100" },
    json: { type: "string" },
  },
});
const speed = Number(values.speed);
const burstSpeed = Number(values["burst-speed"]);
const tpotRequests = Number(values["tpot-requests"]);

async function burst(gpu: string): Promise<number> {
  const sim = await startSimProcess(["--model", "llama-3.1-8b", "--gpu", gpu, "--speed", String(burstSpeed)]);
  try {
    const work = generateWorkload({
      requests: 500,
      rate: Number.POSITIVE_INFINITY,
      ...SHAREGPT_LIKE,
      seed: 7,
    });
    const prompts = work.map((w, i) => promptOfTokens(w.promptTokens, i));
    const start = performance.now();
    const results = await Promise.all(
      work.map((w, i) =>
        streamCompletion(sim.url, {
          model: sim.model,
          prompt: prompts[i],
          max_tokens: w.maxTokens,
          ignore_eos: true,
        }),
      ),
    );
    const seconds = ((performance.now() - start) / 1000) * burstSpeed;
    const failed = results.filter((r) => !r.ok).length;
    if (failed) throw new Error(`${failed} requests failed: ${results.find((r) => !r.ok)?.error}`);
    return 500 / seconds;
  } finally {
    await sim.stop();
  }
}

async function tpot(gpu: string, rate: number): Promise<number> {
  const sim = await startSimProcess(["--model", "llama-3.1-8b", "--gpu", gpu, "--speed", String(speed)]);
  try {
    const work = generateWorkload({ requests: tpotRequests, rate, ...SHAREGPT_LIKE, seed: 7 });
    const start = performance.now();
    const runs = work.map(async (w, i) => {
      const due = start + (w.arrival / speed) * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
      return streamCompletion(sim.url, {
        model: sim.model,
        prompt: promptOfTokens(w.promptTokens, i),
        max_tokens: w.maxTokens,
        ignore_eos: true,
      });
    });
    const results = await Promise.all(runs);
    const per = results
      .filter((r) => r.ok && r.outputTokens > 1)
      .map((r) => (r.e2e - r.ttft) / (r.outputTokens - 1));
    return mean(per) * speed * 1000;
  } finally {
    await sim.stop();
  }
}

async function batchOne(quantization: string | undefined): Promise<number> {
  const args = ["--model", "qwen2.5-7b", "--gpu", "A100-80GB", "--speed", String(speed)];
  if (quantization) args.push("--quantization", quantization);
  const sim = await startSimProcess(args);
  try {
    const r = await streamCompletion(sim.url, {
      model: sim.model,
      prompt: "hi",
      max_tokens: 2048,
      ignore_eos: true,
    });
    if (!r.ok) throw new Error(r.error);
    return r.outputTokens / (r.e2e * speed);
  } finally {
    await sim.stop();
  }
}

const http: Record<string, () => Promise<number>> = {
  "h100-burst": () => burst("H100-80GB"),
  "h100-tpot-2qps": () => tpot("H100-80GB", 2),
  "a100-burst": () => burst("A100-80GB"),
  "a100-tpot-2qps": () => tpot("A100-80GB", 2),
  "qwen-bf16-batch1": () => batchOne(undefined),
  "qwen-awq-batch1": () => batchOne("awq"),
};

const rows: { id: string; published: number; engine: number; http: number; unit: string; band: number }[] =
  [];
for (const point of CALIBRATION) {
  const run = http[point.id];
  if (!run) continue;
  process.stderr.write(`${point.id} …\n`);
  rows.push({
    id: point.id,
    published: point.published,
    engine: point.run(),
    http: await run(),
    unit: point.unit,
    band: point.band,
  });
}
const pct = (x: number, ref: number) => `${(((x - ref) / ref) * 100).toFixed(1)}%`;
console.log(`speed ${speed}× (bursts ${burstSpeed}×), ${tpotRequests} requests for TPOT points`);
console.log("| Experiment | Published | Engine (accelerated) | HTTP | HTTP error | Band |");
console.log("|---|---|---|---|---|---|");
for (const r of rows) {
  const ok = Math.abs(r.http - r.published) / r.published <= r.band ? "" : " ✖";
  console.log(
    `| ${r.id} | ${r.published} ${r.unit} | ${r.engine.toFixed(2)} | ${r.http.toFixed(2)} | ${pct(r.http, r.published)}${ok} | ±${r.band * 100}% |`,
  );
}
if (values.json)
  writeFileSync(values.json, JSON.stringify({ speed, burstSpeed, tpotRequests, rows }, null, 2));
