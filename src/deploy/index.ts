/** The deploy compiler and linter: `renderPlatform` (spec → Kustomize tree) and `lintPaths`. */
export { type RenderOptions, type RenderResult, renderPlatform } from "./render.js";
export type { K8sObject, RenderedFile } from "./types.js";
export { type ValidationProblem, validateObject } from "./validate.js";
