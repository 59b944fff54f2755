/**
 * The embedded engine: embedding models run by Inferplane itself in ONNX Runtime (CPU), served
 * with the OpenAI `/v1/embeddings` API. See docs/rag.md.
 */
export { ARTIFACTS, artifactFor, type ModelArtifact } from "./artifacts.js";
export { defaultCacheDir, ensureModelFiles, installedModelFiles, type ModelFiles } from "./install.js";
export { EMBEDDING_METRICS } from "./metrics.js";
export { EmbeddingModel } from "./model.js";
export { catalogIdOf, localRunner } from "./runner.js";
export { embeddedModel, loadEmbeddedModel, type ServeEmbeddingsOptions, serveEmbeddings } from "./serve.js";
export { type EmbeddingServerHandle, type EmbeddingServerOptions, startEmbeddingServer } from "./server.js";
