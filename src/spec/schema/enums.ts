/** The spec schema's enums and field helpers, shared by its sections (the sections: src/spec/schema/*.ts). */
import { z } from "zod";
import { DEFAULT_ENGINE, ENGINE_IDS } from "../../catalog/engines.js";

export const API_VERSION = "inferplane.dev/v1";
export const KIND = "Platform";

/** The engine enum comes from the one engine list in the catalog. */
export const ENGINES = ENGINE_IDS;
export { DEFAULT_ENGINE };
/** OTLP/HTTP encodings the exporter speaks (OpenTelemetry's OTEL_EXPORTER_OTLP_PROTOCOL values over HTTP). */
export const OTLP_PROTOCOLS = ["http/protobuf", "http/json"] as const;
/** OpenTelemetry's OTEL_TRACES_SAMPLER values the gateway supports. */
export const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export const SHARING_MODES = ["exclusive", "mig", "time-slicing", "mps"] as const;
export const QUANTIZATIONS = [
  "none",
  "awq",
  "gptq",
  "gptq-int4",
  "gptq-int8",
  "fp8",
  "gguf",
  "bitsandbytes",
] as const;
export const BALANCERS = ["round-robin", "least-request", "load-aware", "prefix-affinity"] as const;
export const MODEL_KINDS = ["chat", "embedding", "rerank"] as const;
export const SPECULATIVE_METHODS = ["ngram", "mtp", "eagle", "eagle3", "medusa"] as const;
export const SCALING_METRICS = ["num_requests_waiting", "num_requests_running", "kv_cache_usage"] as const;

export const labels = (doc: string) => z.record(z.string(), z.string()).describe(doc);
export const envVar = (doc: string) =>
  z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name")
    .describe(
      `${doc} Names an environment variable (or a Secret key in Kubernetes); never the value itself.`,
    );
export const url = (doc: string) => z.url().describe(doc);
