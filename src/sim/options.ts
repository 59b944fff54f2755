/** The simulator's options, resolved and checked once into the setup every replica runs from. */

import { DEFAULT_ENGINE } from "../catalog/engines.js";
import type { GpuSpec } from "../catalog/gpus.js";
import { WEIGHT_FORMATS, type WeightFormat } from "../catalog/kv.js";
import { findModel, findModelByRepo, MODEL_IDS, type ModelSpec } from "../catalog/models.js";
import { InferplaneError, isInferplaneError } from "../errors.js";
import type { ConstantLatency } from "./constant-latency.js";
import { checkFaultOptions, type FaultOptions } from "./faults.js";
import { type Flavour, flavour as resolveFlavour } from "./flavours.js";
import { type EngineConfig, engineConfig } from "./model/config.js";

export interface SimServerOptions {
  /** vllm (default), tgi, ollama or triton. */
  engine?: string;
  /** Engine version whose paths and metric names to serve (default: the catalog's). */
  engineVersion?: string;
  /** Catalog model id (`llama-3.1-8b`), Hugging Face repo id (`Qwen/Qwen2.5-7B-Instruct-AWQ`) or catalog entry. */
  model: string | ModelSpec;
  /** Catalog GPU id or spec (e.g. a MIG slice as a GPU of its own; default H100-80GB). */
  gpu?: string | GpuSpec;
  tp?: number;
  /** Weight dtype when not quantized: auto, bf16, fp16, fp32. */
  dtype?: string;
  /** awq, gptq, gptq-int4, gptq-int8, fp8, int8, gguf, bitsandbytes. */
  quantization?: string;
  /** The weight format outright (library callers); overrides `dtype` and `quantization`. */
  weightFormat?: WeightFormat;
  maxNumSeqs?: number;
  maxNumBatchedTokens?: number;
  numGpuBlocks?: number;
  maxModelLen?: number;
  blockSize?: number;
  gpuMemoryUtilization?: number;
  enablePrefixCaching?: boolean;
  /** Name requests must use (default: the repo id given, else the catalog model's native repo). */
  servedModelName?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** Virtual seconds per real second (default 1). */
  speed?: number;
  /** Mean reply length without ignore_eos, tokens (default 128; log-normal, σ `outputLenSigma`). */
  outputLenMean?: number;
  /** Shape of the reply-length distribution (default 0.5; 0 = always the mean). */
  outputLenSigma?: number;
  /** Size of simulated embedding vectors (default: the catalog's for embedding models, else 1024). */
  embeddingDim?: number;
  /** Health answers 503 (and requests too) for this long after each (re)start, ms. */
  startupDelayMs?: number;
  faults?: FaultOptions;
  /** Seed of reply lengths and texts (default 1); faults use `faults.seed` or this. */
  seed?: number;
  /** Index of the replica in its fleet (shown in the `x-sim-replica` header). */
  replicaIndex?: number;
  /**
   * Constant-latency mode: every request's first token after `ttftMs`, each next after `itlMs`,
   * whatever the load (the engine model is bypassed). For checking benchmark clients.
   */
  constantLatency?: ConstantLatency;
}

/** Everything a replica needs, resolved and checked. */
export interface SimSetup {
  flavour: Flavour;
  config: EngineConfig;
  model: ModelSpec;
  /** Hugging Face repo of the weights simulated. */
  repo: string;
  servedModelName: string;
  host: string;
  port: number;
  speed: number;
  outputLenMean: number;
  outputLenSigma: number;
  embeddingDim: number;
  startupDelayMs: number;
  faults: FaultOptions;
  seed: number;
  replicaIndex: number;
  constantLatency: ConstantLatency | null;
}

const DTYPES: Readonly<Record<string, WeightFormat>> = {
  auto: "none",
  bf16: "bf16",
  bfloat16: "bf16",
  fp16: "fp16",
  float16: "fp16",
  half: "fp16",
  fp32: "fp32",
  float32: "fp32",
  float: "fp32",
};
const QUANTIZATIONS = Object.keys(WEIGHT_FORMATS).filter((q) => !["bf16", "fp16", "fp32"].includes(q));

export const usage = (message: string) => new InferplaneError("usage", message);

