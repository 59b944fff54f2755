/**
 * How close a GPU gets to its datasheet peaks when vLLM runs a step, plus the CPU-side costs a
 * roofline leaves out. Starting points come from published profiles; the values are then
 * calibrated so that the simulator reproduces published vLLM figures (docs/simulator.md has the
 * table; test/sim/calibration.test.ts holds the bands).
 *
 * Sources:
 * - BLIS (inference-sim/inference-sim) roofline constants: H100 MFU prefill 0.45 / decode 0.30,
 *   A100 0.38 / 0.18; overheads ≈126 µs per step, ≈32 µs per layer, ≈4 µs per request,
 *   ≈46 µs per output token.
 * - Vidur (microsoft/vidur `data/profiling`): Llama-3-8B linear layers on A100 run at ≈71% of
 *   peak bandwidth for 1 token and ≈66% of peak FLOP/s for 512 tokens.
 * - Interconnect: NVLink 3 on A100 SXM 600 GB/s, NVLink 4 on H100/H200 SXM 900 GB/s, H100 NVL
 *   600 GB/s bridge (NVIDIA datasheets); PCIe Gen4 x16 ≈ 32 GB/s per direction for the rest.
 */
import type { GpuSpec } from "../../catalog/gpus.js";

export interface EfficiencyProfile {
  /** Fraction of peak 16-bit FLOP/s reached by prefill tokens. */
  mfuPrefill: number;
  /** Fraction of peak 16-bit FLOP/s reached by decode tokens. */
  mfuDecode: number;
  /** Fraction of peak memory bandwidth reached when streaming weights and KV. */
  mbu: number;
  /** Effective-bandwidth factor of 4-bit weight kernels (AWQ/GPTQ dequantize as they read). */
  int4BandwidthFactor: number;
  /** Fixed cost per engine step (scheduling, input preparation, launch), seconds. */
  stepOverheadS: number;
  /** Per transformer layer per step (kernel launches that CUDA graphs do not hide), seconds. */
  perLayerS: number;
  /** Per scheduled sequence per step (batch bookkeeping), seconds. */
  perSeqS: number;
  /** Per sampled token (sampling, detokenization, output processing), seconds. */
  perOutputTokenS: number;
  /** Bytes/s between the GPUs of one replica, for tensor-parallel all-reduces. */
  interconnectBytesPerSec: number;
  /** Latency of one all-reduce, seconds. */
  allReduceLatencyS: number;
}

// Calibrated (docs/simulator.md): BLIS's MFU values leave large batches too slow to reach vLLM's
// published throughput; Vidur's ≈66% of peak for 512-token linear layers supports 0.6 / 0.5.
const HOPPER: EfficiencyProfile = {
  mfuPrefill: 0.6,
  mfuDecode: 0.5,
  mbu: 0.75,
  int4BandwidthFactor: 0.7,
  stepOverheadS: 126e-6,
  perLayerS: 32e-6,
  perSeqS: 4e-6,
  perOutputTokenS: 46e-6,
  interconnectBytesPerSec: 900e9,
  allReduceLatencyS: 8e-6,
};

const AMPERE: EfficiencyProfile = {
  mfuPrefill: 0.6,
  mfuDecode: 0.5,
  mbu: 0.71,
  int4BandwidthFactor: 0.7,
  stepOverheadS: 126e-6,
  perLayerS: 32e-6,
  perSeqS: 4e-6,
  perOutputTokenS: 46e-6,
  interconnectBytesPerSec: 600e9,
  allReduceLatencyS: 10e-6,
};

const PCIE_BYTES_PER_SEC = 32e9;

/** The profile for a GPU: calibrated for A100/H100, by architecture for the rest. */
export function efficiencyFor(gpu: GpuSpec): EfficiencyProfile {
  switch (gpu.id) {
    case "H100-80GB":
    case "H200-141GB":
      return HOPPER;
    case "H100-NVL-94GB":
      return { ...HOPPER, interconnectBytesPerSec: 600e9 };
    case "A100-40GB":
    case "A100-80GB":
      return AMPERE;
    default:
      // PCIe boards (L40S, L4, T4, A10G, A30): Ampere-like kernels, no NVLink.
      return { ...AMPERE, interconnectBytesPerSec: PCIE_BYTES_PER_SEC };
  }
}
