import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InferplaneError, type Problem } from "../../src/errors.js";
import { parseSpec } from "../../src/spec/load.js";

const HEAD = `apiVersion: inferplane.dev/v1
kind: Platform
metadata:
  name: t
`;

function problems(yaml: string): Problem[] {
  try {
    parseSpec(HEAD + yaml);
  } catch (err) {
    assert.ok(err instanceof InferplaneError);
    return err.problems;
  }
  return [];
}

function expectProblem(yaml: string, path: string, message: RegExp): Problem {
  const list = problems(yaml);
  const p = list.find((x) => x.path === path);
  assert.ok(p, `no problem at ${path}; got ${JSON.stringify(list)}`);
  assert.match(p.message, message);
  assert.equal(typeof p.line, "number");
  return p;
}

const MIG_POOL = (profiles: string, strategy = "mixed", gpus = 1) => `gpus:
  - name: p
    type: A100-80GB
    count: 8
    sharing:
      mode: mig
      mig:
        strategy: ${strategy}
        layouts:
          - gpus: ${gpus}
            profiles: ${profiles}
`;
const MODEL = `models:
  - name: m
    source: hf://Qwen/Qwen2.5-7B-Instruct
`;

describe("GPU pools against the catalog", () => {
  it("accepts placeable MIG layouts", () => {
    assert.deepEqual(problems(MIG_POOL('["4g.40gb", "3g.40gb"]') + MODEL), []);
    assert.deepEqual(problems(MIG_POOL('["3g.40gb", "2g.20gb", "2g.20gb"]') + MODEL), []);
  });
  it("rejects 3g+3g+1g, which sums to 7 slices but cannot be placed", () => {
    expectProblem(
      MIG_POOL('["3g.40gb", "3g.40gb", "1g.10gb"]') + MODEL,
      "gpus[0].sharing.mig.layouts[0].profiles",
      /./,
    );
  });
  it("rejects the guide's 1g.5gb × 14 on an A100-80GB", () => {
    const fourteen = JSON.stringify(Array(14).fill("1g.5gb"));
    expectProblem(MIG_POOL(fourteen) + MODEL, "gpus[0].sharing.mig.layouts[0].profiles", /1g\.5gb/);
    const eight = JSON.stringify(Array(8).fill("1g.10gb"));
    expectProblem(MIG_POOL(eight) + MODEL, "gpus[0].sharing.mig.layouts[0].profiles", /./);
  });
  it("rejects strategy single with mixed profiles", () => {
    expectProblem(
      MIG_POOL('["4g.40gb", "3g.40gb"]', "single") + MODEL,
      "gpus[0].sharing.mig.strategy",
      /mixed/,
    );
  });
  it("rejects MIG on a GPU without it, and layouts over more GPUs than the pool has", () => {
    const l40s = MIG_POOL('["1g.10gb"]').replace("A100-80GB", "L40S");
    expectProblem(l40s + MODEL, "gpus[0].sharing.mode", /does not support MIG/);
    expectProblem(MIG_POOL('["7g.80gb"]', "mixed", 9) + MODEL, "gpus[0].sharing.mig.layouts", /9 GPUs/);
  });
  it("rejects an unknown GPU type with the catalog ids", () => {
    expectProblem(`gpus:\n  - name: p\n    type: A100\n    count: 1\n${MODEL}`, "gpus[0].type", /A100-80GB/);
  });
  it("time slicing needs replicas", () => {
    const pool = "gpus:\n  - name: p\n    type: L4\n    count: 2\n    sharing:\n      mode: time-slicing\n";
    expectProblem(pool + MODEL, "gpus[0].sharing.replicas", /pods per GPU/);
  });
});

