/**
 * Can one sim process carry 1,000 concurrent streams at a 12 ms inter-token latency while its
 * own event loop stays responsive? The sim runs in its own process with `--max-num-seqs 1024`
 * and a `--speed` chosen so that a 1,000-sequence decode step takes 12 ms of real time; this
 * process holds the streams and reads the sim's event-loop lag from its /sim/process-metrics
 * (prom-client's `nodejs_eventloop_lag_p99_seconds`, reset at every scrape).
 *
 *   npm run build && node --import tsx bench/sim-concurrency.ts [--streams 1000] [--tokens 400] [--itl-ms 12]
 */
import { parseArgs } from "node:util";
import { Client } from "../src/bench/client.js";
import { mean, percentile } from "../src/bench/stats.js";
import { syntheticPrompt } from "../src/bench/workload.js";
import { engineConfig } from "../src/sim/model/config.js";
import { EngineCore } from "../src/sim/model/engine.js";
import { startSimProcess } from "./lib/sim-process.js";

const { values } = parseArgs({
  options: {
    streams: { type: "string", default: "1000" },
    tokens: { type: "string", default: "400" },
    "itl-ms": { type: "string", default: "12" },
    model: { type: "string", default: "llama-3.1-8b" },
    gpu: { type: "string", default: "H100-80GB" },
  },
});
const streams = Number(values.streams);
const tokens = Number(values.tokens);
const itlTarget = Number(values["itl-ms"]) / 1000;

// Virtual duration of a decode step with `streams` sequences → the speed that makes it itlTarget.
const cfg = engineConfig({
  model: values.model,
  gpu: values.gpu,
  maxNumSeqs: 1024,
  maxNumBatchedTokens: 16384,
});
const probe = new EngineCore(cfg);
for (let i = 0; i < streams; i++) probe.add({ id: `p${i}`, promptTokens: 16, maxTokens: 3 });
probe.step(0);
const decodeStep = probe.step(1)?.duration ?? 0;
const speed = decodeStep / itlTarget;

async function scrapeLag(url: string): Promise<number> {
  const text = await (await fetch(`${url}/sim/process-metrics`)).text();
  const m = /^nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? (\S+)/m.exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

const sim = await startSimProcess([
  "--model",
  values.model,
  "--gpu",
  values.gpu,
  "--max-num-seqs",
  "1024",
  "--max-num-batched-tokens",
  "16384",
  "--speed",
  speed.toFixed(4),
]);
try {
  await scrapeLag(sim.url); // resets the lag histogram
  const start = performance.now();
  let done = 0;
  const progress = setInterval(() => process.stderr.write(`\r${done}/${streams} streams done`), 500);
  const client = new Client(
    {
      url: sim.url,
      model: sim.model,
      api: "completions",
      stream: true,
      headers: {},
      extraBody: { ignore_eos: true },
      timeoutMs: 600_000,
    },
    streams,
  );
  const results = await Promise.all(
    Array.from({ length: streams }, (_, i) =>
      client.send(client.body([], syntheticPrompt(16, i), tokens), false).then((r) => {
        done++;
        return r;
      }),
    ),
  );
  await client.close();
  clearInterval(progress);
  const wall = (performance.now() - start) / 1000;
  const lagP99 = await scrapeLag(sim.url);
  const ok = results.filter((r) => r.ok && r.outputTokens === tokens);
  // Seconds, as before; gaps under 0.5 ms are tokens that arrived in one read.
  const itl = ok.flatMap((r) => r.itlMs.map((g) => g / 1000)).filter((x) => x > 0.0005);
  const perRequestTpot = ok.map((r) => (r.e2eMs - r.ttftMs) / 1000 / (r.outputTokens - 1));
  console.log(
    JSON.stringify(
      {
        streams,
        tokensPerStream: tokens,
        speed: Number(speed.toFixed(3)),
        virtualDecodeStepMs: Number((decodeStep * 1000).toFixed(2)),
        completed: ok.length,
        failed: streams - ok.length,
        wallSeconds: Number(wall.toFixed(2)),
        meanTpotMs: Number((mean(perRequestTpot) * 1000).toFixed(2)),
        itlP50Ms: Number((percentile(itl, 50) * 1000).toFixed(2)),
        itlP99Ms: Number((percentile(itl, 99) * 1000).toFixed(2)),
        simEventLoopLagP99Ms: Number((lagP99 * 1000).toFixed(2)),
        targets: { meanTpotMs: itlTarget * 1000, simEventLoopLagP99Ms: 5 },
      },
      null,
      2,
    ),
  );
} finally {
  await sim.stop();
}
