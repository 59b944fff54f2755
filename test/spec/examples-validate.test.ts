// Every example a README or doc points users at passes the same checks validate, plan and render
// run (the deploy checks included), and gateway.replicas' default follows the RAG store.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { isInferplaneError } from "../../src/errors.js";
import { parseSpec } from "../../src/spec/load.js";

const EXAMPLES = new URL("../../examples/", import.meta.url).pathname;

it("every example passes validate's checks, the deploy checks included", () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith(".yaml"));
  assert.ok(files.length >= 2, files.join(", "));
  for (const f of files) {
    assert.doesNotThrow(
      () => parseSpec(readFileSync(join(EXAMPLES, f), "utf8"), { file: f, deploy: true }),
      (e: unknown) => {
        throw new Error(`${f}: ${isInferplaneError(e) ? JSON.stringify(e.problems) : String(e)}`);
      },
    );
  }
});

const spec = (gateway: string, rag: string) => `apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - {name: m, source: hf://Qwen/Qwen2.5-7B-Instruct-AWQ, endpoints: ["http://127.0.0.1:9"]}
  - {name: e, source: hf://BAAI/bge-small-en-v1.5, kind: embedding, endpoints: ["http://127.0.0.1:9"]}
${gateway}
${rag}
`;
const RAG = (stores: string) => `rag:
  embedding: {route: e, dimensions: 384}
  answer: {route: m}
  stores:
${stores}`;
const SQLITE_RAG = RAG("    vector: {kind: sqlite}");
const MILVUS_RAG = RAG(`    vector: {kind: milvus, uri: "http://milvus:19530"}
    keyword: {kind: elasticsearch, url: "http://es:9200"}`);

it("gateway.replicas left out: 1 with the embedded SQLite RAG store, 2 otherwise; a set value stays", () => {
  const replicas = (text: string) => parseSpec(text, { deploy: true }).platform.gateway.replicas;
  assert.equal(replicas(spec("", SQLITE_RAG)), 1);
  assert.equal(replicas(spec("", MILVUS_RAG)), 2);
  assert.equal(replicas(spec("", "")), 2);
  assert.equal(replicas(spec("gateway: {replicas: 3}", MILVUS_RAG)), 3);
  assert.throws(
    () => parseSpec(spec("gateway: {replicas: 3}", SQLITE_RAG), { deploy: true }),
    (e: unknown) => isInferplaneError(e) && e.problems[0]?.path === "gateway.replicas",
  );
});
