/**
 * The embedded default platform `inferplane rag` uses when there is no spec: one SQLite file
 * (BM25 + vectors), bge-small-en-v1.5 run by the embedded engine in this process, hybrid search
 * with the fusion chosen on Cranfield (docs/rag.md). No answer model: `rag ask` without a spec
 * shows the passages it would answer from and says so.
 */
import { parseSpec } from "../spec/load.js";
import type { Platform } from "../spec/schema.js";

export const DEFAULT_EMBEDDING_MODEL = "bge-small-en-v1.5";

const DEFAULT_SPEC = `
apiVersion: inferplane.dev/v1
kind: Platform
metadata:
  name: inferplane-local
models:
  - name: bge-small
    source: hf://BAAI/bge-small-en-v1.5
    engine: embedded
    kind: embedding
    replicas: 1
    resources: { cpu: "1", memory: 1Gi }
routes:
  - name: ${DEFAULT_EMBEDDING_MODEL}
    targets: [{ model: bge-small }]
rag:
  embedding:
    route: ${DEFAULT_EMBEDDING_MODEL}
    dimensions: 384
    inputType: true
  stores:
    vector: { kind: sqlite, path: .inferplane/rag.db }
    keyword: { kind: sqlite, path: .inferplane/rag.db }
`;

/** A fresh copy of the default platform (the store path may be changed by the caller). */
export function embeddedDefaultPlatform(): Platform {
  return parseSpec(DEFAULT_SPEC, { file: "<embedded default>" }).platform;
}
