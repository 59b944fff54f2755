/**
 * GPU facts: memory, bandwidth, dense tensor throughput, MIG geometry and price ranges.
 *
 * Data, not logic. Every number names where it comes from. Conventions:
 * - `memoryGB` is the marketing (nominal) size; `memoryBytes` is what `nvidia-smi` reports as
 *   the device total (MiB × 2^20), i.e. what CUDA and vLLM's `gpu_memory_utilization` see.
 * - Throughput is DENSE (no 2:4 structured sparsity). NVIDIA datasheets print the sparse figure
 *   for Ampere/Hopper/Ada with an asterisk; we halve it.
 * - Bandwidth is bytes per second (decimal: 1 TB/s = 1e12 B/s, as datasheets use).
 */
import { InferplaneError } from "../errors.js";

export const GPU_IDS = [
  "A100-40GB",
  "A100-80GB",
  "H100-80GB",
  "H100-NVL-94GB",
  "H200-141GB",
  "L40S",
  "L4",
  "T4",
  "A10G",
  "A30",
] as const;

export type GpuId = (typeof GPU_IDS)[number];

export type GpuArchitecture = "Turing" | "Ampere" | "Ada Lovelace" | "Hopper";

/** One MIG GPU-instance profile on one GPU model. */
export interface MigProfile {
  /** Profile name as `nvidia-smi mig -lgip` and the device plugin spell it: `3g.40gb`. */
  name: string;
  /** Compute slices (the `Ng` part). */
  computeSlices: number;
  /** Memory slices the instance occupies (the placement `size`). */
  memorySlices: number;
  /** Most instances of this profile one GPU can hold. */
  maxInstances: number;
  /** Framebuffer the instance actually reports, MiB (below the nominal name). */
  memoryMiB: number;
  /** Legal placement start slots on the memory-slice axis (`nvidia-smi mig -lgipp`). */
  starts: readonly number[];
}

export interface MigSlices {
  /** Compute slices on the GPU (7 on A100/H100/H200, 4 on A30). */
  compute: number;
  /** Memory slices on the placement axis (8 on A100/H100/H200, 4 on A30). */
  memory: number;
}

interface MigGeometry {
  slices: MigSlices;
  profiles: readonly MigProfile[];
}

export interface PriceRange {
  /** USD per GPU-hour, on demand. */
  low: number;
  high: number;
  /** Where the range comes from and when. */
  note: string;
}

export interface GpuSpec {
  id: GpuId;
  vendor: "nvidia";
  architecture: GpuArchitecture;
  /** Form factor the numbers below describe. */
  formFactor: string;
  /** `nvidia.com/gpu.product` label value set by GPU Feature Discovery (nvidia-smi name, spaces → `-`). */
  nvidiaProductName: string;
  /** Other product names that are the same catalog entry (PCIe boards, NVL variants). */
  nvidiaProductNameAliases: readonly string[];
  /** Nominal (marketing) memory size in GB. */
  memoryGB: number;
  /** Device memory as the driver reports it, bytes. */
  memoryBytes: number;
  /** `memoryBytes` in GiB, for display. */
  memoryGiB: number;
  memoryType: "GDDR6" | "HBM2" | "HBM2e" | "HBM3" | "HBM3e";
  /** Peak memory bandwidth, bytes/s. */
  memoryBandwidthBytesPerSec: number;
  /** Dense BF16 tensor FLOP/s; `null` where the chip has no BF16 (T4). */
  bf16Flops: number | null;
  /** Dense FP16 tensor FLOP/s (FP32 accumulate where the datasheet distinguishes). */
  fp16Flops: number;
  /** Dense FP8 tensor FLOP/s; `null` before Ada/Hopper. */
  fp8Flops: number | null;
  /** Dense INT8 tensor OP/s; `null` where NVIDIA publishes none (A10G). */
  int8Ops: number | null;
  /** MIG slice counts; `null` where the GPU has no MIG. */
  migSlices: MigSlices | null;
  /** MIG GPU-instance profiles; empty where the GPU has no MIG. */
  migProfiles: readonly MigProfile[];
  price: PriceRange;
  /** Where the spec numbers come from. */
  source: string;
}

