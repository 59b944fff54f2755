/**
 * Loads a catalog embedding model from the cache and serves it: the library behind
 * `inferplane embed-serve` (the container command in Kubernetes) and the local runner's replicas.
 * Never downloads: the files must be installed first (`ensureModelFiles`).
 */
import { getModel, type ModelSpec } from "../../catalog/models.js";
import { InferplaneError } from "../../errors.js";
import { artifactFor, type ModelArtifact } from "./artifacts.js";
import { defaultCacheDir, installedModelFiles } from "./install.js";
import { EmbeddingModel } from "./model.js";
import { type EmbeddingServerHandle, startEmbeddingServer } from "./server.js";

export interface ServeEmbeddingsOptions {
  model: string;
  servedModelName?: string;
  host?: string;
  port?: number;
  cacheDir?: string;
  threads?: number;
  maxQueue?: number;
  maxBatch?: number;
}

/** The catalog facts and pinned files of an embedding model the embedded engine can run. */
export function embeddedModel(id: string): { spec: ModelSpec; artifact: ModelArtifact } {
  const spec = getModel(id);
  const artifact = artifactFor(spec.id);
  if (spec.kind !== "embedding" || !spec.embedding || !artifact) {
    throw new InferplaneError(
      "catalog_unknown_model",
      `the embedded engine has no model files for "${id}" (it runs: bge-small-en-v1.5)`,
    );
  }
  return { spec, artifact };
}

/** The model loaded from installed files; `model_files_unavailable` when they are not installed. */
export async function loadEmbeddedModel(id: string, cacheDir = defaultCacheDir(), threads?: number) {
  const { spec, artifact } = embeddedModel(id);
  const files = installedModelFiles(cacheDir, artifact);
  if (!files) {
    throw new InferplaneError(
      "model_files_unavailable",
      `${spec.id} is not installed in ${cacheDir} (run \`bash test/services/install.sh embedding_models\`, or \`inferplane up\`, which fetches it once)`,
    );
  }
  return EmbeddingModel.load(spec, files, threads === undefined ? {} : { threads });
}

export async function serveEmbeddings(opts: ServeEmbeddingsOptions): Promise<EmbeddingServerHandle> {
  const model = await loadEmbeddedModel(opts.model, opts.cacheDir, opts.threads);
  const server = await startEmbeddingServer({
    model,
    ...(opts.servedModelName ? { servedModelName: opts.servedModelName } : {}),
    ...(opts.host ? { host: opts.host } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.maxQueue ? { maxQueue: opts.maxQueue } : {}),
    ...(opts.maxBatch ? { maxBatch: opts.maxBatch } : {}),
  });
  return {
    ...server,
    close: async () => {
      await server.close();
      await model.close();
    },
  };
}
