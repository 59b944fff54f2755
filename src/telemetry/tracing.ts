/**
 * OpenTelemetry tracing for every Inferplane server: one tracer provider per server instance
 * (never the global one, so several servers in one process keep their own settings), an OTLP/HTTP
 * exporter behind a batch processor, W3C trace context in and out.
 *
 * Settings come from the spec's `observability.tracing` and, as every OpenTelemetry user expects,
 * from the standard environment variables, which win: OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER=none,
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT (setting one turns tracing on),
 * OTEL_EXPORTER_OTLP_TRACES_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME,
 * OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG.
 * Source: https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
 *
 * Spans are parented explicitly (a Context passed in), not through an async-hooks context manager:
 * enabling AsyncLocalStorage costs every promise in the process, tracing or not. With tracing off
 * `tracing.tracer` is undefined and instrumented code skips all of it (one branch per request).
 */
import {
  type Attributes,
  type Context,
  context as otelContext,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import { InferplaneError } from "../errors.js";
import { type ObservabilitySpec, SAMPLERS } from "../spec/schema.js";
import { OTLP_PROTOCOLS, OtlpHttpExporter, type OtlpProtocol, parseOtlpHeaders } from "./otlp-exporter.js";

export type { Attributes, Context, Span, Tracer };
export { SAMPLERS, SpanKind, SpanStatusCode };
export type SamplerName = (typeof SAMPLERS)[number];

export type TracingSpec = ObservabilitySpec["tracing"];

/** Resolved settings: spec defaults, then the environment. */
export interface TracingConfig {
  enabled: boolean;
  /** Full traces URL (…/v1/traces). */
  endpoint: string;
  protocol: OtlpProtocol;
  serviceName: string;
  sampler: SamplerName;
  ratio: number;
  /** Where each setting came from, for the start-up log line. */
  from: { endpoint: "env" | "spec" | "default"; serviceName: "env" | "spec"; sampler: "env" | "spec" };
}

const DEFAULT_ENDPOINT = "http://localhost:4318";

function tracesUrl(base: string): string {
  const trimmed = base.replace(/\/+$/, "");
  return trimmed.endsWith("/v1/traces") ? trimmed : `${trimmed}/v1/traces`;
}

function envUrl(name: string, value: string): string {
  try {
    return new URL(value).toString();
  } catch {
    throw new InferplaneError("usage", `${name}=${value} is not a URL (e.g. http://otel-collector:4318)`);
  }
}

/** Pure: the spec's tracing section plus OTEL_* variables → the settings in force. */
export function resolveTracingConfig(
  spec: Partial<TracingSpec> | undefined,
  env: NodeJS.ProcessEnv,
): TracingConfig {
  const e = (k: string) => {
    const v = env[k]?.trim();
    return v === undefined || v === "" ? undefined : v;
  };
  const tracesEndpoint = e("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  const baseEndpoint = e("OTEL_EXPORTER_OTLP_ENDPOINT");
  let endpoint: string;
  let endpointFrom: TracingConfig["from"]["endpoint"];
  if (tracesEndpoint !== undefined) {
    // The signal-specific variable is used as is (spec: no path appended).
    endpoint = envUrl("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", tracesEndpoint);
    endpointFrom = "env";
  } else if (baseEndpoint !== undefined) {
    endpoint = tracesUrl(envUrl("OTEL_EXPORTER_OTLP_ENDPOINT", baseEndpoint));
    endpointFrom = "env";
  } else if (spec?.otlpEndpoint) {
    endpoint = tracesUrl(spec.otlpEndpoint);
    endpointFrom = "spec";
  } else {
    endpoint = tracesUrl(DEFAULT_ENDPOINT);
    endpointFrom = "default";
  }

  const samplerEnv = e("OTEL_TRACES_SAMPLER")?.toLowerCase();
  if (samplerEnv !== undefined && !(SAMPLERS as readonly string[]).includes(samplerEnv)) {
    throw new InferplaneError(
      "usage",
      `OTEL_TRACES_SAMPLER=${samplerEnv} is not a sampler Inferplane supports; use one of ${SAMPLERS.join(", ")}`,
    );
  }
  const sampler = (samplerEnv ?? spec?.sampler ?? "parentbased_always_on") as SamplerName;
  let ratio = spec?.ratio ?? 1;
  const argEnv = e("OTEL_TRACES_SAMPLER_ARG");
  if (argEnv !== undefined && sampler.endsWith("traceidratio")) {
    const n = Number(argEnv);
    if (!Number.isFinite(n) || n < 0 || n > 1) {
      throw new InferplaneError("usage", `OTEL_TRACES_SAMPLER_ARG=${argEnv} must be a number from 0 to 1`);
    }
    ratio = n;
  }

  const protocolEnv = e("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ?? e("OTEL_EXPORTER_OTLP_PROTOCOL");
  if (protocolEnv !== undefined && !(OTLP_PROTOCOLS as readonly string[]).includes(protocolEnv)) {
    throw new InferplaneError(
      "usage",
      `OTLP protocol ${protocolEnv} is not supported; use one of ${OTLP_PROTOCOLS.join(", ")} (grpc is not)`,
    );
  }
  const protocol = (protocolEnv ?? spec?.protocol ?? "http/protobuf") as OtlpProtocol;

  const disabled = e("OTEL_SDK_DISABLED")?.toLowerCase() === "true" || e("OTEL_TRACES_EXPORTER") === "none";
  const enabled = !disabled && (spec?.enabled === true || endpointFrom === "env");
  const serviceEnv = e("OTEL_SERVICE_NAME");
  return {
    enabled,
    endpoint,
    protocol,
    serviceName: serviceEnv ?? spec?.serviceName ?? "inferplane",
    sampler,
    ratio,
    from: {
      endpoint: endpointFrom,
      serviceName: serviceEnv !== undefined ? "env" : "spec",
      sampler: samplerEnv !== undefined ? "env" : "spec",
    },
  };
}

export function createSampler(name: SamplerName, ratio: number): Sampler {
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(ratio);
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}

const propagator = new W3CTraceContextPropagator();
const headerGetter: TextMapGetter<Record<string, string | string[] | undefined>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

export interface Tracing {
  readonly config: TracingConfig | undefined;
  /** Undefined when tracing is off: instrumented code tests this once and skips everything. */
  readonly tracer: Tracer | undefined;
  /** Exports what is buffered (tests, drain). */
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Tracing that is off: no provider, no exporter, nothing per request. */
export const TRACING_OFF: Tracing = {
  config: undefined,
  tracer: undefined,
  forceFlush: async () => {},
  shutdown: async () => {},
};

export interface TracingOptions {
  /** `inferplane.component` resource attribute: gateway, rag, sim. */
  component: string;
  env?: NodeJS.ProcessEnv;
  /** Replaces the OTLP exporter (benchmarks and unit tests). */
  exporter?: SpanExporter;
  /** Told when an export fails (at most once a minute): a tracing backend down must not be silent. */
  onExportError?: (err: Error) => void;
}

/**
 * Batch processor settings: the OTEL_BSP_* variables when set, else small batches sent often —
 * a span waiting in the queue for long survives young-generation GC and is promoted, which at
 * thousands of spans a second costs more than the extra export requests.
 */
export function batchSettings(env: NodeJS.ProcessEnv): {
  maxQueueSize: number;
  maxExportBatchSize: number;
  scheduledDelayMillis: number;
  exportTimeoutMillis: number;
} {
  const n = (k: string, d: number) => {
    const v = Number(env[k]);
    return env[k] !== undefined && env[k] !== "" && Number.isFinite(v) && v > 0 ? v : d;
  };
  return {
    maxQueueSize: n("OTEL_BSP_MAX_QUEUE_SIZE", 8192),
    maxExportBatchSize: n("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 256),
    scheduledDelayMillis: n("OTEL_BSP_SCHEDULE_DELAY", 200),
    exportTimeoutMillis: n("OTEL_BSP_EXPORT_TIMEOUT", 10_000),
  };
}

/** A tracer provider for one server, or TRACING_OFF when the settings say so. */
export function createTracing(spec: Partial<TracingSpec> | undefined, options: TracingOptions): Tracing {
  const config = resolveTracingConfig(spec, options.env ?? process.env);
  if (!config.enabled) return { ...TRACING_OFF, config };
  const env = options.env ?? process.env;
  let lastReport = Number.NEGATIVE_INFINITY;
  const exporter =
    options.exporter ??
    new OtlpHttpExporter({
      url: config.endpoint,
      protocol: config.protocol,
      headers: {
        ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS),
        ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
      },
      onError: (err) => {
        const now = performance.now();
        if (now - lastReport < 60_000) return;
        lastReport = now;
        options.onExportError?.(err);
      },
    });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: config.serviceName,
      [ATTR_SERVICE_VERSION]: process.env.npm_package_version ?? "0",
      "inferplane.component": options.component,
    }),
    sampler: createSampler(config.sampler, config.ratio),
    spanProcessors: [new BatchSpanProcessor(exporter, batchSettings(env))],
  });
  const tracer = provider.getTracer("inferplane", process.env.npm_package_version);
  return {
    config,
    tracer,
    forceFlush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/** The parent context carried by an incoming request's `traceparent`/`tracestate`, or the root. */
export function extractContext(headers: Record<string, string | string[] | undefined>): Context {
  if (headers.traceparent === undefined) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, headers, headerGetter);
}

/** A context whose parent is `span`, for starting children explicitly. */
export function contextWith(span: Span, parent: Context = ROOT_CONTEXT): Context {
  return trace.setSpan(parent, span);
}

/** The W3C `traceparent` value naming `span` as the parent. */
export function traceparentOf(span: Span): string {
  const c = span.spanContext();
  return `00-${c.traceId}-${c.spanId}-0${(c.traceFlags & 1).toString(16)}`;
}

/** Marks a span failed with the error's message and an `error.type` attribute. */
export function recordError(span: Span, err: unknown, type?: string): void {
  const e = err instanceof Error ? err : new Error(String(err));
  span.recordException(e);
  span.setAttribute("error.type", type ?? (e as { code?: string }).code ?? e.name);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
}

/**
 * Runs `fn` inside a child span of `parent` (a span or context; the root when omitted) and ends it;
 * a thrown error marks the span failed and is rethrown. With tracing off, `fn` gets undefined and
 * nothing else happens. The RAG stages use this: `withSpan(tracing, "rag.search", {...}, (s) => …, parentSpan)`.
 */
export async function withSpan<T>(
  tracing: Tracing,
  name: string,
  attributes: Attributes,
  fn: (span: Span | undefined) => Promise<T> | T,
  parent?: Span | Context,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  const tracer = tracing.tracer;
  if (!tracer) return fn(undefined);
  const ctx =
    parent === undefined
      ? ROOT_CONTEXT
      : "spanContext" in parent
        ? trace.setSpan(ROOT_CONTEXT, parent)
        : (parent as Context);
  const span = tracer.startSpan(name, { kind, attributes }, ctx);
  try {
    return await fn(span);
  } catch (err) {
    recordError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** For code that does use the active context (a library's own instrumentation). */
export const activeContext = (): Context => otelContext.active();
