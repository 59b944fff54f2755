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
