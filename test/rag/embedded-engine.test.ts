// The embedded embedding engine against the real bge-small-en-v1.5 int8 ONNX model: the OpenAI
// embeddings shape (float, base64 through the official SDK, token ids, dimensions), the query
// instruction, truncation, vectors independent of batch-mates, the bounded queue, metrics, bad
// input, and replicas started by the local runner as their own processes.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { request } from "undici";
import { localRunner } from "../../src/engines/embedded/index.js";
import { type EmbeddingServerHandle, startEmbeddingServer } from "../../src/engines/embedded/server.js";
import { parsePrometheusText } from "../../src/engines/index.js";
import { startGateway } from "../../src/gateway/server.js";
import { parseSpec } from "../../src/spec/load.js";
import type { ModelSpec } from "../../src/spec/schema.js";
import { CACHE_DIR, MODEL_ID, realModel } from "./embedded-model.js";

const TEXT =
  "what similarity laws must be obeyed when constructing aeroelastic models of heated high speed aircraft";

let server: EmbeddingServerHandle;
before(async () => {
  server = await startEmbeddingServer({ model: await realModel(), maxQueue: 64, maxBatch: 8 });
});
after(async () => {
  await server?.close();
});

async function post(body: unknown, url = server.url) {
  const res = await request(`${url}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return {
    status: res.statusCode,
    headers: res.headers,
    body: (await res.body.json()) as Record<string, unknown>,
  };
}

type Embeddings = { data: { index: number; embedding: number[] }[]; usage: { prompt_tokens: number } };

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
};

describe("embedded engine: /v1/embeddings", () => {
  it("answers in the OpenAI shape with unit-length 384-dimensional vectors", async () => {
    const r = await post({ model: MODEL_ID, input: [TEXT, "heat transfer in boundary layers"] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const body = r.body as unknown as Embeddings & { object: string; model: string };
    assert.equal(body.object, "list");
    assert.deepEqual(
      body.data.map((d) => [d.index, d.embedding.length]),
      [
        [0, 384],
        [1, 384],
      ],
    );
    for (const d of body.data) assert.ok(Math.abs(cosine(d.embedding, d.embedding) - 1) < 1e-5);
    assert.ok(body.usage.prompt_tokens > 10);
    // Related texts are closer than unrelated ones: a real model, not hashing.
    const [q, rel, unrel] = (
      (
        await post({
          model: MODEL_ID,
          input: ["aircraft wing flutter", "aeroelastic flutter of wings", "the price of bread"],
        })
      ).body as unknown as Embeddings
    ).data.map((d) => d.embedding);
    assert.ok(cosine(q as number[], rel as number[]) > cosine(q as number[], unrel as number[]) + 0.1);
  });

  it("gives every text the same vector whatever its batch-mates (int8 runs each text alone)", async () => {
    const alone = ((await post({ model: MODEL_ID, input: TEXT })).body as unknown as Embeddings).data[0]
      ?.embedding;
    const mates = Array.from(
      { length: 12 },
      (_, i) => `filler text number ${i} about ${"shock waves ".repeat(i)}`,
    );
    const batched = (await post({ model: MODEL_ID, input: [...mates.slice(0, 5), TEXT, ...mates.slice(5)] }))
      .body as unknown as Embeddings;
    assert.deepEqual(batched.data[5]?.embedding, alone);
    // …and concurrent requests sharing scheduling steps do not disturb it either.
    const concurrent = await Promise.all([TEXT, ...mates].map((t) => post({ model: MODEL_ID, input: t })));
    assert.deepEqual((concurrent[0]?.body as unknown as Embeddings | undefined)?.data[0]?.embedding, alone);
  });

  it("serves base64 to the official OpenAI SDK (its default) with the float values", async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused" });
    const viaSdk = await client.embeddings.create({ model: MODEL_ID, input: TEXT });
    const floats = ((await post({ model: MODEL_ID, input: TEXT })).body as unknown as Embeddings).data[0]
      ?.embedding;
    assert.equal(viaSdk.data[0]?.embedding.length, 384);
    assert.deepEqual(viaSdk.data[0]?.embedding, Array.from(Float32Array.from(floats ?? [])));
  });

  it("takes token ids, with or without [CLS]/[SEP], as the same text", async () => {
    const model = await realModel();
    const ids = model.tokenize(TEXT);
    const bare = ids.slice(1, -1);
    const text = ((await post({ model: MODEL_ID, input: TEXT })).body as unknown as Embeddings).data[0]
      ?.embedding;
    const byIds = (await post({ model: MODEL_ID, input: [bare, ids] })).body as unknown as Embeddings;
    assert.deepEqual(byIds.data[0]?.embedding, text);
    assert.deepEqual(byIds.data[1]?.embedding, text);
    const bad = await post({ model: MODEL_ID, input: [[101, 99999999]] });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /input\[0\]\[1\]: 99999999 is not a token id/);
  });

  it("applies the catalog's query instruction for input_type query, and only then", async () => {
    const model = await realModel();
    const q = (
      (await post({ model: MODEL_ID, input: TEXT, input_type: "query" })).body as unknown as Embeddings
    ).data[0]?.embedding;
    const prefixed = (
      (await post({ model: MODEL_ID, input: `${model.facts.queryInstruction}${TEXT}` }))
        .body as unknown as Embeddings
    ).data[0]?.embedding;
    const plain = ((await post({ model: MODEL_ID, input: TEXT })).body as unknown as Embeddings).data[0]
      ?.embedding;
    assert.deepEqual(q, prefixed);
    assert.notDeepEqual(q, plain);
  });

  it("truncates to the model's 512 tokens and counts what it embedded", async () => {
    const long = "boundary layer ".repeat(600);
    const r = (await post({ model: MODEL_ID, input: long })).body as unknown as Embeddings;
    assert.equal(r.usage.prompt_tokens, 512);
  });

  it("honours dimensions only where the model allows (bge-small is not Matryoshka)", async () => {
    assert.equal((await post({ model: MODEL_ID, input: TEXT, dimensions: 384 })).status, 200);
    const r = await post({ model: MODEL_ID, input: TEXT, dimensions: 256 });
    assert.equal(r.status, 400);
    const err = (r.body as { error: { param: string; code: string; type: string; message: string } }).error;
    assert.equal(err.param, "dimensions");
    assert.equal(err.code, "invalid_request");
    assert.equal(err.type, "invalid_request_error");
    assert.match(err.message, /only gives 384 dimensions/);
  });

  it("answers bad requests with 4xx OpenAI errors naming the field, and keeps serving", async () => {
    const cases: [unknown, number, RegExp][] = [
      [{ model: MODEL_ID }, 400, /^input: /],
      [{ model: MODEL_ID, input: "" }, 400, /^input: empty text/],
      [{ model: MODEL_ID, input: ["a", " "] }, 400, /^input\[1\]: empty text/],
      [{ model: MODEL_ID, input: ["ok", 3.5, "x"] }, 400, /^input\[1\]: /],
      [{ model: MODEL_ID, input: "x", encoding_format: "int8" }, 400, /^encoding_format: "int8"/],
      [{ model: MODEL_ID, input: "x", input_type: "passage!" }, 400, /^input_type: /],
      [{ model: "text-embedding-3-small", input: "x" }, 404, /model: "text-embedding-3-small" is not served/],
      [{ input: "x" }, 400, /^model: /],
      [[1, 2], 400, /JSON object/],
    ];
    for (const [body, status, message] of cases) {
      const r = await post(body);
      assert.equal(r.status, status, JSON.stringify(body));
      const e = (r.body as { error: { message: string; type: string; code: string } }).error;
      assert.match(e.message, message);
      assert.ok(e.type && e.code);
    }
    const broken = await request(`${server.url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(broken.statusCode, 400);
    assert.ok(((await broken.body.json()) as { error?: unknown }).error);
    assert.equal((await post({ model: MODEL_ID, input: "still serving" })).status, 200);
  });

  it("lists its model, answers health, and exposes Prometheus metrics", async () => {
    const models = (await (await request(`${server.url}/v1/models`)).body.json()) as {
      data: { id: string }[];
    };
    assert.deepEqual(
      models.data.map((m) => m.id),
      [MODEL_ID],
    );
    assert.equal((await request(`${server.url}/health`)).statusCode, 200);
    const text = await (await request(`${server.url}/metrics`)).body.text();
    const names = new Set(parsePrometheusText(text).map((s) => s.name));
    for (const n of [
      "inferplane_embedding_requests_total",
      "inferplane_embedding_prompt_tokens_total",
      "inferplane_embedding_texts_total",
      "inferplane_embedding_batch_size_bucket",
      "inferplane_embedding_queue_depth",
      "inferplane_embedding_texts_running",
      "inferplane_embedding_request_duration_seconds_bucket",
    ]) {
      assert.ok(names.has(n), `${n} missing`);
    }
    assert.match(text, /inferplane_embedding_requests_total\{model="bge-small-en-v1.5",status="400"\} [1-9]/);
  });
});

