// The RAG service's metrics (served on the gateway's /metrics, where /v1/rag/* runs) after real
// ingestion, search, rerank and answer calls: every RAG series has samples and promtool lints the
// whole exposition clean.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { startGateway } from "../../src/gateway/server.js";
import { parseSpec } from "../../src/spec/load.js";
import { ragSpecYaml, startRagSims } from "../rag/sim-stack.js";
import { promtool, requireService } from "../services/index.js";

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

it("RAG series fill in on /metrics and promtool accepts the exposition", async (t) => {
  const version = await requireService(t, "promtool", () => promtool(["--version"]));
  if (!version) return;
  const dir = mkdtempSync(join(tmpdir(), "rag-metrics-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sims = await startRagSims();
  t.after(() => sims.stop());
  const { platform } = parseSpec(ragSpecYaml(sims, dir, { topN: 2, maxContextTokens: 256, minScore: 0 }));
  const gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: () => {}, env: {} });
  t.after(() => gw.close());
  const rag = `${gw.url}/v1/rag`;
  await post(`${rag}/collections`, { name: "docs" });
  await post(`${rag}/collections/docs/documents`, {
    documents: [
      { id: "a", text: "Flutter is an aeroelastic instability of wings." },
      { id: "b", text: "Buckling of thin shells under axial compression." },
    ],
  });
  await post(`${rag}/collections/docs/search`, { query: "wing flutter", mode: "hybrid", k: 2, rerank: true });
  await post(`${rag}/answer`, { query: "What is flutter?", collection: "docs", max_tokens: 8 });

  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const sample = (re: RegExp) => Number(re.exec(text)?.[1] ?? Number.NaN);
  assert.equal(sample(/^inferplane_rag_documents_ingested_total\{[^}]*result="added"[^}]*\} (\S+)$/m), 2);
  assert.ok(sample(/^inferplane_rag_chunks_ingested_total\{[^}]*\} (\S+)$/m) >= 2);
  for (const stage of ["embed", "search", "rerank", "generate"]) {
    assert.ok(
      sample(new RegExp(`^inferplane_rag_stage_duration_seconds_count\\{stage="${stage}"\\} (\\S+)$`, "m")) >=
        1,
      `stage ${stage} observed`,
    );
  }
  assert.match(text, /^# TYPE inferplane_rag_store_errors_total counter$/m);
  const lint = await promtool(["check", "metrics"], { stdin: text });
  assert.equal(lint.code, 0, `promtool on the gateway+RAG /metrics:\n${lint.stdout}${lint.stderr}`);
});
