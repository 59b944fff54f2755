/**
 * The published vLLM figures the simulator is calibrated against, and the experiments that
 * reproduce them on the accelerated engine. Used by the calibration tests, the HTTP benchmark
 * (bench/sim-calibration.ts) and docs/simulator.md.
 */
import { engineConfig } from "./config.js";
import { simulateFleet } from "./fleet.js";
import { generateWorkload, SHAREGPT_LIKE } from "./workload.js";

export interface CalibrationPoint {
  id: string;
  description: string;
  published: number;
  unit: string;
  /** Allowed relative error. */
  band: number;
  source: string;
  run: () => number;
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
const VLLM_BLOG = "vLLM v0.6.0 performance blog (2024-09-05), ShareGPT, one GPU, BF16, Llama-3-8B";
const QWEN_SPEED =
  "Qwen2.5 speed benchmark (QwenLM/Qwen2.5 speed_benchmark.rst), vLLM 0.6.3, A100-80GB, batch 1";

function burstThroughput(gpu: string): number {
  const res = simulateFleet(
    generateWorkload({ requests: 500, rate: Number.POSITIVE_INFINITY, ...SHAREGPT_LIKE, seed: 7 }),
    {
      engine: { model: "llama-3.1-8b", gpu },
    },
  );
  return 500 / res.makespan;
}

function tpotAt(gpu: string, rate: number): number {
  const res = simulateFleet(generateWorkload({ requests: 200, rate, ...SHAREGPT_LIKE, seed: 7 }), {
    engine: { model: "llama-3.1-8b", gpu },
  });
  return mean(res.requests.map((r) => r.tpot)) * 1000;
}

function batchOneDecode(weightFormat: "none" | "awq"): number {
  const cfg = engineConfig({ model: "qwen2.5-7b", gpu: "A100-80GB", weightFormat });
  const res = simulateFleet([{ id: "q", arrival: 0, promptTokens: 1, maxTokens: 2048 }], { engine: cfg });
  return 2048 / res.makespan;
}

export const CALIBRATION: readonly CalibrationPoint[] = [
  {
    id: "h100-burst",
    description: "llama-3.1-8b, H100-80GB: throughput, 500 requests sent at once",
    published: 37,
    unit: "req/s",
    band: 0.2,
    source: VLLM_BLOG,
    run: () => burstThroughput("H100-80GB"),
  },
  {
    id: "h100-tpot-2qps",
    description: "llama-3.1-8b, H100-80GB: mean TPOT at 2 req/s (Poisson)",
    published: 8,
    unit: "ms",
    band: 0.25,
    source: VLLM_BLOG,
    run: () => tpotAt("H100-80GB", 2),
  },
  {
    id: "a100-burst",
    description: "llama-3.1-8b, A100-80GB: throughput, 500 requests sent at once",
    published: 19,
    unit: "req/s",
    band: 0.2,
    source: VLLM_BLOG,
    run: () => burstThroughput("A100-80GB"),
  },
  {
    id: "a100-tpot-2qps",
    description: "llama-3.1-8b, A100-80GB: mean TPOT at 2 req/s (Poisson)",
    published: 13,
    unit: "ms",
    band: 0.25,
    source: VLLM_BLOG,
    run: () => tpotAt("A100-80GB", 2),
  },
  {
    id: "qwen-bf16-batch1",
    description: "qwen2.5-7b BF16, A100-80GB: batch 1, 2,048 generated tokens",
    published: 84.3,
    unit: "tok/s",
    band: 0.15,
    source: QWEN_SPEED,
    run: () => batchOneDecode("none"),
  },
  {
    id: "qwen-awq-batch1",
    description: "qwen2.5-7b AWQ, A100-80GB: batch 1, 2,048 generated tokens",
    published: 148.1,
    unit: "tok/s",
    band: 0.15,
    source: QWEN_SPEED,
    run: () => batchOneDecode("awq"),
  },
];
