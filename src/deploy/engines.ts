/**
 * Per model: the engine Deployment, its headless Service (the gateway resolves the pods through
 * DNS), PodMonitor, PodDisruptionBudget and model-cache PVC. Engine facts (image, port, health
 * and metrics paths) come from the catalog; resources and placement from the plan.
 */
import { compareVersions, engineInfo } from "../catalog/engines.js";
import { resolveWeightFormat, type WeightFormat, weightBytes } from "../catalog/kv.js";
import { containerRunFor } from "../engines/index.js";
import { catalogModelOf, modelKind, servedModelName } from "../spec/checks.js";
import type { ModelSpec, Platform } from "../spec/schema.js";
import { componentLabels, engineName, secretName, selectorLabels } from "./names.js";
import type { ModelPlacement } from "./placement.js";
import { speculativeArgs } from "./speculative.js";
import type { K8sObject, PlacedObject } from "./types.js";

/** Where the model cache is mounted in every engine container. */
const CACHE_MOUNT = "/models";

/** Whether render deploys an engine for the model (not external, not pointed at existing endpoints). */
export function isDeployed(m: ModelSpec): boolean {
  return m.engine !== "openai" && m.endpoints.length === 0 && m.discovery === undefined;
}

/** Most replicas a model can reach (autoscaling's ceiling, else its fixed count). */
export function maxReplicas(m: ModelSpec): number {
  return m.autoscaling?.enabled ? m.autoscaling.maxReplicas : m.replicas;
}

export function isAutoscaled(m: ModelSpec): boolean {
  return m.autoscaling?.enabled === true;
}

/** The image of a model's engine: the spec's override, else the catalog's image at its version. */
export function engineImage(m: ModelSpec): string {
  const image = m.image ?? engineInfo(m.engine, m.engineVersion).image;
  if (image === null) throw new Error(`engine ${m.engine} has no container image`);
  return image;
}

export function enginePort(m: ModelSpec): number {
  return engineInfo(m.engine, m.engineVersion).defaultPort;
}

interface ModelSource {
  scheme: string;
  /** hf repo, pvc claim/path, ollama name:tag, bucket/path. */
  rest: string;
}

function parseSource(m: ModelSpec): ModelSource {
  const match = /^([a-z0-9]+):\/\/(.+)$/.exec(m.source);
  return { scheme: match?.[1] ?? "hf", rest: match?.[2] ?? m.source };
}

/**
 * Seconds the startup probe allows: 120 s for engine start-up and CUDA-graph capture plus the
 * weights read at 250 MB/s from the cache volume (a conservative network-volume rate; an
 * assumption, not a measurement), at least 5 minutes and at most an hour.
 */
export function startupBudgetSeconds(m: ModelSpec): number {
  const cat = catalogModelOf(m);
  if (cat === undefined) return 600;
  const q = m.quantization ?? "none";
  const format = (["awq", "gptq-int4", "gptq-int8", "fp8"].includes(q) ? q : "none") as WeightFormat;
  const bytes = weightBytes(cat, resolveWeightFormat(cat, format));
  return Math.min(3600, Math.max(300, Math.ceil(120 + bytes / 250e6)));
}

/** Where the engine reads weights: a path on the cache or on a PVC, or the repo id (offline cache). */
function modelArg(m: ModelSpec): string {
  const src = parseSource(m);
  if (src.scheme === "pvc") {
    const [, ...path] = src.rest.split("/");
    return `${CACHE_MOUNT}/${path.join("/")}`.replace(/\/$/, "");
  }
  if (src.scheme === "s3" || src.scheme === "gs")
    return `${CACHE_MOUNT}/${src.rest.split("/").slice(1).join("/")}`;
  return src.rest;
}

const VLLM_QUANT: Record<string, string> = {
  awq: "awq",
  gptq: "gptq",
  "gptq-int4": "gptq",
  "gptq-int8": "gptq",
  fp8: "fp8",
  gguf: "gguf",
  bitsandbytes: "bitsandbytes",
};

