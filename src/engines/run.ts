/**
 * How an engine runs in a container. Every deployable engine's folder has a `run.ts` with a
 * `ContainerRunFn`; the deploy compiler (Kubernetes objects, the docker-compose file) asks it and
 * only adds what is the same for every engine (ports, probes, resources, volumes, placement).
 */
import { engineInfo } from "../catalog/engines.js";
import type { ModelSpec } from "../spec/schema.js";

/** What the deploy compiler decided for one replica: where things go, and the plan's numbers. */
export interface RunContext {
  /** Where the model cache volume is mounted in the engine container. */
  cacheMount: string;
  port: number;
  /** The replica has GPUs (CUDA image, layers offloaded). */
  gpu: boolean;
  /** The served model name (`--served-model-name`, `--alias`). */
  servedName: string;
  /** GPUs one replica spans (tensor parallelism), from the plan. */
  tensorParallel: number;
  /** Fraction of each GPU's memory the engine may take, from the plan. */
  gpuMemoryUtilization: number;
  /** Context of one sequence, tokens, from the plan; `undefined` for the model's own. */
  maxModelLen: number | undefined;
  /** The Secret whose optional `HF_TOKEN` key weight downloads read. */
  secretName: string;
}

export interface ContainerRun {
  image: string;
  /** The entrypoint, where the engine's image needs another one (Triton's `tritonserver`). */
  command?: string[];
  args: string[];
  env: { name: string; value: string }[];
  /** Init containers that put the weights on the cache volume; empty when the engine fetches them. */
  initContainers: unknown[];
}

export type ContainerRunFn = (m: ModelSpec, ctx: RunContext) => ContainerRun;

/** The image of a model's engine: the spec's override, else the catalog's image at its version. */
export function catalogImage(m: ModelSpec): string {
  const image = m.image ?? engineInfo(m.engine, m.engineVersion).image;
  if (image === null) throw new Error(`engine ${m.engine} has no container image`);
  return image;
}
