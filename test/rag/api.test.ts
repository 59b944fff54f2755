// /v1/rag/* on a real gateway in front of the simulator (bge-m3 hash embeddings, word-overlap
// rerank, a chat model). Hybrid retrieval here checks plumbing only: hash embeddings carry no meaning.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type GatewayHandle, startGateway } from "../../src/gateway/server.js";
import { isInternalAddress } from "../../src/rag/ingest/url.js";
import { type SimServerHandle, startSimServer } from "../../src/sim/server.js";
import { parseSpec } from "../../src/spec/load.js";
import { type RagSims, ragSpecYaml, startRagSims } from "./sim-stack.js";

const quiet = () => {};
const dir = mkdtempSync(join(tmpdir(), "rag-api-"));

async function call(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    ...(body !== undefined
      ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }
      : {}),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {}
  return { status: res.status, json, text };
}

describe("RAG API through the gateway", () => {
  let sims: RagSims | undefined;
  let gw: GatewayHandle;
  let page: Server;
  let pageUrl = "";
  let specText = "";

  before(async () => {
    sims = await startRagSims();
    page = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(
        "<html><head><title>Local page</title></head><body><p>Flutter of a wing panel at transonic speed.</p></body></html>",
      );
    });
    await new Promise<void>((r) => page.listen(0, "127.0.0.1", r));
    const addr = page.address();
    pageUrl = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}/page.html`;
    specText = ragSpecYaml(sims, dir, {
      topN: 3,
      maxContextTokens: 512,
      minScore: 0.05,
      rag: "  ingest: {allowHosts: []}\n",
    });
    const { platform } = parseSpec(specText);
    gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: quiet });
  });
  after(async () => {
    await gw?.close();
    await sims?.stop();
    page?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates, lists, reads and refuses bad or duplicate collections", async () => {
    const created = await call(gw.url, "POST", "/v1/rag/collections", { name: "docs" });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.dimensions, 1024);
    assert.equal(created.json.embeddingRoute, "embed");
    const dup = await call(gw.url, "POST", "/v1/rag/collections", { name: "docs" });
    assert.equal(dup.status, 409);
    assert.equal((dup.json.error as { code: string }).code, "rag_collection_exists");
    const bad = await call(gw.url, "POST", "/v1/rag/collections", { name: "no spaces" });
    assert.equal(bad.status, 400);
    assert.match((bad.json.error as { message: string }).message, /^name: /);
    const list = await call(gw.url, "GET", "/v1/rag/collections");
    assert.deepEqual(
      (list.json.data as { name: string }[]).map((c) => c.name),
      ["docs"],
    );
    const missing = await call(gw.url, "GET", "/v1/rag/collections/nope");
    assert.equal(missing.status, 404);
    assert.equal((missing.json.error as { code: string }).code, "rag_collection_not_found");
  });

  it("ingests JSON documents with embeddings through the router; unchanged ones are skipped", async () => {
    const documents = [
      {
        id: "flutter",
        title: "Flutter",
        text: "Wing flutter appears when aerodynamic and elastic forces couple at high speed.",
        source: "notes.md",
        timestamp: "2024-01-01T00:00:00Z",
      },
      {
        id: "heat",
        text: "Heat transfer in the laminar boundary layer of a flat plate.",
        source: "heat.md",
        timestamp: 1_800_000_000_000,
      },
      {
        id: "buckling",
        text: "Buckling of thin cylindrical shells under axial compression.",
        source: "notes.md",
      },
    ];
    const first = await call(gw.url, "POST", "/v1/rag/collections/docs/documents", { documents });
    assert.equal(first.status, 200, first.text);
    assert.deepEqual([first.json.added, first.json.chunks], [3, 3]);
    const again = await call(gw.url, "POST", "/v1/rag/collections/docs/documents", { documents });
    assert.deepEqual([again.json.unchanged, again.json.chunks], [3, 0]);
    const info = await call(gw.url, "GET", "/v1/rag/collections/docs");
    assert.deepEqual([info.json.documents, info.json.chunks], [3, 3]);
    const bad = await call(gw.url, "POST", "/v1/rag/collections/docs/documents", {
      documents: [{ id: "x" }],
    });
    assert.equal(bad.status, 400);
    assert.match((bad.json.error as { message: string }).message, /documents\.0\.text/);
  });

  it("searches sparse, dense and hybrid (plumbing), with filters and rerank", async () => {
    const sparse = await call(gw.url, "POST", "/v1/rag/collections/docs/search", {
      query: "fluttering wings",
      mode: "sparse",
      k: 3,
    });
    assert.equal(sparse.status, 200, sparse.text);
    assert.equal((sparse.json.data as { docId: string }[])[0]?.docId, "flutter");
    // Hash embeddings: an identical text is its own nearest neighbour; nothing else is meaningful.
    const dense = await call(gw.url, "POST", "/v1/rag/collections/docs/search", {
      query: "Buckling of thin cylindrical shells under axial compression.",
      mode: "dense",
      k: 3,
    });
    const top = (dense.json.data as { docId: string; score: number }[])[0];
    assert.equal(top?.docId, "buckling");
    assert.ok(Math.abs((top?.score ?? 0) - 1) < 1e-3);
    const hybrid = await call(gw.url, "POST", "/v1/rag/collections/docs/search", {
      query: "heat plate",
      mode: "hybrid",
      k: 3,
    });
    const hd = hybrid.json.data as { docId: string; score: number }[];
    assert.equal(hd.length, 3);
    assert.equal(hd[0]?.docId, "heat", "in both lists, so first after RRF");
    const filtered = await call(gw.url, "POST", "/v1/rag/collections/docs/search", {
      query: "wing shells heat",
      mode: "hybrid",
      filter: { source: "notes.md", timestampTo: "2025-01-01T00:00:00Z" },
    });
    assert.deepEqual(
      (filtered.json.data as { docId: string }[]).map((h) => h.docId),
      ["flutter"],
    );
    const reranked = await call(gw.url, "POST", "/v1/rag/collections/docs/search", {
      query: "buckling of shells",
      mode: "hybrid",
      k: 2,
      rerank: true,
    });
    const rd = reranked.json.data as { docId: string }[];
    assert.equal(rd.length, 2);
    assert.equal(rd[0]?.docId, "buckling");
    assert.ok((reranked.json.timings as { rerankMs: number }).rerankMs > 0);
    const badMode = await call(gw.url, "POST", "/v1/rag/collections/docs/search", {
      query: "x",
      mode: "fuzzy",
    });
    assert.equal(badMode.status, 400);
    assert.match((badMode.json.error as { message: string }).message, /^mode: /);
  });

  it("answers with numbered sources, streams, and says not found when nothing is relevant", async () => {
    const ans = await call(gw.url, "POST", "/v1/rag/answer", {
      query: "What causes wing flutter?",
      collection: "docs",
      max_tokens: 16,
    });
    assert.equal(ans.status, 200, ans.text);
    assert.equal(ans.json.object, "chat.completion");
    assert.equal(ans.json.found, true);
    const sources = ans.json.sources as { index: number; docId: string }[];
    assert.equal(sources[0]?.index, 1);
    assert.equal(sources[0]?.docId, "flutter");
    const stream = await fetch(`${gw.url}/v1/rag/answer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: "What causes wing flutter?",
        collection: "docs",
        stream: true,
        max_tokens: 8,
      }),
    });
    const events = (await stream.text())
      .split("\n\n")
      .filter((e) => e.startsWith("data: "))
      .map((e) => e.slice(6));
    assert.equal((JSON.parse(events[0] as string) as { object: string }).object, "rag.sources");
    assert.equal(events.at(-1), "[DONE]");
    assert.ok(events.some((e) => e.includes("chat.completion.chunk")));
    const none = await call(gw.url, "POST", "/v1/rag/answer", {
      query: "quantum chromodynamics lattice",
      collection: "docs",
    });
    assert.equal(none.json.found, false);
    assert.match(
      String((none.json.choices as { message: { content: string } }[])[0]?.message.content),
      /Not found in the collection "docs"/,
    );
  });

  it("ingests multipart files and deletes a document", async () => {
    const form = new FormData();
    form.append(
      "file",
      new Blob(["# Stall\n\nStall happens past the critical angle of attack."], { type: "text/markdown" }),
      "stall.md",
    );
    form.append(
      "page",
      new Blob(["<html><title>Spin</title><script>x()</script><p>Spin recovery &amp; rudder.</p></html>"]),
      "spin.html",
    );
    const res = await fetch(`${gw.url}/v1/rag/collections/docs/documents`, { method: "POST", body: form });
    const json = (await res.json()) as { added: number };
    assert.equal(res.status, 200, JSON.stringify(json));
    assert.equal(json.added, 2);
    const hit = await call(gw.url, "POST", "/v1/rag/collections/docs/search", {
      query: "rudder",
      mode: "sparse",
    });
    const h = (hit.json.data as { docId: string; text: string; title: string }[])[0];
    assert.equal(h?.docId, "spin.html");
    assert.equal(h?.title, "Spin");
    assert.ok(!h?.text.includes("x()"), "scripts are not text");
    const del = await call(gw.url, "DELETE", "/v1/rag/collections/docs/documents/spin.html");
    assert.equal(del.status, 200);
    const gone = await call(gw.url, "POST", "/v1/rag/collections/docs/search", {
      query: "rudder",
      mode: "sparse",
    });
    assert.equal((gone.json.data as unknown[]).length, 0);
    assert.equal((await call(gw.url, "DELETE", "/v1/rag/collections/docs/documents/spin.html")).status, 404);
  });

  it("rag_unsupported_file: a file no loader reads is answered 415 and nothing is added", async () => {
    const form = new FormData();
    form.append("file", new Blob([Buffer.from([0x4d, 0x5a, 0x90, 0x00])]), "tool.exe");
    const res = await fetch(`${gw.url}/v1/rag/collections/docs/documents`, { method: "POST", body: form });
    const json = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(res.status, 415, JSON.stringify(json));
    assert.equal(json.error.code, "rag_unsupported_file");
    assert.match(json.error.message, /tool\.exe/);
  });

  it("rag_store_unavailable: a store that cannot be opened is answered 502 and the gateway keeps serving", async () => {
    // The store's path names a directory: SQLite cannot open it as a database file.
    const broken = parseSpec(specText.replaceAll(join(dir, "rag.db"), dir)).platform;
    const other = await startGateway(broken, { host: "127.0.0.1", port: 0, log: quiet });
    try {
      const r = await call(other.url, "GET", "/v1/rag/collections");
      assert.equal(r.status, 502, r.text);
      assert.equal((r.json.error as { code: string }).code, "rag_store_unavailable");
      assert.equal((await fetch(`${other.url}/healthz`)).status, 200);
    } finally {
      await other.close();
    }
  });

  it("SSRF guard: refuses loopback and private URLs unless the spec allows them", async () => {
    for (const url of [
      pageUrl,
      "http://localhost:1/x",
      "http://10.1.2.3/x",
      "http://169.254.169.254/latest/meta-data",
      "http://[::1]:1/",
    ]) {
      const res = await call(gw.url, "POST", "/v1/rag/collections/docs/documents", { documents: [{ url }] });
      assert.equal(res.status, 403, `${url}: ${res.text}`);
      assert.equal((res.json.error as { code: string }).code, "rag_url_blocked");
    }
    assert.equal(
      (await call(gw.url, "GET", "/v1/rag/collections/docs")).json.documents,
      4,
      "nothing was written",
    );
    for (const a of [
      "127.0.0.1",
      "10.0.0.1",
      "172.16.5.4",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "::1",
      "fe80::1",
      "fd00::1",
      "::ffff:127.0.0.1",
    ]) {
      assert.equal(isInternalAddress(a), true, a);
    }
    for (const a of ["8.8.8.8", "1.1.1.1", "2606:4700::1111"]) assert.equal(isInternalAddress(a), false, a);
    // Allowed by name in the spec: the same URL is fetched and ingested.
    const { platform } = parseSpec(
      specText
        .replaceAll(join(dir, "rag.db"), join(dir, "allowed.db"))
        .replace("allowHosts: []", `allowHosts: ["${new URL(pageUrl).host}"]`),
    );
    const { RagService } = await import("../../src/rag/service.js");
    const svc = await RagService.open(platform.rag as NonNullable<typeof platform.rag>, {
      gatewayUrl: () => gw.url,
      noEmbeddings: true,
    });
    try {
      await svc.createCollection({ name: "web" });
      const docs = await svc.fetchUrl(pageUrl);
      assert.equal(docs[0]?.title, "Local page");
      const report = await svc.ingest("web", docs);
      assert.equal(report.added, 1);
      await assert.rejects(svc.fetchUrl("http://10.9.9.9/"), /internal address/);
    } finally {
      await svc.close();
    }
  });

  it("exposes RAG metrics on the gateway's /metrics", async () => {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(text, /inferplane_rag_documents_ingested_total\{collection="docs",result="added"\} 5/);
    assert.match(text, /inferplane_rag_chunks_ingested_total\{collection="docs"\} 5/);
    for (const stage of ["embed", "search", "rerank", "generate", "store"]) {
      assert.match(
        text,
        new RegExp(`inferplane_rag_stage_duration_seconds_count\\{stage="${stage}"\\} [1-9]`),
        stage,
      );
    }
  });
});