describe("models", () => {
  const pool = MIG_POOL('["3g.40gb", "2g.20gb", "2g.20gb"]', "mixed", 2);
  it("a request names an existing pool", () => {
    expectProblem(`${MODEL}    gpu:\n      pool: nope\n`, "models[0].gpu.pool", /no GPU pool "nope"/);
  });
  it("a MIG request names a profile the pool creates", () => {
    expectProblem(
      `${pool + MODEL}    gpu:\n      pool: p\n      migProfile: 1g.5gb\n`,
      "models[0].gpu.migProfile",
      /no MIG profile/,
    );
    expectProblem(
      `${pool + MODEL}    gpu:\n      pool: p\n      migProfile: 4g.40gb\n`,
      "models[0].gpu.migProfile",
      /no layout/,
    );
  });
  it("demand at minimum replicas fits the pool", () => {
    // 8 GPUs, 2 partitioned: 6 whole GPUs; 4 replicas × 2 GPUs = 8
    expectProblem(
      `${pool + MODEL}    replicas: 4\n    gpu:\n      pool: p\n      count: 2\n`,
      "gpus[0].count",
      /need 8 GPUs.*offers 6/,
    );
    expectProblem(
      `${pool + MODEL}    replicas: 5\n    gpu:\n      pool: p\n      migProfile: 2g.20gb\n`,
      "gpus[0].sharing.mig.layouts",
      /need 5 2g\.20gb instances.*create 4/,
    );
  });
  it("tensor parallelism stays within a node", () => {
    const p = "gpus:\n  - name: p\n    type: H100-80GB\n    count: 16\n    gpusPerNode: 8\n";
    expectProblem(
      `${p + MODEL}    gpu:\n      pool: p\n      count: 16\n`,
      "models[0].gpu.count",
      /8 GPUs per node/,
    );
  });
  it("maxModelLen within the model's context, quantization as published", () => {
    expectProblem(`${MODEL}    maxModelLen: 1000000\n`, "models[0].maxModelLen", /maximum context/);
    expectProblem(
      "models:\n  - name: m\n    source: hf://Qwen/Qwen2.5-7B-Instruct-AWQ\n    quantization: fp8\n",
      "models[0].quantization",
      /published as awq/,
    );
  });
  it("a kv_cache_usage target is a fraction (the guide's averageValue 70)", () => {
    expectProblem(
      `${MODEL}    replicas: 2\n    autoscaling:\n      minReplicas: 2\n      maxReplicas: 8\n      metric: kv_cache_usage\n      target: 70\n`,
      "models[0].autoscaling.target",
      /0–1 fraction.*0\.7/,
    );
  });
  it("replicas sit inside the autoscaling range", () => {
    expectProblem(
      `${MODEL}    replicas: 1\n    autoscaling:\n      minReplicas: 4\n      maxReplicas: 16\n`,
      "models[0].replicas",
      /4–16/,
    );
  });
  it("engine and source scheme agree", () => {
    expectProblem("models:\n  - name: m\n    source: openai://gpt-4o-mini\n", "models[0].engine", /openai/);
    assert.deepEqual(
      problems("models:\n  - name: m\n    source: openai://gpt-4o-mini\n    engine: openai\n"),
      [],
    );
  });
  it("names are unique", () => {
    expectProblem(`${MODEL}  - name: m\n    source: hf://BAAI/bge-m3\n`, "models[1].name", /duplicate/);
  });
});

describe("routes and RAG", () => {
  const models = `models:
  - name: chat
    source: hf://Qwen/Qwen2.5-7B-Instruct
  - name: embed
    source: hf://BAAI/bge-m3
`;
  it("targets, fallbacks and public names resolve", () => {
    const routes = `routes:
  - name: a
    targets: [{model: chat}]
    fallbacks: [b, a]
  - name: c
    aliases: [a]
    targets: [{model: ghost}]
`;
    const list = problems(models + routes);
    const paths = list.map((p) => p.path).sort();
    assert.deepEqual(paths, [
      "routes[0].fallbacks[0]",
      "routes[0].fallbacks[1]",
      "routes[1].aliases[0]",
      "routes[1].targets[0].model",
    ]);
  });
  it("a route does not mix chat and embedding pools", () => {
    expectProblem(
      `${models}routes:\n  - name: a\n    targets: [{model: chat}, {model: embed}]\n`,
      "routes[0].targets",
      /mix/,
    );
  });
  it("RAG routes serve the right kinds and the embedding dimension matches the model", () => {
    expectProblem(
      `${models}rag:\n  embedding:\n    route: chat\n    dimensions: 1024\n`,
      "rag.embedding.route",
      /chat model, not embedding/,
    );
    expectProblem(
      `${models}rag:\n  embedding:\n    route: embed\n    dimensions: 768\n`,
      "rag.embedding.dimensions",
      /1024-dimensional/,
    );
    assert.deepEqual(problems(`${models}rag:\n  embedding:\n    route: embed\n    dimensions: 1024\n`), []);
  });
  it("rate limits across several gateway replicas need Redis", () => {
    expectProblem(
      `${models}gateway:\n  replicas: 3\n  limits:\n    rpm: 600\n`,
      "gateway.redis",
      /limit × replicas/,
    );
    assert.deepEqual(
      problems(
        `${models}gateway:\n  replicas: 3\n  limits:\n    rpm: 600\n  redis:\n    url: redis://cache:6379\n`,
      ),
      [],
    );
  });
});
