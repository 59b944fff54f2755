/**
 * Specs for the guide's scenarios, built in code so tests and the benchmark share them.
 * The guide: "Need: 100 inference services × 1 GPU = 100 GPU; Reality: 8 × A100" (GPU scarcity),
 * and its cost table (FP16 exclusive on 4 × A100 → INT4 → INT4 + MIG → + HPA → + spot).
 */
import { stringify } from "yaml";
import { parseSpec } from "../../src/spec/load.js";
import type { Platform } from "../../src/spec/schema.js";

export interface ServiceShape {
  name: string;
  source: string;
  quantization?: string;
  rate: number;
  inputTokens?: number;
  outputTokens?: number;
  maxModelLen?: number;
  ttft?: string;
  tpot?: string;
  dailyProfile?: number[];
  minReplicas?: number;
  count?: number | "auto";
  migProfile?: string;
  replicas?: number;
}

export interface PoolShape {
  name?: string;
  type: string;
  count: number;
  gpusPerNode?: number;
  mode: "exclusive" | "mig" | "time-slicing";
  shares?: number;
  price?: number;
  spot?: boolean;
  spotDiscount?: number;
}

export function specText(pool: PoolShape, services: readonly ServiceShape[]): string {
  const poolName = pool.name ?? "gpu";
  const doc = {
    apiVersion: "inferplane.dev/v1",
    kind: "Platform",
    metadata: { name: "planner-scenario" },
    gpus: [
      {
        name: poolName,
        type: pool.type,
        count: pool.count,
        ...(pool.gpusPerNode ? { gpusPerNode: pool.gpusPerNode } : {}),
        sharing: { mode: pool.mode, ...(pool.mode === "time-slicing" ? { replicas: pool.shares ?? 4 } : {}) },
        ...(pool.price !== undefined ? { pricePerGpuHour: pool.price } : {}),
        ...(pool.spot ? { spot: true } : {}),
        ...(pool.spotDiscount !== undefined ? { spotDiscount: pool.spotDiscount } : {}),
      },
    ],
    models: services.map((s) => ({
      name: s.name,
      source: s.source,
      ...(s.quantization ? { quantization: s.quantization } : {}),
      maxModelLen: s.maxModelLen ?? 4096,
      gpu: {
        pool: poolName,
        ...(s.migProfile ? { migProfile: s.migProfile } : { count: s.count ?? "auto" }),
      },
      replicas: s.replicas ?? s.minReplicas ?? 1,
      ...(s.minReplicas !== undefined
        ? { autoscaling: { minReplicas: s.minReplicas, maxReplicas: 16 } }
        : {}),
      load: {
        requestsPerSecond: s.rate,
        inputTokens: s.inputTokens ?? 512,
        outputTokens: s.outputTokens ?? 256,
        ...(s.dailyProfile ? { dailyProfile: s.dailyProfile } : {}),
      },
      slo: { ttft: s.ttft ?? "2s", tpot: s.tpot ?? "100ms", percentile: 99 },
    })),
  };
  return stringify(doc);
}

export function scenarioSpec(pool: PoolShape, services: readonly ServiceShape[]): Platform {
  return parseSpec(specText(pool, services)).platform;
}

/** The guide's 100 small services: Qwen2.5-7B-Instruct-AWQ at low load each. */
export function hundredSmallServices(rate = 0.05): ServiceShape[] {
  return Array.from({ length: 100 }, (_, i) => ({
    name: `svc-${String(i).padStart(3, "0")}`,
    source: "hf://Qwen/Qwen2.5-7B-Instruct-AWQ",
    rate,
  }));
}

/** The guide's A100-80GB monthly price ($2,100 a month, 730 h): $2.877 per GPU-hour. */
export const GUIDE_A100_HOURLY = 2100 / 730;

/** Half the day at peak, half idle (the guide's "idle 0.5"): 08:00–20:00 busy. */
export const HALF_DAY_IDLE = Array.from({ length: 24 }, (_, h) => (h >= 8 && h < 20 ? 1 : 0));

export interface CostScenario {
  label: string;
  /** The guide's monthly figure. */
  guideUsd: number;
  guideConfig: string;
  spec: Platform;
}

const QWEN_FP16 = "hf://Qwen/Qwen2.5-7B-Instruct";
const QWEN_AWQ = "hf://Qwen/Qwen2.5-7B-Instruct-AWQ";

/**
 * The guide's cost table ("Cost Calculation Example"), each row as the spec it describes:
 * Qwen2.5-7B, 2 replicas, at `rate` requests per second in total.
 */
export function guideCostScenarios(rate = 1): CostScenario[] {
  const price = GUIDE_A100_HOURLY;
  const a100 = (mode: PoolShape["mode"], count: number, extra: Partial<PoolShape> = {}): PoolShape => ({
    type: "A100-80GB",
    count,
    mode,
    price,
    ...extra,
  });
  const svc = (s: Partial<ServiceShape>): ServiceShape => ({ name: "qwen7b", source: QWEN_AWQ, rate, ...s });
  return [
    {
      label: "Baseline: FP16 exclusive",
      guideUsd: 8400,
      guideConfig: "4 × A100 80GB, 2 replicas × 2 GPU",
      spec: scenarioSpec(a100("exclusive", 4), [svc({ source: QWEN_FP16, count: 2, replicas: 2 })]),
    },
    {
      label: "INT4 quantized",
      guideUsd: 4200,
      guideConfig: "2 × A100 80GB, 2 replicas × 1 GPU",
      spec: scenarioSpec(a100("exclusive", 2), [svc({ count: 1, replicas: 2 })]),
    },
    {
      label: "INT4 + MIG",
      guideUsd: 2100,
      guideConfig: "1 × A100 80GB, 1 replica × 1 MIG instance",
      spec: scenarioSpec(a100("mig", 1), [svc({ migProfile: "1g.10gb", replicas: 1 })]),
    },
    {
      label: "INT4 + MIG + HPA",
      guideUsd: 1400,
      guideConfig: "1 × A100 80GB (idle 0.5), scale to 1 replica when idle",
      spec: scenarioSpec(a100("mig", 1), [
        svc({ migProfile: "1g.10gb", minReplicas: 1, replicas: 1, dailyProfile: HALF_DAY_IDLE }),
      ]),
    },
    {
      label: "INT4 + MIG + HPA + spot",
      guideUsd: 420,
      guideConfig: "1 × A100 spot, 70% discount",
      spec: scenarioSpec(a100("mig", 1, { spot: true, spotDiscount: 0.7 }), [
        svc({ migProfile: "1g.10gb", minReplicas: 1, replicas: 1, dailyProfile: HALF_DAY_IDLE }),
      ]),
    },
  ];
}