export function positiveInt(name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= 1))
    throw usage(`${name} must be a positive integer, got ${v}`);
}

/** Resolves and checks options; throws InferplaneError (`usage`, `catalog_unknown_*`) on bad input. */
export function resolveSimOptions(o: SimServerOptions): SimSetup {
  const flavour = flavourOf(o);
  const { model, repo, repoQuant } = servedModelOf(o.model);
  const weightFormat = weightFormatOf(o, repo, repoQuant);
  checkEngineLimits(o);
  const run = runOptionsOf(o);
  // Each replica rolls its own fault dice unless the caller fixed their seed.
  const faults: FaultOptions = { ...o.faults, seed: o.faults?.seed ?? run.seed + (o.replicaIndex ?? 0) };
  const faultProblem = checkFaultOptions(faults);
  if (faultProblem !== undefined) throw usage(faultProblem);

  const config = replicaConfig(o, model, weightFormat);
  return {
    flavour,
    config,
    model,
    repo,
    servedModelName: o.servedModelName ?? repo,
    host: o.host ?? "127.0.0.1",
    port: run.port,
    speed: run.speed,
    outputLenMean: run.outputLenMean,
    outputLenSigma: run.outputLenSigma,
    embeddingDim: o.embeddingDim ?? model.embeddingDims ?? 1024,
    startupDelayMs: run.startupDelayMs,
    faults,
    seed: run.seed,
    replicaIndex: o.replicaIndex ?? 0,
    constantLatency: o.constantLatency ?? null,
  };
}

function flavourOf(o: SimServerOptions): Flavour {
  try {
    return resolveFlavour(o.engine ?? DEFAULT_ENGINE, o.engineVersion);
  } catch (err) {
    throw usage(err instanceof Error ? err.message : String(err));
  }
}

