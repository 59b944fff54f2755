// Entry point for tests that need real services: `import { requireService, startRedis } from "../services/index.js"`.
export * from "./harness.js";
export * from "./llamacpp.js";
export * from "./llmd-sim.js";
export * from "./otelcol.js";
export * from "./prometheus.js";
export * from "./redis.js";