function vllmArgs(m: ModelSpec, place: ModelPlacement): string[] {
  const version = engineInfo("vllm", m.engineVersion).version;
  const args = [
    "--model",
    modelArg(m),
    "--served-model-name",
    servedModelName(m),
    "--host",
    "0.0.0.0",
    "--port",
    String(enginePort(m)),
    "--tensor-parallel-size",
    String(place.tensorParallel),
    "--gpu-memory-utilization",
    String(place.gpuMemoryUtilization),
  ];
  if (place.maxModelLen !== undefined) args.push("--max-model-len", String(place.maxModelLen));
  const q = m.quantization;
  if (q !== undefined && q !== "none") args.push("--quantization", VLLM_QUANT[q] ?? q);
  if (m.dtype !== "auto") args.push("--dtype", m.dtype);
  const kind = modelKind(m);
  if (kind === "chat") {
    args.push(m.enablePrefixCaching ? "--enable-prefix-caching" : "--no-enable-prefix-caching");
    args.push(
      "--max-num-seqs",
      String(m.maxNumSeqs),
      "--max-num-batched-tokens",
      String(m.maxNumBatchedTokens),
    );
  } else if (compareVersions(version, "0.10.0") >= 0) {
    // vLLM 0.10 replaced `--task` with `--runner` (docs "Pooling Models").
    args.push("--runner", "pooling");
  } else {
    args.push("--task", kind === "embedding" ? "embed" : "score");
  }
  return [...args, ...speculativeArgs(m), ...m.extraArgs];
}

function tgiArgs(m: ModelSpec, place: ModelPlacement): string[] {
  // TGI launcher flags (docs "Text Generation Launcher Arguments").
  const args = [
    "--model-id",
    modelArg(m),
    "--port",
    String(enginePort(m)),
    "--num-shard",
    String(place.tensorParallel),
  ];
  if (place.maxModelLen !== undefined) args.push("--max-total-tokens", String(place.maxModelLen));
  const q = m.quantization;
  if (q !== undefined && q !== "none") args.push("--quantize", q.startsWith("gptq") ? "gptq" : q);
  args.push("--cuda-memory-fraction", String(place.gpuMemoryUtilization));
  return [...args, ...speculativeArgs(m), ...m.extraArgs];
}

function tritonArgs(m: ModelSpec): string[] {
  return [
    "tritonserver",
    `--model-repository=${modelArg(m)}`,
    "--http-port=8000",
    "--metrics-port=8002",
    ...m.extraArgs,
  ];
}

function engineArgs(m: ModelSpec, place: ModelPlacement): { command?: string[]; args: string[] } {
  switch (m.engine) {
    case "vllm":
      return { args: vllmArgs(m, place) };
    case "tgi":
      return { args: tgiArgs(m, place) };
    case "triton":
      return { command: tritonArgs(m), args: [] };
    case "ollama":
      return { args: [] };
    case "embedded":
      // The Inferplane image's entrypoint is the CLI; the pinned model files are fetched into
      // the cache volume at start-up (SHA-256 checked), never per request.
      return {
        args: [
          "embed-serve",
          "--model",
          catalogModelOf(m)?.id ?? m.catalog ?? servedModelName(m),
          "--served-model-name",
          servedModelName(m),
          "--host",
          "0.0.0.0",
          "--port",
          String(engineInfo(m.engine, m.engineVersion).defaultPort),
          "--cache-dir",
          CACHE_MOUNT,
          "--fetch",
          ...m.extraArgs,
        ],
      };
    default:
      throw new Error(`engine ${m.engine} is not deployed`);
  }
}

/** How the weights reach the cache: an init container that downloads them, or nothing (pvc://). */
function initContainers(p: Platform, m: ModelSpec, image: string): unknown[] {
  if (m.engine === "embedded") return []; // embed-serve --fetch installs its own pinned files
  const src = parseSource(m);
  const mounts = [{ name: "model-cache", mountPath: CACHE_MOUNT }];
  const resources = { requests: { cpu: "1", memory: "2Gi" }, limits: { memory: "4Gi" } };
  if (src.scheme === "hf") {
    const script = `from huggingface_hub import snapshot_download; snapshot_download(${JSON.stringify(src.rest)})`;
    return [
      {
        name: "download-weights",
        image,
        command: ["python3", "-c", script],
        env: [
          { name: "HF_HOME", value: `${CACHE_MOUNT}/hf` },
          {
            name: "HF_TOKEN",
            valueFrom: { secretKeyRef: { name: secretName(p), key: "HF_TOKEN", optional: true } },
          },
        ],
        resources,
        volumeMounts: mounts,
      },
    ];
  }
  if (src.scheme === "s3" || src.scheme === "gs") {
    const dest = `${CACHE_MOUNT}/${src.rest.split("/").slice(1).join("/")}`;
    const [img, command] =
      src.scheme === "s3"
        ? ["amazon/aws-cli:2.22.35", ["aws", "s3", "sync", `s3://${src.rest}`, dest]]
        : [
            "gcr.io/google.com/cloudsdktool/google-cloud-cli:502.0.0-slim",
            ["gcloud", "storage", "rsync", "--recursive", `gs://${src.rest}`, dest],
          ];
    return [{ name: "download-weights", image: img, command, resources, volumeMounts: mounts }];
  }
  if (src.scheme === "ollama") {
    return [
      {
        name: "pull-model",
        image,
        command: [
          "/bin/sh",
          "-c",
          `ollama serve & until ollama list >/dev/null 2>&1; do sleep 1; done; ollama pull ${src.rest}`,
        ],
        env: [{ name: "OLLAMA_MODELS", value: `${CACHE_MOUNT}/ollama` }],
        resources,
        volumeMounts: mounts,
      },
    ];
  }
  return [];
}

