import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { InferplaneError } from "../../src/errors.js";
import { parseSpec } from "../../src/spec/load.js";

const EXAMPLE = readFileSync(new URL("../../examples/inferplane.yaml", import.meta.url), "utf8");

/** 1-based line of the first line containing `needle`. */
function lineOf(text: string, needle: string, from = 0): number {
  const i = text.indexOf(needle, from);
  assert.ok(i >= 0, `${needle} not in text`);
  return text.slice(0, i).split("\n").length;
}

function problemsOf(fn: () => unknown): InferplaneError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InferplaneError, `expected InferplaneError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected an error");
}

const MINIMAL = `apiVersion: inferplane.dev/v1
kind: Platform
metadata:
  name: tiny
models:
  - name: m
    source: hf://Qwen/Qwen2.5-7B-Instruct
`;

describe("the example spec", () => {
  it("validates as written, with defaults filled", () => {
    const { platform } = parseSpec(EXAMPLE);
    assert.equal(platform.metadata.namespace, "ai-inference");
    const qwen = platform.models.find((m) => m.name === "qwen-7b");
    assert.ok(qwen);
    assert.equal(qwen.source, "hf://Qwen/Qwen2.5-7B-Instruct-AWQ");
    assert.equal(qwen.quantization, "awq");
    assert.equal(qwen.maxNumSeqs, 256);
    assert.equal(qwen.slo?.ttft, 500);
    assert.equal(platform.gateway.timeouts.total, 600_000);
    assert.equal(platform.gateway.outlierDetection.consecutive5xx, 5);
    assert.equal(platform.gpus[0]?.type, "A100-80GB");
    assert.equal(platform.gpus[0]?.count, 8);
    assert.equal(platform.rag?.embedding.dimensions, 1024);
    assert.equal(platform.rag?.stores.vector.kind, "sqlite");
    assert.deepEqual(Object.keys(platform.environments), ["dev", "staging", "production"]);
    assert.equal(platform.gitops?.project, "ai-platform");
  });

  it("production: 4 replicas of 2 GPUs, autoscaling 4–16, Milvus + Elasticsearch, its own namespace", () => {
    const { platform, env } = parseSpec(EXAMPLE, { env: "production" });
    assert.equal(env, "production");
    assert.equal(platform.metadata.namespace, "ai-inference-production");
    const qwen = platform.models.find((m) => m.name === "qwen-7b");
    assert.equal(qwen?.replicas, 4);
    assert.equal(qwen?.gpu?.count, 2);
    assert.equal(qwen?.autoscaling?.minReplicas, 4);
    assert.equal(qwen?.autoscaling?.maxReplicas, 16);
    // merged by name: fields the overlay did not touch are kept
    assert.equal(qwen?.maxModelLen, 8192);
    assert.equal(qwen?.autoscaling?.metric, "num_requests_waiting");
    assert.equal(platform.models.length, 3);
    const stores = platform.rag?.stores;
    assert.equal(stores?.vector.kind, "milvus");
    assert.equal(stores?.keyword.kind, "elasticsearch");
    // a store of another kind replaces the base one instead of inheriting `path`
    assert.ok(stores && !("path" in stores.vector));
    assert.equal(platform.observability.tracing.enabled, true);
  });

  it("dev removes autoscaling with null and keeps the default namespace suffix", () => {
    const { platform } = parseSpec(EXAMPLE, { env: "dev" });
    const qwen = platform.models.find((m) => m.name === "qwen-7b");
    assert.equal(qwen?.autoscaling, undefined);
    assert.equal(qwen?.replicas, 1);
    assert.equal(platform.metadata.namespace, "ai-inference-dev");
  });
});

describe("problems name their field path, line and column", () => {
  it('maxModelLen: "eight" → models[0].maxModelLen at its line', () => {
    const bad = EXAMPLE.replace("maxModelLen: 8192", 'maxModelLen: "eight"');
    const err = problemsOf(() => parseSpec(bad));
    assert.equal(err.code, "spec_invalid");
    const p = err.problems.find((x) => x.path === "models[0].maxModelLen");
    assert.ok(p, JSON.stringify(err.problems));
    assert.equal(p.line, lineOf(bad, 'maxModelLen: "eight"'));
    assert.equal(p.column, 18);
    assert.match(p.message, /expected number/);
    assert.match(p.message, /"eight"/);
  });

  it("lists every problem, not only the first", () => {
    const bad = MINIMAL.replace("name: m", "name: M_bad").concat("gateway:\n  replicas: 0\n  bogus: 1\n");
    const err = problemsOf(() => parseSpec(bad));
    const paths = err.problems.map((p) => p.path).sort();
    assert.deepEqual(paths, ["gateway", "gateway.replicas", "models[0].name"]);
    const unknown = err.problems.find((p) => p.path === "gateway");
    assert.match(unknown?.message ?? "", /bogus/);
    assert.equal(unknown?.line, lineOf(bad, "gateway:"));
  });

  it("a missing field points at its parent", () => {
    const bad = MINIMAL.replace("    source: hf://Qwen/Qwen2.5-7B-Instruct\n", "");
    const err = problemsOf(() => parseSpec(bad));
    assert.equal(err.problems[0]?.path, "models[0].source");
    assert.equal(err.problems[0]?.line, lineOf(bad, "- name: m"));
  });

  it("a YAML syntax error names line and column", () => {
    const bad = `${MINIMAL}routes:\n  - name: x\n   targets: [\n`;
    const err = problemsOf(() => parseSpec(bad));
    assert.equal(err.code, "spec_yaml_syntax");
    assert.ok(err.problems.length > 0);
    for (const p of err.problems) {
      assert.equal(typeof p.line, "number");
      assert.equal(typeof p.column, "number");
    }
    assert.ok((err.problems[0]?.line ?? 0) >= lineOf(bad, "routes:"));
  });

  it("duplicate keys are a syntax error", () => {
    const err = problemsOf(() => parseSpec(`${MINIMAL}gpus: []\ngpus: []\n`));
    assert.equal(err.code, "spec_yaml_syntax");
    assert.match(err.problems[0]?.message ?? "", /unique/i);
  });

  it("an environment's bad override points at the override's line", () => {
    const bad = EXAMPLE.replace("          replicas: 4\n", '          replicas: "four"\n');
    assert.doesNotThrow(() => parseSpec(bad)); // the base is fine
    const err = problemsOf(() => parseSpec(bad, { env: "production" }));
    const p = err.problems.find((x) => x.path === "models[0].replicas");
    assert.ok(p, JSON.stringify(err.problems));
    assert.equal(p.line, lineOf(bad, 'replicas: "four"'));
  });

  it("an unknown environment lists the known ones", () => {
    const err = problemsOf(() => parseSpec(EXAMPLE, { env: "prod" }));
    assert.equal(err.code, "spec_unknown_environment");
    assert.match(err.message, /dev, staging, production/);
  });

  it("an environment may not override environments, apiVersion or kind", () => {
    const bad = `${MINIMAL}environments:\n  dev:\n    overrides:\n      kind: Other\n`;
    const err = problemsOf(() => parseSpec(bad, { env: "dev" }));
    assert.equal(err.code, "spec_invalid");
    assert.equal(err.problems[0]?.path, "environments.dev.overrides.kind");
    assert.equal(err.problems[0]?.line, lineOf(bad, "kind: Other"));
  });
});

describe("overlay merging", () => {
  const spec = `${MINIMAL}  - name: other
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    replicas: 3
environments:
  e:
    overrides:
      models:
        - name: other
          replicas: 5
        - name: added
          source: hf://mistralai/Mistral-7B-Instruct-v0.3
      gateway:
        timeouts:
          idle: 5s
`;
  it("merges named lists by name, appends new names, merges maps key by key", () => {
    const { platform } = parseSpec(spec, { env: "e" });
    assert.deepEqual(
      platform.models.map((m) => [m.name, m.replicas]),
      [
        ["m", 1],
        ["other", 5],
        ["added", 1],
      ],
    );
    assert.equal(platform.models[1]?.source, "hf://meta-llama/Llama-3.1-8B-Instruct");
    assert.equal(platform.gateway.timeouts.idle, 5_000);
    assert.equal(platform.gateway.timeouts.connect, 2_000);
  });

  it("does not change the spec without --env", () => {
    const { platform } = parseSpec(spec);
    assert.equal(platform.models.length, 2);
    assert.equal(platform.models[1]?.replicas, 3);
  });
});

describe("defaults", () => {
  it("serves every model under its own name when routes are omitted", () => {
    const { platform } = parseSpec(MINIMAL);
    assert.deepEqual(
      platform.routes.map((r) => [r.name, r.targets[0]?.model]),
      [["m", "m"]],
    );
    assert.equal(platform.gateway.listen.port, 8080);
    assert.equal(platform.observability.metrics.path, "/metrics");
    assert.equal(platform.rag, undefined);
  });

  it("parses durations", () => {
    const { platform } = parseSpec(
      `${MINIMAL}gateway:\n  timeouts:\n    connect: 250ms\n    firstByte: 1.5s\n    total: 2m\n    idle: 4000\n`,
    );
    assert.deepEqual(platform.gateway.timeouts, {
      connect: 250,
      firstByte: 1500,
      total: 120_000,
      idle: 4000,
    });
  });

  it("rejects a malformed duration with the expected form", () => {
    const err = problemsOf(() => parseSpec(`${MINIMAL}gateway:\n  timeouts:\n    connect: soon\n`));
    assert.equal(err.problems[0]?.path, "gateway.timeouts.connect");
    assert.match(err.problems[0]?.message ?? "", /duration/);
  });

  it("refuses credentials inside the Redis URL", () => {
    const err = problemsOf(() =>
      parseSpec(`${MINIMAL}gateway:\n  redis:\n    url: redis://:hunter2@cache:6379\n`),
    );
    assert.equal(err.problems[0]?.path, "gateway.redis.url");
  });
});
