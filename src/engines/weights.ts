/**
 * Weights in Hugging Face layout (a repo, or a copy of one on a PVC or in a bucket), as the
 * engines that read such a directory get them (vLLM, TGI, Triton's model repository): where the
 * engine reads them, the init container that puts them on the cache volume, and the engine's
 * environment that keeps it off the Hub once they are there. GGUF engines (llama.cpp) and
 * Ollama's registry have their own, in their folders.
 */
import type { ModelSpec } from "../spec/schema.js";
import { type ContainerRun, catalogImage, type RunContext } from "./run.js";

export interface ModelSource {
  scheme: string;
  /** hf repo, pvc claim/path, ollama name:tag, bucket/path. */
  rest: string;
}

/** The spec's `source` split at `://` (a bare repo id is `hf`). */
export function parseSource(m: ModelSpec): ModelSource {
  const match = /^([a-z0-9]+):\/\/(.+)$/.exec(m.source);
  return { scheme: match?.[1] ?? "hf", rest: match?.[2] ?? m.source };
}

/** Where the engine reads weights: a path on the cache or on a PVC, or the repo id (offline cache). */
export function modelArg(m: ModelSpec, cacheMount: string): string {
  const src = parseSource(m);
  if (src.scheme === "pvc") {
    const [, ...path] = src.rest.split("/");
    return `${cacheMount}/${path.join("/")}`.replace(/\/$/, "");
  }
  if (src.scheme === "s3" || src.scheme === "gs")
    return `${cacheMount}/${src.rest.split("/").slice(1).join("/")}`;
  return src.rest;
}

/** Requests of a weight-download init container (network- and disk-bound, not CPU-bound). */
export const DOWNLOAD_RESOURCES = { requests: { cpu: "1", memory: "2Gi" }, limits: { memory: "4Gi" } };

/**
 * How the weights reach the cache: an init container that downloads them (`hf://` with the
 * engine's own image, which carries `huggingface_hub`; `s3://` and `gs://` with the providers'
 * CLIs), or nothing (`pvc://`: read where they are).
 */
export function downloadInitContainers(m: ModelSpec, image: string, ctx: RunContext): unknown[] {
  const src = parseSource(m);
  const mounts = [{ name: "model-cache", mountPath: ctx.cacheMount }];
  const resources = DOWNLOAD_RESOURCES;
  if (src.scheme === "hf") {
    const script = `from huggingface_hub import snapshot_download; snapshot_download(${JSON.stringify(src.rest)})`;
    return [
      {
        name: "download-weights",
        image,
        command: ["python3", "-c", script],
        env: [
          { name: "HF_HOME", value: `${ctx.cacheMount}/hf` },
          {
            name: "HF_TOKEN",
            valueFrom: { secretKeyRef: { name: ctx.secretName, key: "HF_TOKEN", optional: true } },
          },
        ],
        resources,
        volumeMounts: mounts,
      },
    ];
  }
  if (src.scheme === "s3" || src.scheme === "gs") {
    const dest = `${ctx.cacheMount}/${src.rest.split("/").slice(1).join("/")}`;
    const [img, command] =
      src.scheme === "s3"
        ? ["amazon/aws-cli:2.22.35", ["aws", "s3", "sync", `s3://${src.rest}`, dest]]
        : [
            "gcr.io/google.com/cloudsdktool/google-cloud-cli:502.0.0-slim",
            ["gcloud", "storage", "rsync", "--recursive", `gs://${src.rest}`, dest],
          ];
    return [{ name: "download-weights", image: img, command, resources, volumeMounts: mounts }];
  }
  return [];
}

/** The engine's environment: with `hf://` weights downloaded, it reads the cache and never the Hub. */
export function offlineHubEnv(m: ModelSpec, cacheMount: string): { name: string; value: string }[] {
  if (parseSource(m).scheme !== "hf") return [];
  return [
    { name: "HF_HOME", value: `${cacheMount}/hf` },
    { name: "HF_HUB_OFFLINE", value: "1" },
  ];
}

/**
 * The catalog image of an engine that reads Hugging Face weights: offline hub settings, and an init
 * container that downloads the weights into the cache volume first (vLLM, TGI, Triton).
 */
export function hubContainer(
  m: ModelSpec,
  ctx: RunContext,
  run: { args: string[]; command?: string[] },
): ContainerRun {
  const image = catalogImage(m);
  return {
    image,
    ...(run.command ? { command: run.command } : {}),
    args: run.args,
    env: offlineHubEnv(m, ctx.cacheMount),
    initContainers: downloadInitContainers(m, image, ctx),
  };
}