describe("embedded engine: behind the gateway's router", () => {
  it("serves a route of engine embedded, input_type passing through, to the official SDK", async () => {
    const { platform } = parseSpec(`
apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - {name: bge-small, source: hf://BAAI/bge-small-en-v1.5, engine: embedded, kind: embedding}
routes:
  - {name: embed, targets: [{model: bge-small}]}
`);
    const gw = await startGateway(platform, {
      host: "127.0.0.1",
      port: 0,
      log: () => {},
      endpoints: { "bge-small": [server.url] },
    });
    try {
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused" });
      const viaGateway = await client.embeddings.create({
        model: "embed",
        input: TEXT,
        // @ts-expect-error input_type is the engine's extension to the OpenAI body
        input_type: "query",
      });
      const direct = (
        (await post({ model: MODEL_ID, input: TEXT, input_type: "query" })).body as unknown as Embeddings
      ).data[0]?.embedding;
      assert.deepEqual(viaGateway.data[0]?.embedding, Array.from(Float32Array.from(direct ?? [])));
    } finally {
      await gw.close();
    }
  });
});

describe("embedded engine: bounded queue", () => {
  it("answers 429 with Retry-After when a request does not fit, and nothing of it is queued", async () => {
    const small = await startEmbeddingServer({ model: await realModel(), maxQueue: 3, maxBatch: 1 });
    try {
      const full = await post({ model: MODEL_ID, input: ["a", "b", "c", "d"] }, small.url);
      assert.equal(full.status, 429);
      assert.equal(full.headers["retry-after"], "1");
      assert.equal((full.body as { error: { code: string } }).error.code, "embedding_queue_full");
      const ok = await post({ model: MODEL_ID, input: ["a", "b", "c"] }, small.url);
      assert.equal(ok.status, 200);
    } finally {
      await small.close();
    }
  });
});

describe("embedded engine: local runner", () => {
  it("starts real replicas as processes that serve the model under its served name, and stops them", async () => {
    const { platform } = parseSpec(`
apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - {name: embed, source: hf://BAAI/bge-small-en-v1.5, engine: embedded}
`);
    const model = platform.models[0] as ModelSpec;
    const replicas = await localRunner.start(model, { replicas: 1, cacheDir: CACHE_DIR, progress: () => {} });
    try {
      assert.equal(replicas.real, true);
      assert.equal(replicas.urls.length, 1);
      assert.match(replicas.describe, /bge-small-en-v1.5 int8/);
      const url = replicas.urls[0] as string;
      const r = await post({ model: "BAAI/bge-small-en-v1.5", input: TEXT }, url);
      assert.equal(r.status, 200);
      const local = ((await post({ model: MODEL_ID, input: TEXT })).body as unknown as Embeddings).data[0]
        ?.embedding;
      assert.deepEqual((r.body as unknown as Embeddings).data[0]?.embedding, local);
    } finally {
      await replicas.close();
    }
    await assert.rejects(request(`${replicas.urls[0]}/health`));
  });
});