/** The catalog model given by id, spec or Hugging Face repo, the repo it is served as, and that repo's quantization. */
function servedModelOf(given: SimServerOptions["model"]): {
  model: ModelSpec;
  repo: string;
  repoQuant: WeightFormat | "none";
} {
  const byId = typeof given === "string" ? findModel(given) : given;
  const byRepo = byId || typeof given !== "string" ? undefined : findModelByRepo(given);
  const model = byId ?? byRepo?.model;
  if (model === undefined) {
    throw new InferplaneError(
      "catalog_unknown_model",
      `Unknown model "${String(given)}": give a catalog id (${MODEL_IDS.join(", ")}) or a Hugging Face repo of one of them.`,
    );
  }
  const repo =
    byRepo && typeof given === "string"
      ? given.trim().replace(/^hf:\/\//i, "")
      : (model.variants[0]?.repo ?? model.id);
  return { model, repo, repoQuant: byRepo?.variant.quantization ?? "none" };
}

function checkEngineLimits(o: SimServerOptions): void {
  positiveInt("tp", o.tp);
  positiveInt("max-num-seqs", o.maxNumSeqs);
  positiveInt("max-num-batched-tokens", o.maxNumBatchedTokens);
  positiveInt("num-gpu-blocks", o.numGpuBlocks);
  positiveInt("max-model-len", o.maxModelLen);
  positiveInt("block-size", o.blockSize);
  positiveInt("embedding-dim", o.embeddingDim);
  if (o.gpuMemoryUtilization !== undefined && !(o.gpuMemoryUtilization > 0 && o.gpuMemoryUtilization <= 1))
    throw usage(`gpu-memory-utilization must be in (0, 1], got ${o.gpuMemoryUtilization}`);
}

/** The server's own settings (pace, output lengths, startup, port, seed) with their defaults, checked. */
function runOptionsOf(o: SimServerOptions) {
  const speed = o.speed ?? 1;
  if (!(speed > 0 && Number.isFinite(speed))) throw usage(`speed must be a positive number, got ${o.speed}`);
  const outputLenMean = o.outputLenMean ?? 128;
  if (!(outputLenMean >= 1)) throw usage(`output-len-mean must be ≥ 1, got ${o.outputLenMean}`);
  const outputLenSigma = o.outputLenSigma ?? 0.5;
  if (!(outputLenSigma >= 0)) throw usage(`output-len-sigma must be ≥ 0, got ${o.outputLenSigma}`);
  const cl = o.constantLatency;
  if (cl !== undefined && !(cl.ttftMs >= 0 && cl.itlMs >= 0 && Number.isFinite(cl.ttftMs + cl.itlMs)))
    throw usage(
      `time-to-first-token and inter-token-latency must be ≥ 0 ms, got ${cl.ttftMs} and ${cl.itlMs}`,
    );
  const startupDelayMs = o.startupDelayMs ?? 0;
  if (!(startupDelayMs >= 0)) throw usage(`startup delay must be ≥ 0, got ${o.startupDelayMs}`);
  const port = o.port ?? 0;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw usage(`port must be 0–65535, got ${o.port}`);
  const seed = o.seed ?? 1;
  if (!Number.isInteger(seed)) throw usage(`seed must be an integer, got ${o.seed}`);
  return { port, speed, outputLenMean, outputLenSigma, startupDelayMs, seed };
}

/** The weight format: the repo's quantization, or --quantization, or --dtype (`weightFormat` overrides all). */
function weightFormatOf(o: SimServerOptions, repo: string, repoQuant: WeightFormat | "none"): WeightFormat {
  let quant: WeightFormat | undefined;
  if (o.quantization !== undefined) {
    const q = o.quantization.toLowerCase();
    if (!QUANTIZATIONS.includes(q))
      throw usage(`quantization must be one of ${QUANTIZATIONS.join(", ")}, got "${o.quantization}"`);
    const same = q === repoQuant || (q === "gptq" && repoQuant.startsWith("gptq"));
    if (repoQuant !== "none" && !same)
      throw usage(`${repo} is quantized with ${repoQuant}; --quantization ${q} contradicts it`);
    quant = q as WeightFormat;
  } else if (repoQuant !== "none") quant = repoQuant;
  let weightFormat: WeightFormat = quant ?? "none";
  if (o.dtype !== undefined) {
    const d = DTYPES[o.dtype.toLowerCase()];
    if (d === undefined)
      throw usage(`dtype must be one of ${Object.keys(DTYPES).join(", ")}, got "${o.dtype}"`);
    if (quant === undefined) weightFormat = d;
  }
  if (o.weightFormat !== undefined) weightFormat = o.weightFormat;
  return weightFormat;
}

/** The replica's engine configuration, with max_model_len checked or fitted to its KV cache as vLLM does. */
function replicaConfig(o: SimServerOptions, model: ModelSpec, weightFormat: WeightFormat): EngineConfig {
  // Encoder (embedding, rerank) models keep no KV cache, so the computed pool is empty; give them
  // room for max-num-seqs sequences of full length so the scheduler can still batch them.
  const encoderBlocks =
    model.kind !== "chat" && o.numGpuBlocks === undefined
      ? Math.ceil(model.maxContext / (o.blockSize ?? 16)) * (o.maxNumSeqs ?? 256)
      : undefined;
  const input = {
    model,
    gpu: o.gpu ?? "H100-80GB",
    tp: o.tp,
    weightFormat,
    maxNumSeqs: o.maxNumSeqs,
    maxNumBatchedTokens: o.maxNumBatchedTokens,
    numGpuBlocks: o.numGpuBlocks ?? encoderBlocks,
    blockSize: o.blockSize,
    gpuMemoryUtilization: o.gpuMemoryUtilization,
    enablePrefixCaching: o.enablePrefixCaching,
  };
  let config: EngineConfig;
  try {
    config = engineConfig(input);
    const capacity = config.numGpuBlocks * config.blockSize;
    if (o.maxModelLen !== undefined) {
      // vLLM refuses to start when one sequence of max_model_len cannot fit in the KV cache.
      if (o.maxModelLen > capacity)
        throw usage(
          `max-model-len ${o.maxModelLen} needs more KV cache than the replica has (${config.numGpuBlocks} blocks × ${config.blockSize} = ${capacity} tokens)`,
        );
      config = engineConfig({ ...input, maxModelLen: o.maxModelLen });
    } else if (config.maxModelLen > capacity) {
      // As vLLM with max_model_len "auto": the longest context the KV cache holds.
      config = engineConfig({ ...input, maxModelLen: capacity });
    }
  } catch (err) {
    if (isInferplaneError(err)) throw err;
    throw usage(err instanceof Error ? err.message : String(err));
  }
  return config;
}
