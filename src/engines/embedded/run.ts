/**
 * The embedded engine in a container: the Inferplane image, whose entrypoint is the CLI, running
 * `embed-serve`; the pinned model files are fetched into the cache volume at start-up (SHA-256
 * checked, `--fetch`), never per request, so there is no init container.
 */
import { catalogModelOf, servedModelName } from "../../spec/checks.js";
import type { ModelSpec } from "../../spec/schema.js";
import { type ContainerRun, catalogImage, type RunContext } from "../run.js";
import { offlineHubEnv } from "../weights.js";

export function embeddedContainer(m: ModelSpec, ctx: RunContext): ContainerRun {
  return {
    image: catalogImage(m),
    args: [
      "embed-serve",
      "--model",
      catalogModelOf(m)?.id ?? m.catalog ?? servedModelName(m),
      "--served-model-name",
      servedModelName(m),
      "--host",
      "0.0.0.0",
      "--port",
      String(ctx.port),
      "--cache-dir",
      ctx.cacheMount,
      "--fetch",
      ...m.extraArgs,
    ],
    env: offlineHubEnv(m, ctx.cacheMount),
    initContainers: [],
  };
}
