/** Library entry: every CLI command is also a function here. */
export * from "./errors.js";
export { specJsonSchema } from "./spec/json-schema.js";
export { type LoadedSpec, loadSpec, parseSpec, resolveSpecFile } from "./spec/load.js";
export * from "./spec/schema.js";
export { type PlatformSummary, summarize } from "./spec/summary.js";
export { type ValidationReport, validateSpecFile } from "./spec/validate.js";
