// RAG stage spans checked by the real OTLP receiver (the OpenTelemetry collector of
// test/services/otelcol.ts): an answer request is one `rag.answer` SERVER span continuing the
// caller's trace, with `rag.embed`, `rag.retrieve` (its `.sparse`/`.dense` children), `rag.rerank`
// and `rag.generate` under it, and the gateway's own embeddings, rerank and chat request spans
// (the loopback calls carry `traceparent`) children of those stages.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { startGateway } from "../../src/gateway/server.js";
import { parseSpec } from "../../src/spec/load.js";
import { ragSpecYaml, startRagSims } from "../rag/sim-stack.js";
import { type ReceivedSpan, requireService, startOtelcol, waitFor } from "../services/index.js";

const hex = (n: number) =>
  Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join("");

async function post(url: string, body: unknown, traceparent: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", traceparent },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

function only(spans: ReceivedSpan[], pred: (s: ReceivedSpan) => boolean, what: string): ReceivedSpan {
  const found = spans.filter(pred);
  assert.equal(
    found.length,
    1,
    `${what}: ${found.length} spans (${spans.map((s) => `${s.name}<${s.parentSpanId}`).join(", ")})`,
  );
  return found[0] as ReceivedSpan;
}

it("RAG requests export a request span with stage children; the gateway's model calls are children of the stages", async (t) => {
  const collector = await requireService(t, "otelcol", () => startOtelcol());
  if (!collector) return;
  const dir = mkdtempSync(join(tmpdir(), "rag-tracing-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sims = await startRagSims();
  t.after(() => sims.stop());
  const { platform } = parseSpec(
    ragSpecYaml(sims, dir, {
      topN: 2,
      maxContextTokens: 256,
      minScore: 0,
      tail: `observability:
  tracing: {enabled: true, otlpEndpoint: "${collector.url}", sampler: parentbased_always_on, serviceName: rag-tracing-test, protocol: http/json}
`,
    }),
  );
  // env: {} so the machine's own OTEL_* variables cannot redirect the spans.
  const gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: () => {}, env: {} });
  let closed = false;
  t.after(() => (closed ? undefined : gw.close()));
  const rag = `${gw.url}/v1/rag`;
  const traces = { ingest: hex(32), search: hex(32), answer: hex(32) };
  const callerSpan = hex(16);
  const tp = (traceId: string) => `00-${traceId}-${callerSpan}-01`;
  await post(`${rag}/collections`, { name: "docs" }, tp(hex(32)));
  await post(
    `${rag}/collections/docs/documents`,
    {
      documents: [
        { id: "a", text: "Flutter is an aeroelastic instability of wings." },
        { id: "b", text: "Buckling of thin shells under axial compression." },
      ],
    },
    tp(traces.ingest),
  );
  await post(
    `${rag}/collections/docs/search`,
    { query: "wing flutter", mode: "hybrid", k: 2, rerank: true },
    tp(traces.search),
  );
  const answer = await post(
    `${rag}/answer`,
    { query: "What is flutter?", collection: "docs", mode: "hybrid", k: 2, max_tokens: 8 },
    tp(traces.answer),
  );
  assert.equal(answer.found, true);
  await gw.close(); // flushes the batch span processor
  closed = true;

  const spans = await waitFor(
    async () => {
      const all = await collector.spans();
      const done = Object.values(traces).every((id) =>
        all.some((s) => s.traceId === id && s.kind === 2 && s.name.startsWith("rag.")),
      );
      return done && all.some((s) => s.traceId === traces.answer && s.name === "chat chat") ? all : undefined;
    },
    { timeoutMs: 20_000, what: "the collector to write the RAG spans" },
  );

  // Answer: request span, four stages, the retrievers, and the gateway's spans under the stages.
  const a = spans.filter((s) => s.traceId === traces.answer);
  const req = only(a, (s) => s.name === "rag.answer", "rag.answer");
  assert.equal(req.kind, 2, "SERVER");
  assert.equal(req.parentSpanId, callerSpan, "the RAG span continues the caller's trace");
  assert.equal(req.resource["service.name"], "rag-tracing-test");
  assert.equal(req.attributes["inferplane.rag.collection"], "docs");
  assert.equal(req.attributes["inferplane.rag.mode"], "hybrid");
  assert.equal(req.attributes["inferplane.rag.k"], 2);
  assert.ok((req.attributes["inferplane.rag.sources"] as number) >= 1);
  const stage = (name: string, label: string) => {
    const s = only(a, (x) => x.name === name && x.parentSpanId === req.spanId, name);
    assert.equal(s.kind, 1, `${name} is INTERNAL`);
    assert.equal(s.attributes["inferplane.rag.stage"], label);
    assert.equal(s.statusCode, 0, `${name} succeeded`);
    return s;
  };
  const embedStage = stage("rag.embed", "embed");
  const retrieve = stage("rag.retrieve", "search");
  const rerankStage = stage("rag.rerank", "rerank");
  const generate = stage("rag.generate", "generate");
  assert.equal(generate.attributes["gen_ai.request.model"], "chat");
  only(a, (x) => x.name === "rag.retrieve.sparse" && x.parentSpanId === retrieve.spanId, "sparse");
  only(a, (x) => x.name === "rag.retrieve.dense" && x.parentSpanId === retrieve.spanId, "dense");
  // Stages run in order inside the request span.
  assert.ok(embedStage.durationMs <= req.durationMs && generate.durationMs <= req.durationMs);
  const gwEmbed = only(a, (x) => x.kind === 2 && x.name === "embeddings embed", "gateway embeddings span");
  assert.equal(gwEmbed.parentSpanId, embedStage.spanId, "embeddings call is a child of rag.embed");
  const gwRerank = only(
    a,
    (x) => x.kind === 2 && x.attributes["inferplane.route"] === "rerank",
    "rerank span",
  );
  assert.equal(gwRerank.parentSpanId, rerankStage.spanId, "rerank call is a child of rag.rerank");
  const gwChat = only(a, (x) => x.kind === 2 && x.name === "chat chat", "gateway chat span");
  assert.equal(gwChat.parentSpanId, generate.spanId, "chat call is a child of rag.generate");
  assert.equal(gwChat.attributes["gen_ai.usage.output_tokens"], 8);
  // And each gateway span has its upstream attempt under it, reaching the simulator.
  assert.ok(
    a.some((x) => x.kind === 3 && x.parentSpanId === gwChat.spanId),
    "chat attempt span",
  );

  // Search with hybrid + rerank: the same stages under `rag.search`.
  const s = spans.filter((x) => x.traceId === traces.search);
  const sreq = only(s, (x) => x.name === "rag.search" && x.kind === 2, "rag.search");
  assert.equal(sreq.parentSpanId, callerSpan);
  assert.equal(sreq.attributes["inferplane.rag.rerank"], true);
  assert.equal(sreq.attributes["inferplane.rag.hits"], 2);
  for (const name of ["rag.embed", "rag.retrieve", "rag.rerank"])
    only(s, (x) => x.name === name && x.parentSpanId === sreq.spanId, `search ${name}`);
  assert.ok(!s.some((x) => x.name === "rag.generate"), "no generate stage in a search");

  // Ingest: `rag.ingest` with embed and store stages; the embeddings call under `rag.embed`.
  const i = spans.filter((x) => x.traceId === traces.ingest);
  const ireq = only(i, (x) => x.name === "rag.ingest", "rag.ingest");
  assert.equal(ireq.attributes["inferplane.rag.documents"], 2);
  const iembed = only(i, (x) => x.name === "rag.embed" && x.parentSpanId === ireq.spanId, "ingest embed");
  only(i, (x) => x.name === "rag.store" && x.parentSpanId === ireq.spanId, "ingest store");
  only(
    i,
    (x) => x.kind === 2 && x.name === "embeddings embed" && x.parentSpanId === iembed.spanId,
    "ingest embeddings",
  );
});
