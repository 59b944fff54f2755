/**
 * Ollama in a container: the image's own entrypoint (`ollama serve`), models under
 * `OLLAMA_MODELS` on the cache volume, and an init container that starts a server long enough to
 * `ollama pull` the spec's `ollama://NAME:TAG` into it.
 */
import type { ModelSpec } from "../../spec/schema.js";
import { type ContainerRun, catalogImage, type RunContext } from "../run.js";
import { DOWNLOAD_RESOURCES, parseSource } from "../weights.js";

export function ollamaContainer(m: ModelSpec, ctx: RunContext): ContainerRun {
  const image = catalogImage(m);
  const env = [{ name: "OLLAMA_MODELS", value: `${ctx.cacheMount}/ollama` }];
  const src = parseSource(m);
  const initContainers =
    src.scheme === "ollama"
      ? [
          {
            name: "pull-model",
            image,
            command: [
              "/bin/sh",
              "-c",
              `ollama serve & until ollama list >/dev/null 2>&1; do sleep 1; done; ollama pull ${src.rest}`,
            ],
            env,
            resources: DOWNLOAD_RESOURCES,
            volumeMounts: [{ name: "model-cache", mountPath: ctx.cacheMount }],
          },
        ]
      : [];
  return { image, args: [], env, initContainers };
}
