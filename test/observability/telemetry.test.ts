// The shared telemetry module without services: tracing settings from the spec and the OTEL_*
// variables, our OTLP/JSON encoding against OpenTelemetry's own, log redaction, metric naming.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { isInferplaneError } from "../../src/errors.js";
import { credentialOf } from "../../src/gateway/policy/keys.js";
import { createLogger, prettyStream } from "../../src/telemetry/logger.js";
import { ChildCache, metricName } from "../../src/telemetry/metrics.js";
import { parseOtlpHeaders } from "../../src/telemetry/otlp-exporter.js";
import { exportRequestJson } from "../../src/telemetry/otlp-json.js";
import { exportRequestProto } from "../../src/telemetry/otlp-proto.js";
import { CREDENTIAL_HEADERS, REDACTED_KEYS, redactPaths } from "../../src/telemetry/redaction.js";
import {
  contextWith,
  createTracing,
  extractContext,
  recordError,
  resolveTracingConfig,
  SpanKind,
  traceparentOf,
  withSpan,
} from "../../src/telemetry/tracing.js";

describe("tracing settings", () => {
  it("spec values, then the standard OTEL_* variables, which win", () => {
    const spec = {
      enabled: false,
      otlpEndpoint: "http://collector:4318",
      serviceName: "from-spec",
      sampler: "parentbased_traceidratio" as const,
      ratio: 0.25,
    };
    const fromSpec = resolveTracingConfig(spec, {});
    assert.equal(fromSpec.enabled, false);
    assert.equal(fromSpec.endpoint, "http://collector:4318/v1/traces");
    assert.equal(fromSpec.serviceName, "from-spec");
    assert.equal(fromSpec.sampler, "parentbased_traceidratio");
    assert.equal(fromSpec.ratio, 0.25);
    assert.equal(resolveTracingConfig({ ...spec, enabled: true }, {}).enabled, true);

    const env = resolveTracingConfig(spec, {
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel:4318/",
      OTEL_SERVICE_NAME: "from-env",
      OTEL_TRACES_SAMPLER: "traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.1",
    });
    assert.equal(env.enabled, true, "setting the endpoint variable turns tracing on");
    assert.equal(env.endpoint, "http://otel:4318/v1/traces");
    assert.equal(env.serviceName, "from-env");
    assert.equal(env.sampler, "traceidratio");
    assert.equal(env.ratio, 0.1);
    assert.deepEqual(env.from, { endpoint: "env", serviceName: "env", sampler: "env" });
    // The signal-specific variable is taken as is.
    assert.equal(
      resolveTracingConfig(spec, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://x:9999/custom" }).endpoint,
      "http://x:9999/custom",
    );
    assert.equal(resolveTracingConfig({}, {}).endpoint, "http://localhost:4318/v1/traces");
    assert.equal(fromSpec.protocol, "http/protobuf", "the OTLP exporter spec's default");
    assert.equal(resolveTracingConfig({ protocol: "http/json" }, {}).protocol, "http/json");
    assert.equal(
      resolveTracingConfig(
        { protocol: "http/json" },
        { OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf" },
      ).protocol,
      "http/protobuf",
      "the signal-specific variable wins",
    );
    for (const off of [{ OTEL_SDK_DISABLED: "true" }, { OTEL_TRACES_EXPORTER: "none" }]) {
      assert.equal(resolveTracingConfig({ ...spec, enabled: true }, off).enabled, false);
    }
  });

  it("a bad variable is a clear error naming it", () => {
    const bad = (env: NodeJS.ProcessEnv, re: RegExp) =>
      assert.throws(
        () => resolveTracingConfig({}, env),
        (e: unknown) => isInferplaneError(e) && e.code === "usage" && re.test(e.message),
      );
    bad({ OTEL_TRACES_SAMPLER: "sometimes" }, /OTEL_TRACES_SAMPLER=sometimes .*always_on/);
    bad({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" }, /OTEL_TRACES_SAMPLER_ARG=2/);
    bad({ OTEL_EXPORTER_OTLP_ENDPOINT: "not a url" }, /OTEL_EXPORTER_OTLP_ENDPOINT=not a url is not a URL/);
    bad({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, /OTLP protocol grpc is not supported.*http\/protobuf/);
  });

  it("off: no tracer at all; on: spans honour the sampler and the caller's traceparent", async () => {
    assert.equal(createTracing({ enabled: false }, { component: "t", env: {} }).tracer, undefined);
    const { got, exporter } = collectingExporter();
    const on = createTracing(
      { enabled: true, sampler: "parentbased_always_on" },
      { component: "t", env: {}, exporter },
    );
    const tracer = on.tracer;
    assert.ok(tracer);
    const parent = extractContext({ traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" });
    const span = tracer.startSpan("chat m", { kind: SpanKind.SERVER }, parent);
    assert.equal(span.spanContext().traceId, "0af7651916cd43dd8448eb211c80319c");
    const child = tracer.startSpan("attempt", { kind: SpanKind.CLIENT }, contextWith(span));
    assert.match(
      traceparentOf(child),
      new RegExp(`^00-0af7651916cd43dd8448eb211c80319c-${child.spanContext().spanId}-01$`),
    );
    recordError(child, new Error("boom"), "upstream_error");
    child.end();
    span.end();
    await assert.rejects(
      withSpan(
        on,
        "rag.search",
        { "rag.k": 5 },
        async () => {
          throw new Error("store down");
        },
        span,
      ),
      /store down/,
    );
    await on.shutdown();
    assert.equal(got.length, 3);
    const failed = got.find((s) => s.name === "rag.search");
    assert.equal(failed?.status.code, 2);
    assert.equal(failed?.parentSpanContext?.spanId, span.spanContext().spanId);
    assert.equal(got.find((s) => s.name === "attempt")?.attributes["error.type"], "upstream_error");

    // A parent that was not sampled: parent-based sampling records nothing, the flag says so.
    const unsampled = createTracing({ enabled: true }, { component: "t", env: {}, exporter });
    const s2 = unsampled.tracer?.startSpan(
      "x",
      {},
      extractContext({ traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00" }),
    );
    assert.ok(s2 && !s2.isRecording());
    assert.match(traceparentOf(s2), /-00$/);
    await unsampled.shutdown();
  });
});

/** An exporter that keeps every span it is given in `got`. */
function collectingExporter() {
  const got: ReadableSpan[] = [];
  const exporter: SpanExporter = {
    export: (spans, done) => {
      got.push(...spans);
      done({ code: 0 });
    },
    shutdown: async () => {},
  };
  return { got, exporter };
}

/** Tracing at 100% whose exporter keeps every span in `got`. */
function collectingTracing(component: string) {
  const { got, exporter } = collectingExporter();
  return { got, t: createTracing({ enabled: true, sampler: "always_on" }, { component, env: {}, exporter }) };
}

describe("OTLP encoding (JSON and protobuf)", () => {
  it("carries the same content as OpenTelemetry's own serializer", async () => {
    const { got, t } = collectingTracing("gateway");
    const tracer = t.tracer;
    assert.ok(tracer);
    const parent = extractContext({ traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" });
    const root = tracer.startSpan(
      'chat "quoted" ✓',
      {
        kind: SpanKind.SERVER,
        attributes: { s: "a\nb", i: 42, d: 0.25, b: true, arr: ["x", "y"], nums: [1, 2.5] },
      },
      parent,
    );
    root.addEvent("fallback", { "inferplane.route": "other" });
    const child = tracer.startSpan("attempt", { kind: SpanKind.CLIENT }, contextWith(root));
    recordError(child, new Error("connect refused"), "upstream_error");
    child.end();
    root.end();
    await t.shutdown();
    assert.equal(got.length, 2);

    const ours = JSON.parse(exportRequestJson(got));
    const theirs = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(got)));
    // Normalize what OTLP/JSON allows either way: int64 as number or string, omitted defaults.
    const norm = (v: unknown, key = ""): unknown => {
      if (Array.isArray(v)) return v.map((x) => norm(x));
      if (v && typeof v === "object") {
        const o: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) {
          if (x === undefined || x === null) continue;
          if ((k === "code" || k.startsWith("dropped")) && x === 0) continue;
          if (k === "message" && x === "") continue;
          if ((k === "attributes" || k === "events" || k === "links") && Array.isArray(x) && x.length === 0)
            continue;
          o[k] = norm(x, k);
        }
        return o;
      }
      if (key === "intValue" || key.endsWith("UnixNano")) return String(v);
      return v;
    };
    assert.deepEqual(norm(ours), norm(theirs));

    // Protobuf: the same bytes as OpenTelemetry's serializer, and again once the attribute cache is warm.
    const reference = Buffer.from(ProtobufTraceSerializer.serializeRequest(got) as Uint8Array);
    assert.ok(exportRequestProto(got).equals(reference), "protobuf encoding differs from otlp-transformer's");
    assert.ok(exportRequestProto(got).equals(reference), "protobuf encoding differs with a warm cache");
  });

  it("protobuf: negative, large and fractional numbers, long strings and many spans encode as OpenTelemetry's", async () => {
    const { got, t } = collectingTracing("test");
    const tracer = t.tracer;
    assert.ok(tracer);
    const long = "é".repeat(300); // a multi-byte string whose length needs a two-byte varint
    for (let i = 0; i < 300; i++) {
      const s = tracer.startSpan(`span ${i}`, {
        attributes: { neg: -i - 1, big: 2 ** 40 + i, frac: i / 7, long, i, flag: i % 2 === 0 },
      });
      s.setStatus({ code: 2, message: long });
      s.end();
    }
    await t.shutdown();
    assert.equal(got.length, 300);
    const reference = Buffer.from(ProtobufTraceSerializer.serializeRequest(got) as Uint8Array);
    assert.ok(reference.length > 16_384, "the batch is long enough for three-byte length prefixes");
    assert.ok(exportRequestProto(got).equals(reference));
  });

  it("reads OTEL_EXPORTER_OTLP_HEADERS", () => {
    assert.deepEqual(parseOtlpHeaders("Authorization=Bearer%20abc, x-tenant=t1,bad"), {
      authorization: "Bearer abc",
      "x-tenant": "t1",
    });
  });
});

describe("logs", () => {
  it("redact secrets and prompt text at any of the usual places", () => {
    let text = "";
    const sink = new Writable({
      write(c, _e, done) {
        text += c.toString();
        done();
      },
    });
    const log = createLogger({ component: "gateway", destination: sink });
    log.info(
      {
        route: "chat",
        authorization: "Bearer sk-1",
        headers: { authorization: "Bearer sk-2", "x-api-key": "sk-3", "user-agent": "curl" },
        body: { messages: [{ role: "user", content: "secret prompt" }], prompt: "secret too" },
        query: "what is secret",
      },
      "request",
    );
    const line = JSON.parse(text) as Record<string, unknown>;
    for (const secret of ["sk-1", "sk-2", "sk-3", "secret prompt", "secret too", "what is secret"])
      assert.ok(!text.includes(secret), secret);
    assert.equal(line.route, "chat");
    assert.equal(line.level, "info");
    assert.equal(line.component, "gateway");
    assert.equal((line.headers as Record<string, string>)["user-agent"], "curl");
  });

  it("one list: every header the policy reads a key from, and every listed key, is redacted", () => {
    const key = "ipk_abcdEFGH1234_redaction-list-check-0000000000000000000000";
    for (const h of CREDENTIAL_HEADERS) {
      // The policy reads the key from this header…
      const value = h === "authorization" ? `Bearer ${key}` : key;
      assert.equal(credentialOf({ [h]: value }), key, `the policy reads ${h}`);
      // …and the logger never writes it, wherever the usual objects carry headers.
      let text = "";
      const sink = new Writable({
        write(c, _e, done) {
          text += c.toString();
          done();
        },
      });
      const log = createLogger({ destination: sink });
      log.info({ [h]: value, headers: { [h]: value }, req: { headers: { [h]: value } } }, "x");
      assert.ok(!text.includes(key), `${h} redacted: ${text}`);
    }
    // Explicit paths only (a wildcard costs ~85 µs a line): each key at the top and under each parent.
    const paths = redactPaths();
    assert.ok(paths.every((p) => !p.includes("*")));
    assert.equal(paths.length, REDACTED_KEYS.length * 10);
    assert.equal(new Set(REDACTED_KEYS).size, REDACTED_KEYS.length, "no key listed twice");
  });

  it("pretty format prints one readable line", () => {
    let out = "";
    const term = new Writable({
      write(c, _e, done) {
        out += c.toString();
        done();
      },
    });
    const log = createLogger({ component: "rag", destination: prettyStream(term) });
    log.warn({ stage: "search", ms: 12 }, "slow");
    assert.match(out, /^\d\d:\d\d:\d\d\.\d{3} WARN {2}\[rag\] slow stage=search ms=12\n$/);
  });
});

describe("metric conventions", () => {
  it("names are checked and children cached", () => {
    assert.equal(metricName("rag", "stage_duration_seconds"), "inferplane_rag_stage_duration_seconds");
    assert.throws(() => metricName("rag", "Stage:Duration"), /snake case/);
    let made = 0;
    const cache = new ChildCache((a, b) => ({ a, b, n: ++made }));
    assert.equal(cache.get("r", "p"), cache.get("r", "p"));
    assert.notEqual(cache.get("r", "p"), cache.get("r", "q"));
    assert.equal(made, 2);
  });
});
