/** Observability: metrics, tracing, logs, dashboards and alerts. (A section of the spec schema: src/spec/schema.ts.) */
import { z } from "zod";
import { duration } from "../units.js";
import { OTLP_PROTOCOLS, SAMPLERS, url } from "./enums.js";

// ---------------------------------------------------------------- observability
export const Observability = z
  .strictObject({
    metrics: z
      .strictObject({
        enabled: z.boolean().default(true).describe("Expose Prometheus metrics."),
        path: z.string().startsWith("/").default("/metrics").describe("Metrics path."),
      })
      .prefault({})
      .describe("Prometheus metrics."),
    tracing: z
      .strictObject({
        enabled: z
          .boolean()
          .default(false)
          .describe("Export OpenTelemetry traces (also on when OTEL_EXPORTER_OTLP_ENDPOINT is set)."),
        otlpEndpoint: url("OTLP/HTTP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT overrides).").optional(),
        protocol: z
          .enum(OTLP_PROTOCOLS)
          .default("http/protobuf")
          .describe(
            "OTLP/HTTP encoding (OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, then OTEL_EXPORTER_OTLP_PROTOCOL, override). grpc is not supported.",
          ),
        serviceName: z.string().default("inferplane").describe("service.name (OTEL_SERVICE_NAME overrides)."),
        sampler: z
          .enum(SAMPLERS)
          .default("parentbased_always_on")
          .describe(
            "Sampler, as OTEL_TRACES_SAMPLER names them (OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG override).",
          ),
        ratio: z.number().min(0).max(1).default(1).describe("Sampling ratio for the ratio samplers."),
      })
      .prefault({})
      .describe("OpenTelemetry traces."),
    logging: z
      .strictObject({
        level: z
          .enum(["trace", "debug", "info", "warn", "error", "fatal"])
          .default("info")
          .describe("Log level."),
        format: z.enum(["json", "pretty"]).default("json").describe("Log format."),
        accessLog: z
          .boolean()
          .default(true)
          .describe(
            "One JSON line per request (trace id, route, endpoint, status, tokens, latency, overhead; never prompts or keys).",
          ),
      })
      .prefault({})
      .describe("Structured logs."),
    alerts: z
      .strictObject({
        enabled: z.boolean().default(true).describe("Render PrometheusRule alerts."),
        queueDepth: z.number().positive().default(10).describe("Waiting requests per replica that alert."),
        kvCacheUsage: z
          .number()
          .gt(0)
          .max(1)
          .default(0.9)
          .describe("KV-cache usage fraction (0–1) that alerts."),
        ttftP99: duration("p99 time to first token that alerts.").default(2_000),
        e2eP99: duration("p99 end-to-end request latency of an engine that alerts.").default(10_000),
        runningSeqs: z
          .number()
          .gt(0)
          .max(1)
          .default(0.8)
          .describe(
            "Running sequences per replica, as a fraction (0–1) of the model's `maxNumSeqs`, that alert.",
          ),
        minGenerationTokensPerSecond: z
          .number()
          .positive()
          .default(100)
          .describe("Generation throughput (tokens/s per model) under which a busy model alerts."),
        milvusSearchP99: duration("p99 Milvus search latency that alerts.").default(2_000),
      })
      .prefault({})
      .describe("Alert thresholds (PrometheusRule)."),
    dashboards: z
      .strictObject({
        grafana: z.boolean().default(true).describe("Render Grafana dashboards as ConfigMaps."),
      })
      .prefault({})
      .describe("Dashboards."),
    gpu: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe("With GPUs: a GPU dashboard and GPU alerts on the DCGM exporter the GPU Operator runs."),
        temperature: z.number().positive().default(85).describe("GPU temperature (°C) that alerts."),
        memoryUsage: z
          .number()
          .gt(0)
          .max(1)
          .default(0.95)
          .describe("Framebuffer memory used, as a fraction (0–1), that alerts."),
      })
      .prefault({})
      .describe("GPU observability through NVIDIA DCGM exporter."),
    stack: z
      .enum(["assume", "bring"])
      .default("assume")
      .describe(
        "`assume`: Prometheus, Grafana, Jaeger and Loki exist; `bring`: render them as pinned HelmCharts (kube-prometheus-stack, Jaeger, Loki).",
      ),
  })
  .describe("Metrics, traces, logs, alerts and dashboards.");