function cacheVolume(m: ModelSpec, name: string): { volume: unknown; pvc: K8sObject | null } {
  const src = parseSource(m);
  if (src.scheme === "pvc") {
    const claim = src.rest.split("/")[0] ?? src.rest;
    return {
      volume: { name: "model-cache", persistentVolumeClaim: { claimName: claim, readOnly: true } },
      pvc: null,
    };
  }
  const spec = {
    accessModes: [maxReplicas(m) > 1 ? "ReadWriteMany" : "ReadWriteOnce"],
    resources: { requests: { storage: m.cache.size } },
    ...(m.cache.storageClass ? { storageClassName: m.cache.storageClass } : {}),
  };
  if (maxReplicas(m) > 1) {
    // Several replicas share one downloaded copy: the claim must be ReadWriteMany.
    return {
      volume: { name: "model-cache", persistentVolumeClaim: { claimName: `${name}-cache` } },
      pvc: {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: `${name}-cache`, labels: componentLabels(name, "model-cache") },
        spec,
      },
    };
  }
  // One replica: a per-pod ephemeral claim, deleted with the pod.
  return {
    volume: {
      name: "model-cache",
      ephemeral: {
        volumeClaimTemplate: { metadata: { labels: componentLabels(name, "model-cache") }, spec },
      },
    },
    pvc: null,
  };
}

function engineEnv(m: ModelSpec): unknown[] {
  const src = parseSource(m);
  if (m.engine === "ollama") return [{ name: "OLLAMA_MODELS", value: `${CACHE_MOUNT}/ollama` }];
  if (src.scheme !== "hf") return [];
  // The init container downloaded the weights: the engine reads the cache and never the Hub.
  return [
    { name: "HF_HOME", value: `${CACHE_MOUNT}/hf` },
    { name: "HF_HUB_OFFLINE", value: "1" },
  ];
}

/**
 * Replicas spread over the pool's nodes, at most one apart. A preferred anti-affinity is only a
 * score the scheduler may outweigh (a real scheduler put 3 of 4 TP-2 replicas on one node), so
 * whole-GPU replicas get a hard constraint — the planner packs them the same way, so `plan`
 * says where each lands. Replicas on MIG instances or GPU shares go where their slices are
 * (the plan may put several on one node), so for them the spread is a preference.
 */
function spreadConstraint(name: string, place: ModelPlacement): Record<string, unknown> {
  const whole = place.gpu !== null && place.gpu.resource === "nvidia.com/gpu" && !place.shared;
  return {
    maxSkew: 1,
    topologyKey: "kubernetes.io/hostname",
    whenUnsatisfiable: whole ? "DoNotSchedule" : "ScheduleAnyway",
    labelSelector: { matchLabels: selectorLabels(name) },
  };
}

