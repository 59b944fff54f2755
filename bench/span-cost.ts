/**
 * The CPU cost of the gateway's tracing in isolation: the two spans of a request (server span
 * with 15 attributes, client span with 9), created and ended as src/gateway/proxy/forward.ts
 * does, through the SDK's BatchSpanProcessor into an exporter that only encodes (no socket).
 * Modes: `sdk` (no encoding), `proto` (ours), `json` (ours), `otel-proto` (otlp-transformer's).
 *
 *   node --import tsx bench/span-cost.ts [--requests 100000] [--runs 3]
 */
import { parseArgs } from "node:util";
import { ROOT_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import { ExportResultCode } from "@opentelemetry/core";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type SpanExporter,
} from "@opentelemetry/sdk-trace-base";
import { exportRequestBody } from "../src/telemetry/otlp-json.js";
import { exportRequestProto } from "../src/telemetry/otlp-proto.js";
import { batchSettings, traceparentOf } from "../src/telemetry/tracing.js";

const { values } = parseArgs({
  options: { requests: { type: "string", default: "100000" }, runs: { type: "string", default: "3" } },
});
const requests = Number(values.requests);

const ENCODERS: Record<string, ((spans: ReadableSpan[]) => Uint8Array) | undefined> = {
  sdk: undefined,
  proto: exportRequestProto,
  json: exportRequestBody,
  "otel-proto": (spans) => ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array,
};

async function measure(mode: string): Promise<{ cpuUs: number; batchBytes: number }> {
  const encode = ENCODERS[mode];
  let bytes = 0;
  let batches = 0;
  const exporter: SpanExporter = {
    export(spans, done) {
      if (encode) {
        bytes += encode(spans).length;
        batches++;
      }
      done({ code: ExportResultCode.SUCCESS });
    },
    shutdown: async () => {},
  };
  const provider = new BasicTracerProvider({
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    spanProcessors: [new BatchSpanProcessor(exporter, batchSettings({}))],
  });
  const tracer = provider.getTracer("inferplane");
  const request = () => {
    const s = tracer.startSpan(
      "chat llama",
      {
        kind: SpanKind.SERVER,
        startTime: performance.now(),
        attributes: {
          "gen_ai.operation.name": "chat",
          "gen_ai.request.model": "llama",
          "inferplane.route": "llama",
          "inferplane.stream": false,
          "gen_ai.request.max_tokens": 16,
        },
      },
      ROOT_CONTEXT,
    );
    const c = tracer.startSpan(
      "chat meta-llama/Llama-3.1-8B-Instruct",
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "gen_ai.operation.name": "chat",
          "gen_ai.request.model": "meta-llama/Llama-3.1-8B-Instruct",
          "server.address": "127.0.0.1",
          "server.port": 8000,
          "inferplane.pool": "llama-pool",
          "inferplane.route": "llama",
          "inferplane.attempt": 1,
          "inferplane.attempt.kind": "first",
        },
      },
      trace.setSpan(ROOT_CONTEXT, s),
    );
    traceparentOf(c);
    c.setAttribute("http.response.status_code", 200);
    c.end();
    s.setAttributes({
      "server.address": "127.0.0.1",
      "server.port": 8000,
      "inferplane.pool": "llama-pool",
      "gen_ai.response.model": "meta-llama/Llama-3.1-8B-Instruct",
      "gen_ai.usage.input_tokens": 17,
      "gen_ai.usage.output_tokens": 16,
      "http.response.status_code": 200,
      "inferplane.attempts": 1,
      "inferplane.overhead_ms": 0.083,
      "inferplane.ttft_ms": 0.91,
    });
    s.end(performance.now());
  };
  const run = async (n: number) => {
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      request();
      // Let the processor's timers and exports run, as between requests on a server.
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    await provider.forceFlush();
    const cpu = process.cpuUsage(cpu0);
    return (cpu.user + cpu.system) / n;
  };
  await run(Math.min(50_000, requests)); // warm-up
  bytes = 0;
  batches = 0;
  const cpuUs = await run(requests);
  await provider.shutdown();
  return { cpuUs, batchBytes: batches > 0 ? bytes / batches : 0 };
}

console.log("mode        CPU µs/request   bytes/batch");
for (let r = 0; r < Number(values.runs); r++) {
  for (const mode of Object.keys(ENCODERS)) {
    const m = await measure(mode);
    console.log(
      `${mode.padEnd(11)} ${m.cpuUs.toFixed(2).padStart(14)}   ${m.batchBytes.toFixed(0).padStart(11)}`,
    );
  }
}