const MiB = 1024 * 1024;
const T = 1e12;

function deviceMemory(mib: number): { memoryBytes: number; memoryGiB: number } {
  return { memoryBytes: mib * MiB, memoryGiB: Math.round((mib / 1024) * 100) / 100 };
}

// ---------------------------------------------------------------------------------------------
// MIG profiles.
// Geometry and placements: NVIDIA MIG user guide "Supported MIG Profiles" and `nvidia-smi mig
// -lgipp` on A100/H100 ({0..6}:1 for 1g, {0,2,4,6}:2 for the doubled 1g, {0,2,4}:2 for 2g,
// {0,4}:4 for 3g, {0}:4 for 4g, {0}:8 for 7g). Profile sets per GPU: mig-parted
// `deployments/systemd/config-default.yaml` / GPU Operator `default-mig-parted-config`.
// Usable memory per profile (MiB): NVIDIA/go-nvml `pkg/nvml/mock/gpus` memorySizeMB for A100;
// `nvidia-smi mig -lgip` transcripts (GiB × 1024) for H100 80GB, H100 NVL and H200; A30
// 1g/2g from `nvidia-smi` MIG-device listings (driver 550). Values move by ±1–2% across drivers.
// ---------------------------------------------------------------------------------------------

function mig(g: MigGeometry): { migSlices: MigSlices; migProfiles: readonly MigProfile[] } {
  return { migSlices: g.slices, migProfiles: g.profiles };
}

const NO_MIG: { migSlices: null; migProfiles: readonly MigProfile[] } = { migSlices: null, migProfiles: [] };

const A100_STYLE_STARTS = {
  one: [0, 1, 2, 3, 4, 5, 6],
  oneDouble: [0, 2, 4, 6],
  two: [0, 2, 4],
  three: [0, 4],
  four: [0],
  seven: [0],
} as const;

/** The 7-compute / 8-memory-slice family (A100, H100, H200): names and MiB differ per SKU. */
function eightSliceProfiles(
  names: [string, string, string, string, string, string],
  mib: [number, number, number, number, number, number],
): MigProfile[] {
  const [n1, n1d, n2, n3, n4, n7] = names;
  const [m1, m1d, m2, m3, m4, m7] = mib;
  return [
    {
      name: n1,
      computeSlices: 1,
      memorySlices: 1,
      maxInstances: 7,
      memoryMiB: m1,
      starts: A100_STYLE_STARTS.one,
    },
    {
      name: n1d,
      computeSlices: 1,
      memorySlices: 2,
      maxInstances: 4,
      memoryMiB: m1d,
      starts: A100_STYLE_STARTS.oneDouble,
    },
    {
      name: n2,
      computeSlices: 2,
      memorySlices: 2,
      maxInstances: 3,
      memoryMiB: m2,
      starts: A100_STYLE_STARTS.two,
    },
    {
      name: n3,
      computeSlices: 3,
      memorySlices: 4,
      maxInstances: 2,
      memoryMiB: m3,
      starts: A100_STYLE_STARTS.three,
    },
    {
      name: n4,
      computeSlices: 4,
      memorySlices: 4,
      maxInstances: 1,
      memoryMiB: m4,
      starts: A100_STYLE_STARTS.four,
    },
    {
      name: n7,
      computeSlices: 7,
      memorySlices: 8,
      maxInstances: 1,
      memoryMiB: m7,
      starts: A100_STYLE_STARTS.seven,
    },
  ];
}