describe("RAG API behind API keys", () => {
  let chat: SimServerHandle;
  let embed: SimServerHandle;
  let gw: GatewayHandle;
  const adminToken = "rag-admin-token-0123456789";
  const authDir = mkdtempSync(join(tmpdir(), "rag-auth-"));

  before(async () => {
    chat = await startSimServer({ model: "llama-3.1-8b", gpu: "H100-80GB", speed: 50 });
    embed = await startSimServer({ model: "bge-m3", gpu: "L4", speed: 50 });
    const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - {name: llama, source: hf://meta-llama/Llama-3.1-8B-Instruct, servedModelName: ${chat.servedModelName}, endpoints: ["${chat.url}"]}
  - {name: embedder, source: hf://BAAI/bge-m3, servedModelName: ${embed.servedModelName}, endpoints: ["${embed.url}"]}
routes:
  - {name: chat, targets: [{model: llama}]}
  - {name: embed, targets: [{model: embedder}]}
gateway:
  auth: {mode: keys, sqlitePath: "${join(authDir, "gateway.db")}"}
rag:
  embedding: {route: embed, dimensions: 1024}
  answer: {route: chat}
  stores:
    vector: {kind: sqlite, path: ${join(authDir, "rag.db")}}
    keyword: {kind: sqlite, path: ${join(authDir, "rag.db")}}
`);
    gw = await startGateway(platform, {
      host: "127.0.0.1",
      port: 0,
      log: quiet,
      env: { INFERPLANE_ADMIN_TOKEN: adminToken },
    });
  });
  after(async () => {
    await gw?.close();
    await Promise.all([chat?.stop(), embed?.stop()]);
    rmSync(authDir, { recursive: true, force: true });
  });

  it("needs a key; the gateway's own embedding and chat calls run with the caller's key and model scopes", async () => {
    const anon = await call(gw.url, "GET", "/v1/rag/collections");
    assert.equal(anon.status, 401);
    const created = await fetch(`${gw.url}/admin/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: "rag-team",
        collections: ["team-*"],
        models: ["embed", "chat"],
        paths: ["/v1/rag/*"],
      }),
    });
    assert.equal(created.status, 201);
    const key = ((await created.json()) as { key: string }).key;
    const as = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${gw.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    assert.equal((await as("POST", "/v1/rag/collections", { name: "team-a" })).status, 201);
    const outside = await as("POST", "/v1/rag/collections", { name: "secret" });
    assert.equal(outside.status, 403);
    const ingest = await as("POST", "/v1/rag/collections/team-a/documents", {
      documents: [{ id: "d1", text: "Supersonic inlets swallow the shock at start." }],
    });
    assert.equal(ingest.status, 200, JSON.stringify(ingest.json));
    assert.equal(
      ingest.json.chunks,
      1,
      "embedded through the gateway with the caller's key, though its paths exclude /v1/embeddings",
    );
    const found = await as("POST", "/v1/rag/collections/team-a/search", {
      query: "supersonic inlet",
      mode: "hybrid",
    });
    assert.equal((found.json.data as { docId: string }[])[0]?.docId, "d1");
    const ans = await as("POST", "/v1/rag/answer", {
      query: "What do inlets swallow?",
      collection: "team-a",
      max_tokens: 8,
    });
    assert.equal(ans.status, 200, JSON.stringify(ans.json));
    assert.equal(ans.json.found, true);
    const direct = await fetch(`${gw.url}/v1/embeddings`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/json",
        "x-inferplane-internal": "guess",
      },
      body: JSON.stringify({ model: "embed", input: "x" }),
    });
    assert.equal(direct.status, 403, "a guessed internal header admits nothing (the path is out of scope)");
  });
});
