// Traces and access logs checked by a real OTLP receiver (an OpenTelemetry collector built by
// install.sh, writing what it receives to a file): the request span with the GenAI attributes,
// one child span per upstream attempt (a retried request has two), the traceparent the simulator
// received, and one access line per request without prompts or keys.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { it } from "node:test";
import { startGateway } from "../../src/gateway/server.js";
import { startSimServer } from "../../src/sim/server.js";
import { parseSpec } from "../../src/spec/load.js";
import { createLogger } from "../../src/telemetry/logger.js";
import { type ReceivedSpan, requireService, startOtelcol, waitFor } from "../services/index.js";

const SECRET_PROMPT = "the-secret-prompt-text-4711";
const SECRET_KEY = "sk-never-log-this-0815";

function lines(): { stream: Writable; read: () => Record<string, unknown>[]; raw: () => string } {
  let text = "";
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return {
    stream,
    raw: () => text,
    read: () =>
      text
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const hex = (n: number) =>
  Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join("");

it("exports a request span with GenAI attributes and a child per attempt; the engine receives traceparent", async (t) => {
  const collector = await requireService(t, "otelcol", () => startOtelcol());
  if (!collector) return;
  const good = await startSimServer({
    model: "llama-3.1-8b",
    constantLatency: { ttftMs: 5, itlMs: 1 },
  });
  const bad = await startSimServer({ model: "llama-3.1-8b", faults: { failRate: 1, failCodes: [503] } });
  t.after(() => Promise.all([good.stop(), bad.stop()]));
  const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - name: llama
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    servedModelName: ${good.servedModelName}
    endpoints: ["${bad.url}", "${good.url}"]
routes:
  - name: chat
    aliases: [gpt-4o-mini]
    targets: [{model: llama}]
    balancer: round-robin
gateway:
  retries: {attempts: 2, budgetPercent: 100}
  outlierDetection: {consecutive5xx: 1000}
observability:
  tracing: {enabled: true, otlpEndpoint: "${collector.url}", sampler: parentbased_always_on, serviceName: inferplane-test}
`);
  const access = lines();
  const logger = createLogger({ component: "gateway", destination: access.stream });
  // env: {} so the machine's own OTEL_* variables cannot redirect the spans.
  const gw = await startGateway(platform, { host: "127.0.0.1", port: 0, logger, env: {} });
  let closed = false;
  t.after(() => (closed ? undefined : gw.close()));

  // Four requests, each with the caller's own trace context; round-robin sends every other first
  // attempt to the failing replica, so some are retried.
  const sent: { traceId: string; parentId: string; stream: boolean }[] = [];
  for (let i = 0; i < 4; i++) {
    const traceId = hex(32);
    const parentId = hex(16);
    const stream = i % 2 === 0;
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${SECRET_KEY}`,
        traceparent: `00-${traceId}-${parentId}-01`,
      },
      body: JSON.stringify({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: SECRET_PROMPT }],
        max_tokens: 6,
        ignore_eos: true,
        stream,
      }),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    sent.push({ traceId, parentId, stream });
  }
  await gw.close(); // flushes the batch span processor
  closed = true;

  const spans = await waitFor(
    async () => {
      const all = await collector.spans();
      return sent.every((s) => all.some((x) => x.traceId === s.traceId && x.kind === 2)) ? all : undefined;
    },
    { timeoutMs: 20_000, what: "the collector to write every request span" },
  );

  let retried = 0;
  for (const s of sent) {
    const trace = spans.filter((x) => x.traceId === s.traceId);
    const server = trace.filter((x) => x.kind === 2);
    assert.equal(server.length, 1, `one request span per trace (${s.traceId})`);
    const req = server[0] as ReceivedSpan;
    assert.equal(req.name, "chat gpt-4o-mini");
    assert.equal(req.parentSpanId, s.parentId, "the request span continues the caller's trace");
    assert.equal(req.resource["service.name"], "inferplane-test");
    assert.equal(req.resource["inferplane.component"], "gateway");
    const a = req.attributes;
    assert.equal(a["gen_ai.operation.name"], "chat");
    assert.equal(a["gen_ai.request.model"], "gpt-4o-mini");
    assert.equal(a["gen_ai.response.model"], good.servedModelName);
    assert.ok((a["gen_ai.usage.input_tokens"] as number) > 0, "input tokens");
    assert.equal(a["gen_ai.usage.output_tokens"], 6);
    assert.equal(a["gen_ai.request.max_tokens"], 6);
    assert.equal(a["server.address"], "127.0.0.1");
    assert.equal(a["server.port"], good.port, "server.* names the endpoint that answered");
    assert.equal(a["http.response.status_code"], 200);
    assert.equal(a["inferplane.route"], "chat");
    assert.equal(a["inferplane.pool"], "llama");
    assert.equal(a["inferplane.stream"], s.stream);

    const attempts = trace
      .filter((x) => x.kind === 3 && x.parentSpanId === req.spanId)
      .sort(
        (x, y) =>
          (x.attributes["inferplane.attempt"] as number) - (y.attributes["inferplane.attempt"] as number),
      );
    assert.equal(attempts.length, a["inferplane.attempts"], "one child span per attempt");
    const last = attempts.at(-1) as ReceivedSpan;
    assert.equal(last.attributes["server.port"], good.port);
    assert.equal(last.attributes["http.response.status_code"], 200);
    assert.equal(last.statusCode, 0);
    assert.equal(last.name, `chat ${good.servedModelName}`);
    // The engine got a traceparent naming this attempt's span as parent.
    assert.ok(
      good.traceparents.includes(`00-${s.traceId}-${last.spanId}-01`),
      `the simulator received the traceparent of attempt ${last.spanId}`,
    );
    if (attempts.length === 2) {
      retried++;
      const first = attempts[0] as ReceivedSpan;
      assert.equal(first.attributes["inferplane.attempt.kind"], "first");
      assert.equal(last.attributes["inferplane.attempt.kind"], "retry");
      assert.equal(first.attributes["server.port"], bad.port);
      assert.equal(first.attributes["http.response.status_code"], 503);
      assert.equal(first.attributes["error.type"], "503");
      assert.equal(first.statusCode, 2, "the failed attempt is marked as an error");
      assert.ok(bad.traceparents.includes(`00-${s.traceId}-${first.spanId}-01`));
    }
  }
  assert.ok(retried >= 1, "at least one request was retried on the other replica");

  // Access log: one line per request, with the trace id and no secrets or prompt text.
  const raw = access.raw();
  assert.ok(!raw.includes(SECRET_PROMPT), "no prompt text in the logs");
  assert.ok(!raw.includes(SECRET_KEY), "no API key in the logs");
  const requests = access.read().filter((l) => l.msg === "request");
  assert.equal(requests.length, sent.length);
  for (const [i, line] of requests.entries()) {
    const s = sent[i] as (typeof sent)[number];
    assert.equal(line.trace_id, s.traceId);
    assert.equal(line.route, "chat");
    assert.equal(line.pool, "llama");
    assert.equal(line.endpoint, good.url);
    assert.equal(line.status, 200);
    assert.equal(line.stream, s.stream);
    assert.equal(line.output_tokens, 6);
    assert.ok((line.input_tokens as number) > 0);
    assert.ok((line.latency_ms as number) > 0);
    assert.ok(
      (line.overhead_ms as number) >= 0 && (line.overhead_ms as number) < (line.latency_ms as number),
    );
    assert.equal(line.level, "info");
    assert.equal(line.component, "gateway");
    if (s.stream) assert.ok((line.ttft_ms as number) > 0);
  }
  assert.deepEqual(
    requests.map((l) => l.attempts).filter((n) => n === 2).length,
    retried,
    "the access log counts the same attempts as the trace",
  );
});

it("with tracing off, the caller's traceparent still reaches the engine unchanged", async () => {
  const sim = await startSimServer({ model: "llama-3.1-8b", constantLatency: { ttftMs: 1, itlMs: 1 } });
  const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - {name: llama, source: hf://meta-llama/Llama-3.1-8B-Instruct, servedModelName: "${sim.servedModelName}", endpoints: ["${sim.url}"]}
routes:
  - {name: chat, targets: [{model: llama}]}
`);
  const gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: () => {}, env: {} });
  try {
    const tp = `00-${hex(32)}-${hex(16)}-01`;
    const res = await fetch(`${gw.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: tp },
      body: JSON.stringify({ model: "chat", prompt: "x", max_tokens: 2 }),
    });
    assert.equal(res.status, 200, await res.text());
    assert.deepEqual(sim.traceparents, [tp]);
  } finally {
    await gw.close();
    await sim.stop();
  }
});
