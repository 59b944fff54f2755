/**
 * Triton Inference Server in a container: `tritonserver` over a prepared model repository (one
 * `config.pbtxt` per model), HTTP on the API port and metrics on their own (8002). Render refuses
 * to deploy it (see `renderRefusal` in index.ts); the container is what a prepared repository
 * would run with.
 */
import { engineInfo } from "../../catalog/engines.js";
import type { ModelSpec } from "../../spec/schema.js";
import type { ContainerRun, RunContext } from "../run.js";
import { hubContainer, modelArg } from "../weights.js";

export function tritonContainer(m: ModelSpec, ctx: RunContext): ContainerRun {
  const metricsPort = engineInfo(m.engine, m.engineVersion).metricsPort;
  return hubContainer(m, ctx, {
    command: [
      "tritonserver",
      `--model-repository=${modelArg(m, ctx.cacheMount)}`,
      `--http-port=${ctx.port}`,
      `--metrics-port=${metricsPort}`,
      ...m.extraArgs,
    ],
    args: [],
  });
}
