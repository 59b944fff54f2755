/**
 * RAG's public face for the rest of Inferplane: the `/v1/rag/*` routes a gateway mounts (with what
 * it knows of the caller), and the service's types. The service itself loads on first use.
 */
export { type RagCaller, type RagRoutesOptions, registerRagRoutes } from "./api.js";
export type { AnswerResult, RagService, RagServiceOptions } from "./service.js";
