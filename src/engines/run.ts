/**
 * How an engine runs in a container, for engines that own their run facts (llama.cpp so far; the
 * others are still rendered by src/deploy/engines.ts). The deploy compiler asks
 * `containerRunFor` and uses what it gets; `undefined` means "render it the old way".
 */
import type { ModelSpec } from "../spec/schema.js";

/** Where the deploy compiler mounts the model cache in every engine container. */
export interface RunContext {
  cacheMount: string;
  port: number;
  /** The replica has GPUs (CUDA image, layers offloaded). */
  gpu: boolean;
  /** The served model name (`--alias`). */
  servedName: string;
}

export interface ContainerRun {
  image: string;
  args: string[];
  env: { name: string; value: string }[];
  /** Init containers that put the weights on the cache volume; empty when the engine fetches them. */
  initContainers: unknown[];
}

export type ContainerRunFn = (m: ModelSpec, ctx: RunContext) => ContainerRun;