const MIG_A100_40GB: MigGeometry = {
  slices: { compute: 7, memory: 8 },
  // go-nvml mock a100 (40 GB): 4864 / 9856 / 9856 / 19968 / 19968 / 40192 MiB.
  profiles: eightSliceProfiles(
    ["1g.5gb", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"],
    [4864, 9856, 9856, 19968, 19968, 40192],
  ),
};

const MIG_A100_80GB: MigGeometry = {
  slices: { compute: 7, memory: 8 },
  // go-nvml mock a100 (80 GB): 9856 / 19968 / 19968 / 40192 / 40192 / 80384 MiB.
  profiles: eightSliceProfiles(
    ["1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"],
    [9856, 19968, 19968, 40192, 40192, 80384],
  ),
};

const MIG_H100_80GB: MigGeometry = {
  slices: { compute: 7, memory: 8 },
  // `nvidia-smi mig -lgip` on H100 80GB (16 SMs per slice): 9.75 / 19.62 / 19.62 / 39.50 /
  // 39.50 / 79.25 GiB.
  profiles: eightSliceProfiles(
    ["1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"],
    [9984, 20096, 20096, 40448, 40448, 81152],
  ),
};

const MIG_H100_NVL: MigGeometry = {
  slices: { compute: 7, memory: 8 },
  // `nvidia-smi mig -lgip` on H100 NVL: 10.62 / 21.50 / 21.50 / 46.12 / 46.12 / 92.62 GiB.
  profiles: eightSliceProfiles(
    ["1g.12gb", "1g.24gb", "2g.24gb", "3g.47gb", "4g.47gb", "7g.94gb"],
    [10880, 22016, 22016, 47232, 47232, 94848],
  ),
};

const MIG_H200: MigGeometry = {
  slices: { compute: 7, memory: 8 },
  // `nvidia-smi mig -lgip` on H200: 1g.18gb 16.00, 2g.35gb 32.50, 7g.141gb 140.00 GiB. 1g.35gb
  // takes the same two memory slices as 2g.35gb (as on every SKU); 3g/4g.71gb are an estimate
  // (two 2g instances plus the per-instance reservation), not observed.
  profiles: eightSliceProfiles(
    ["1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"],
    [16384, 33280, 33280, 66816, 66816, 143360],
  ),
};

const MIG_A30: MigGeometry = {
  // MIG user guide, A30 table: 1g.6gb ×4, 2g.12gb ×2, 4g.24gb ×1 on 4 slices.
  slices: { compute: 4, memory: 4 },
  profiles: [
    // 5952 MiB and 11968 MiB: `nvidia-smi` MIG device listing on A30 (driver 550.90.07).
    {
      name: "1g.6gb",
      computeSlices: 1,
      memorySlices: 1,
      maxInstances: 4,
      memoryMiB: 5952,
      starts: [0, 1, 2, 3],
    },
    { name: "2g.12gb", computeSlices: 2, memorySlices: 2, maxInstances: 2, memoryMiB: 11968, starts: [0, 2] },
    // Estimate (not observed): two 2g instances plus the per-instance reservation returned.
    { name: "4g.24gb", computeSlices: 4, memorySlices: 4, maxInstances: 1, memoryMiB: 24000, starts: [0] },
  ],
};

// ---------------------------------------------------------------------------------------------
// Prices: on-demand USD per GPU-hour, low = specialised GPU clouds (Lambda, RunPod, Vast.ai,
// CoreWeave), high = hyperscaler list price per GPU (instance price ÷ GPU count). Snapshots from
// public price round-ups 2025–2026 (e.g. costnimbus.com "GPU cost management" Mar 2026,
// mercatus-ai.com "cloud GPU pricing" May 2026, AWS p4d/p4de/g4dn/g5/g6 list prices). Prices
// drift monthly; treat as planning defaults, not quotes.
// ---------------------------------------------------------------------------------------------

const GPUS: readonly GpuSpec[] = [
  {
    id: "A100-40GB",
    vendor: "nvidia",
    architecture: "Ampere",
    formFactor: "SXM4",
    nvidiaProductName: "NVIDIA-A100-SXM4-40GB",
    nvidiaProductNameAliases: ["NVIDIA-A100-PCIE-40GB"],
    memoryGB: 40,
    ...deviceMemory(40960), // nvidia-smi: 40960MiB (SXM4 and PCIe)
    memoryType: "HBM2",
    memoryBandwidthBytesPerSec: 1555e9, // A100 datasheet: 1,555 GB/s (40GB SXM)
    bf16Flops: 312 * T, // A100 datasheet: 312 TF (624 with sparsity)
    fp16Flops: 312 * T,
    fp8Flops: null,
    int8Ops: 624 * T, // 624 TOPS dense (1,248 sparse)
    ...mig(MIG_A100_40GB),
    price: {
      low: 1.29,
      high: 4.1,
      note: "Lambda A100 40GB ≈ $1.29; AWS p4d.24xlarge $32.77 / 8 ≈ $4.10 (2025).",
    },
    source: "NVIDIA A100 Tensor Core GPU datasheet (SXM4 40GB column).",
  },
  {
    id: "A100-80GB",
    vendor: "nvidia",
    architecture: "Ampere",
    formFactor: "SXM4",
    nvidiaProductName: "NVIDIA-A100-SXM4-80GB",
    nvidiaProductNameAliases: ["NVIDIA-A100-80GB-PCIe"],
    memoryGB: 80,
    ...deviceMemory(81920), // nvidia-smi: 81920MiB
    memoryType: "HBM2e",
    memoryBandwidthBytesPerSec: 2039e9, // A100 datasheet: 2,039 GB/s (80GB SXM; PCIe 1,935 GB/s)
    bf16Flops: 312 * T,
    fp16Flops: 312 * T,
    fp8Flops: null,
    int8Ops: 624 * T,
    ...mig(MIG_A100_80GB),
    price: {
      low: 1.1,
      high: 5.12,
      note: "Specialised clouds ≈ $1.10–1.50; AWS p4de.24xlarge $40.96 / 8 ≈ $5.12 (2025–2026).",
    },
    source: "NVIDIA A100 Tensor Core GPU datasheet (SXM4 80GB column).",
  },
  {
    id: "H100-80GB",
    vendor: "nvidia",
    architecture: "Hopper",
    formFactor: "SXM5",
    nvidiaProductName: "NVIDIA-H100-80GB-HBM3",
    nvidiaProductNameAliases: ["NVIDIA-H100-PCIe"],
    memoryGB: 80,
    ...deviceMemory(81559), // nvidia-smi: 81559MiB
    memoryType: "HBM3",
    memoryBandwidthBytesPerSec: 3.35e12, // H100 SXM datasheet: 3.35 TB/s
    bf16Flops: 989.5 * T, // 1,979 TF with sparsity
    fp16Flops: 989.5 * T,
    fp8Flops: 1979 * T, // 3,958 TF with sparsity
    int8Ops: 1979 * T,
    ...mig(MIG_H100_80GB),
    price: {
      low: 1.99,
      high: 6.98,
      note: "RunPod ≈ $1.99, Lambda $2.99, AWS P5 ≈ $3.90 after the June 2025 cut, Azure ≈ $6.98 (Mar 2026).",
    },
    source: "NVIDIA H100 Tensor Core GPU datasheet (H100 SXM column).",
  },
  {
    id: "H100-NVL-94GB",
    vendor: "nvidia",
    architecture: "Hopper",
    formFactor: "PCIe (NVL)",
    nvidiaProductName: "NVIDIA-H100-NVL",
    nvidiaProductNameAliases: [],
    memoryGB: 94,
    ...deviceMemory(95830), // nvidia-smi: 95830MiB
    memoryType: "HBM3",
    memoryBandwidthBytesPerSec: 3.9e12, // H100 NVL datasheet: 3.9 TB/s
    bf16Flops: 835.5 * T, // 1,671 TF with sparsity
    fp16Flops: 835.5 * T,
    fp8Flops: 1670.5 * T, // 3,341 TF with sparsity
    int8Ops: 1670.5 * T, // 3,341 TOPS with sparsity
    ...mig(MIG_H100_NVL),
    price: {
      low: 2.0,
      high: 7.0,
      note: "Azure NC H100 v5 (H100 NVL) ≈ $6.98; GPU clouds ≈ $2–3 (2025–2026).",
    },
    source: "NVIDIA H100 Tensor Core GPU datasheet (H100 NVL column, per GPU).",
  },
  {
    id: "H200-141GB",
    vendor: "nvidia",
    architecture: "Hopper",
    formFactor: "SXM5",
    nvidiaProductName: "NVIDIA-H200",
    nvidiaProductNameAliases: ["NVIDIA-H200-NVL"],
    memoryGB: 141,
    ...deviceMemory(143771), // nvidia-smi: 143771MiB
    memoryType: "HBM3e",
    memoryBandwidthBytesPerSec: 4.8e12, // H200 datasheet: 4.8 TB/s
    bf16Flops: 989.5 * T, // same Hopper die as H100 SXM: 1,979 TF with sparsity
    fp16Flops: 989.5 * T,
    fp8Flops: 1979 * T,
    int8Ops: 1979 * T,
    ...mig(MIG_H200),
    price: {
      low: 2.5,
      high: 7.0,
      note: "Long-tail clouds ≈ $2.50–3.50, hyperscalers ≈ $4.50–7.00 (mercatus-ai.com, May 2026).",
    },
    source: "NVIDIA H200 Tensor Core GPU datasheet (H200 SXM column).",
  },
  {
    id: "L40S",
    vendor: "nvidia",
    architecture: "Ada Lovelace",
    formFactor: "PCIe",
    nvidiaProductName: "NVIDIA-L40S",
    nvidiaProductNameAliases: [],
    memoryGB: 48,
    ...deviceMemory(46068), // nvidia-smi: 46068MiB
    memoryType: "GDDR6",
    memoryBandwidthBytesPerSec: 864e9, // L40S datasheet: 864 GB/s
    bf16Flops: 362.05 * T, // 733 TF with sparsity
    fp16Flops: 362.05 * T,
    fp8Flops: 733 * T, // 1,466 TF with sparsity
    int8Ops: 733 * T, // 1,466 TOPS with sparsity
    ...NO_MIG,
    price: {
      low: 0.9,
      high: 1.9,
      note: "GPU clouds ≈ $0.90–1.00; AWS g6e.xlarge ≈ $1.86 (2025).",
    },
    source: "NVIDIA L40S datasheet.",
  },
  {
    id: "L4",
    vendor: "nvidia",
    architecture: "Ada Lovelace",
    formFactor: "PCIe (low profile)",
    nvidiaProductName: "NVIDIA-L4",
    nvidiaProductNameAliases: [],
    memoryGB: 24,
    ...deviceMemory(23034), // nvidia-smi: 23034MiB
    memoryType: "GDDR6",
    memoryBandwidthBytesPerSec: 300e9, // L4 datasheet: 300 GB/s
    bf16Flops: 121 * T, // 242 TF with sparsity
    fp16Flops: 121 * T,
    fp8Flops: 242.5 * T, // 485 TF with sparsity
    int8Ops: 242.5 * T, // 485 TOPS with sparsity
    ...NO_MIG,
    price: {
      low: 0.7,
      high: 1.1,
      note: "GCP g2-standard-4 ≈ $0.70–0.80; AWS g6 ≈ $0.80–1.10 per L4 (Mar 2026).",
    },
    source: "NVIDIA L4 Tensor Core GPU datasheet.",
  },
  {
    id: "T4",
    vendor: "nvidia",
    architecture: "Turing",
    formFactor: "PCIe (low profile)",
    nvidiaProductName: "Tesla-T4",
    nvidiaProductNameAliases: [],
    memoryGB: 16,
    ...deviceMemory(15360), // nvidia-smi: 15360MiB
    memoryType: "GDDR6",
    memoryBandwidthBytesPerSec: 320e9, // T4 datasheet: 320 GB/s
    bf16Flops: null, // Turing has no BF16
    fp16Flops: 65 * T, // T4 datasheet: 65 TF mixed precision (no sparsity on Turing)
    fp8Flops: null,
    int8Ops: 130 * T,
    ...NO_MIG,
    price: {
      low: 0.35,
      high: 0.53,
      note: "GCP T4 ≈ $0.35 (GPU only); AWS g4dn.xlarge $0.526 (2025).",
    },
    source: "NVIDIA T4 Tensor Core GPU datasheet.",
  },
  {
    id: "A10G",
    vendor: "nvidia",
    architecture: "Ampere",
    formFactor: "PCIe (AWS G5)",
    nvidiaProductName: "NVIDIA-A10G",
    nvidiaProductNameAliases: [],
    memoryGB: 24,
    ...deviceMemory(23028), // nvidia-smi: 23028MiB
    memoryType: "GDDR6",
    memoryBandwidthBytesPerSec: 600e9, // same 24 GB GDDR6 at 600 GB/s as the A10 (Baseten "A10 vs A10G")
    // AWS-only variant of the A10 with less tensor throughput than the A10's 125 TF; ≈70 TF dense
    // FP16/BF16 is the commonly quoted figure. NVIDIA publishes no A10G datasheet.
    bf16Flops: 70 * T,
    fp16Flops: 70 * T,
    fp8Flops: null,
    int8Ops: null, // not published for the A10G
    ...NO_MIG,
    price: {
      low: 1.01,
      high: 1.21,
      note: "AWS g5.xlarge $1.006 – g5.2xlarge $1.212 (us-east-1, 2025); A10G exists only on AWS.",
    },
    source: "AWS G5 documentation; Baseten 'NVIDIA A10 vs A10G for ML model inference'.",
  },
  {
    id: "A30",
    vendor: "nvidia",
    architecture: "Ampere",
    formFactor: "PCIe",
    nvidiaProductName: "NVIDIA-A30",
    nvidiaProductNameAliases: [],
    memoryGB: 24,
    ...deviceMemory(24576), // nvidia-smi: 24576MiB
    memoryType: "HBM2",
    memoryBandwidthBytesPerSec: 933e9, // A30 datasheet: 933 GB/s
    bf16Flops: 165 * T, // 330 TF with sparsity
    fp16Flops: 165 * T,
    fp8Flops: null,
    int8Ops: 330 * T, // 661 TOPS with sparsity
    ...mig(MIG_A30),
    price: {
      low: 0.5,
      high: 1.2,
      note: "Rare in public clouds; regional/GPU-cloud offers ≈ $0.50–1.20 (estimate).",
    },
    source: "NVIDIA A30 Tensor Core GPU datasheet.",
  },
];

const BY_ID: ReadonlyMap<string, GpuSpec> = new Map(GPUS.map((g) => [g.id, g]));

/** Every GPU in the catalog, in a stable order. */
export function listGpus(): readonly GpuSpec[] {
  return GPUS;
}

export function isGpuId(id: string): id is GpuId {
  return BY_ID.has(id);
}

/** The GPU with this id (exact, then case-insensitive), or `undefined`. */
export function findGpu(id: string): GpuSpec | undefined {
  const exact = BY_ID.get(id);
  if (exact !== undefined) return exact;
  const lower = id.toLowerCase();
  return GPUS.find((g) => g.id.toLowerCase() === lower);
}

/** The GPU with this id; throws `catalog_unknown_gpu` naming the known ids. */
export function getGpu(id: string): GpuSpec {
  const gpu = findGpu(id);
  if (gpu === undefined) {
    throw new InferplaneError(
      "catalog_unknown_gpu",
      `Unknown GPU "${id}". Known GPUs: ${GPU_IDS.join(", ")}.`,
    );
  }
  return gpu;
}

/** The GPU whose `nvidia.com/gpu.product` label (or nvidia-smi name) is this, or `undefined`. */
export function findGpuByProductName(product: string): GpuSpec | undefined {
  const norm = product.trim().replace(/\s+/g, "-").toLowerCase();
  return GPUS.find(
    (g) =>
      g.nvidiaProductName.toLowerCase() === norm ||
      g.nvidiaProductNameAliases.some((a) => a.toLowerCase() === norm),
  );
}

/** Dense 16-bit tensor FLOP/s the GPU runs LLM weights at: BF16 where it exists, else FP16. */
export function peak16BitFlops(gpu: GpuSpec): number {
  return gpu.bf16Flops ?? gpu.fp16Flops;
}

/** Midpoint of the on-demand price range, USD per GPU-hour. */
export function priceMidpoint(gpu: GpuSpec): number {
  return Math.round(((gpu.price.low + gpu.price.high) / 2) * 1000) / 1000;
}
