/**
 * Library entry: the functions behind the CLI's commands, callable without it. Per command:
 * validate → validateSpecFile; schema → specJsonSchema; plan → planSpec and renderPlanText /
 * renderPlanMarkdown / renderPlanHtml; render → renderPlatform and writeTree; lint → lintPaths;
 * sim → startSimServer / startSimFleet; serve → startGateway; embed-serve → startEmbeddingServer;
 * bench → runBench; rag → RagService.
 * CLI-only (test/index-exports.test.ts holds the list): `up` (composes sim, embedded engines
 * and the gateway from these pieces), and `keys` / `usage` (thin commands over the gateway's
 * policy stores, src/gateway/policy, whose store factory is not yet a stable surface).
 */

export { type BenchOptions, type BenchOutcome, runBench } from "./bench/run.js";
export {
  formatSarif as formatLintSarif,
  type LintReport,
  lintPaths,
  RULES as LINT_RULES,
} from "./deploy/lint/index.js";
export { makePlanner as makeRenderPlanner } from "./deploy/plan.js";
export { type RenderOptions, type RenderResult, renderPlatform } from "./deploy/render.js";
export { writeTree } from "./deploy/write.js";
export {
  type EmbeddingServerHandle,
  type EmbeddingServerOptions,
  startEmbeddingServer,
} from "./engines/embedded/index.js";
export { getEngineAdapter } from "./engines/index.js";
export * from "./errors.js";
export { createBalancer } from "./gateway/routing/balancers/index.js";
export { Router } from "./gateway/routing/router.js";
export { type GatewayHandle, type GatewayOptions, startGateway } from "./gateway/server.js";
export { renderHtml as renderPlanHtml } from "./planner/html.js";
export { planSpec } from "./planner/index.js";
export { renderMarkdown as renderPlanMarkdown, renderText as renderPlanText } from "./planner/report.js";
export { RagService, type RagServiceOptions } from "./rag/service.js";
export { CALIBRATION, type CalibrationPoint } from "./sim/model/calibration.js";
export {
  type EngineConfig,
  type EngineConfigInput,
  engineConfig,
  memoryBreakdown,
} from "./sim/model/config.js";
export { EngineCore, type EngineEvent, RequestRejected, type SimRequestInput } from "./sim/model/engine.js";
export {
  type FleetOptions,
  type FleetResult,
  type FleetRouter,
  leastLoaded,
  type RequestResult,
  simulateFleet,
  type WorkloadRequest,
} from "./sim/model/fleet.js";
export {
  generateWorkload,
  type LengthDist,
  SHAREGPT_LIKE,
  type WorkloadOptions,
} from "./sim/model/workload.js";
export {
  type SimFleetHandle,
  type SimFleetOptions,
  type SimServerHandle,
  type SimServerOptions,
  startSimFleet,
  startSimServer,
} from "./sim/server.js";
export { specJsonSchema } from "./spec/json-schema.js";
export { type LoadedSpec, loadSpec, parseSpec, resolveSpecFile } from "./spec/load.js";
export * from "./spec/schema.js";
export { type PlatformSummary, summarize } from "./spec/summary.js";
export { type ValidationReport, validateSpecFile } from "./spec/validate.js";