/** Objects of one deployed model. */
export function engineObjects(p: Platform, m: ModelSpec, place: ModelPlacement): PlacedObject[] {
  const name = engineName(m);
  const info = engineInfo(m.engine, m.engineVersion);
  const image = engineImage(m);
  const port = info.defaultPort;
  const labels = componentLabels(name, "engine", { "inferplane.dev/model": m.name });
  const { volume, pvc } = cacheVolume(m, name);
  const health = info.healthPath ?? "/";
  const ready = info.readinessPath ?? health;
  const startupPeriod = 10;
  const ports = [{ name: "http", containerPort: port, protocol: "TCP" }];
  if (info.metricsPort !== port)
    ports.push({ name: "metrics", containerPort: info.metricsPort, protocol: "TCP" });
  const gpuLimits = place.gpu ? { [place.gpu.resource]: String(place.gpu.count) } : {};
  // Engines that own their run facts (src/engines/<engine>/run.ts) answer for image, args and weights.
  const own = containerRunFor(m.engine)?.(m, {
    cacheMount: CACHE_MOUNT,
    port,
    gpu: place.gpu !== null,
    servedName: servedModelName(m),
  });
  const { command, args } = own ? { command: undefined, args: own.args } : engineArgs(m, place);
  const container: Record<string, unknown> = {
    name: "engine",
    image: own?.image ?? image,
    ...(command ? { command } : {}),
    ...(args.length > 0 ? { args } : {}),
    ports,
    env: own?.env ?? engineEnv(m),
    resources: {
      requests: { cpu: m.resources.cpu, memory: m.resources.memory, ...gpuLimits },
      limits: { memory: m.resources.memory, ...gpuLimits },
    },
    startupProbe: {
      httpGet: { path: health, port: "http" },
      periodSeconds: startupPeriod,
      failureThreshold: Math.ceil(startupBudgetSeconds(m) / startupPeriod),
    },
    readinessProbe: { httpGet: { path: ready, port: "http" }, periodSeconds: 5, failureThreshold: 3 },
    livenessProbe: { httpGet: { path: health, port: "http" }, periodSeconds: 10, failureThreshold: 6 },
    // Let the gateway's DNS discovery drop the pod before the engine stops taking requests.
    lifecycle: { preStop: { exec: { command: ["/bin/sh", "-c", "sleep 10"] } } },
    volumeMounts: [
      { name: "model-cache", mountPath: CACHE_MOUNT },
      { name: "shm", mountPath: "/dev/shm" },
    ],
  };
  const deployment: K8sObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, labels },
    spec: {
      // Always set: without an autoscaler (or before KEDA first acts) the Deployment would run
      // one pod. The ArgoCD Application ignores /spec/replicas where an autoscaler owns it.
      replicas: m.replicas,
      selector: { matchLabels: selectorLabels(name) },
      // GPUs are scarce: replace pods one at a time instead of surging an extra GPU pod.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 60,
          ...(Object.keys(place.nodeSelector).length > 0 ? { nodeSelector: place.nodeSelector } : {}),
          ...(place.tolerations.length > 0 ? { tolerations: place.tolerations } : {}),
          topologySpreadConstraints: [spreadConstraint(name, place)],
          initContainers: own?.initContainers ?? initContainers(p, m, image),
          containers: [container],
          volumes: [volume, { name: "shm", emptyDir: { medium: "Memory", sizeLimit: m.shmSize } }],
        },
      },
    },
  };
  const spec = deployment.spec as { template: { spec: { initContainers: unknown[] } } };
  if (spec.template.spec.initContainers.length === 0)
    delete (spec.template.spec as Record<string, unknown>).initContainers;

  const service: K8sObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, labels },
    spec: {
      // Headless: DNS returns every ready pod, and the gateway balances across them itself.
      clusterIP: "None",
      selector: selectorLabels(name),
      ports: ports.map((pt) => ({
        name: pt.name,
        port: pt.containerPort,
        targetPort: pt.name,
        protocol: "TCP",
      })),
    },
  };
  const pdb: K8sObject = {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: { name, labels },
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(name) } },
  };
  const out: PlacedObject[] = [
    { file: `engines/${name}/deployment.yaml`, object: deployment },
    { file: `engines/${name}/service.yaml`, object: service },
    { file: `engines/${name}/pdb.yaml`, object: pdb },
  ];
  if (pvc) out.push({ file: `engines/${name}/pvc.yaml`, object: pvc });
  if (info.metricsPath !== null && p.observability.metrics.enabled) {
    out.push({
      file: `engines/${name}/podmonitor.yaml`,
      object: {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PodMonitor",
        metadata: { name, labels },
        spec: {
          selector: { matchLabels: selectorLabels(name) },
          podMetricsEndpoints: [
            { port: info.metricsPort !== port ? "metrics" : "http", path: info.metricsPath, interval: "15s" },
          ],
        },
      },
    });
  }
  return out;
}
