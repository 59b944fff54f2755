/**
 * What the planner's phases share: a pool as the planner sees it (its GPU, nodes, price, fixed
 * MIG geometries), the model chosen for it, and the constants of the cost model.
 */
import { type GpuSpec, getGpu, priceMidpoint } from "../catalog/gpus.js";
import type { GpuPool } from "../spec/schema.js";
import type { PackItem } from "./packing.js";
import type { ModelPlan } from "./types.js";

/** Hours in an average month: 8,760 / 12. */
export const HOURS_PER_MONTH = 730;
/**
 * Spot discount when a spot pool gives none: AWS and GCP spot GPU prices typically sit 60–70%
 * below on demand (AWS "Spot Instance advisor" savings column; GCP "Spot VMs pricing"), the
 * guide assumes 70%.
 */
export const DEFAULT_SPOT_DISCOUNT = 0.6;
/** Time-sliced replicas together may set at most this much gpu_memory_utilization per GPU: the
 * driver, and each process's CUDA context, take memory outside vLLM's budget. */
export const TIME_SLICE_MEMORY_CAP = 0.95;
export interface PoolInfo {
  pool: GpuPool;
  gpu: GpuSpec;
  perNode: number;
  price: number;
  spotDiscount: number;
  fixed: (string[] | null)[];
}

export interface Chosen {
  plan: ModelPlan;
  pool: PoolInfo;
  /** Packing item per replica. */
  item: (key: string) => PackItem;
}

/**
 * GPU Feature Discovery's product label for a pool's nodes. Time slicing and MPS (with
 * `renameByDefault: false`) append `-SHARED`; MIG strategy `single` appends `-MIG-<profile>`,
 * which is not knowable per pool, so single-strategy pools need their own `nodeSelector`
 * (NVIDIA k8s-device-plugin README, "Deploying with gpu-feature-discovery").
 */
export function productSelector(info: PoolInfo): Record<string, string> {
  const mode = info.pool.sharing.mode;
  const shared = mode === "time-slicing" || mode === "mps";
  return { "nvidia.com/gpu.product": `${info.gpu.nvidiaProductName}${shared ? "-SHARED" : ""}` };
}

export function poolInfo(pool: GpuPool): PoolInfo {
  const gpu = getGpu(pool.type);
  const fixed: (string[] | null)[] = Array.from({ length: pool.count }, () => null);
  if (pool.sharing.mode === "mig") {
    let k = 0;
    for (const layout of pool.sharing.mig?.layouts ?? []) {
      for (let j = 0; j < layout.gpus && k < pool.count; j++) fixed[k++] = [...layout.profiles];
    }
  }
  return {
    pool,
    gpu,
    perNode: pool.gpusPerNode ?? Math.min(pool.count, 8),
    price: pool.pricePerGpuHour ?? priceMidpoint(gpu),
    spotDiscount: pool.spot ? (pool.spotDiscount ?? DEFAULT_SPOT_DISCOUNT) : 0,
    fixed,
  };
}

export const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
export const fmtS = (s: number) => (s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(2)} s`);
