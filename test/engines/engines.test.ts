// Engine-specific behaviour of the TGI, Triton, Ollama and external-provider adapters.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { adapterForPool, getEngineAdapter } from "../../src/engines/index.js";
import { TGI_3, TRITON_TRTLLM, TRITON_TRTLLM_OLD, VLLM_0_12_DP2 } from "./fixtures.js";

describe("TGI adapter", () => {
  const a = getEngineAdapter("tgi");
  it("paths from the catalog; no embeddings or rerank", () => {
    assert.equal(a.apiPath("chat"), "/v1/chat/completions");
    assert.equal(a.apiPath("embeddings"), undefined);
    assert.equal(a.apiPath("rerank"), undefined);
    assert.equal(a.healthPath, "/health");
    assert.equal(a.metricsUrl("http://tgi:80"), "http://tgi:80/metrics");
  });
  it("chat only from 1.4.0 (Messages API)", () => {
    assert.equal(getEngineAdapter("tgi", "1.3.4").apiPath("chat"), undefined);
    assert.equal(getEngineAdapter("tgi", "1.3.4").apiPath("completions"), "/v1/completions");
  });
  it("load from tgi_batch_current_size and tgi_queue_size; no KV usage", () => {
    assert.deepEqual(a.parseLoad(TGI_3, 9), { running: 12, waiting: 3, at: 9 });
  });
  it("does not read another engine's names", () => {
    assert.equal(a.parseLoad(VLLM_0_12_DP2, 0), undefined);
  });
});

describe("Triton adapter", () => {
  const a = getEngineAdapter("triton");
  it("health is the readiness path; metrics move to port 8002 from the default 8000", () => {
    assert.equal(a.healthPath, "/v2/health/ready");
    assert.equal(a.metricsUrl("http://10.1.2.3:8000"), "http://10.1.2.3:8002/metrics");
    assert.equal(a.metricsUrl("http://[fd00::7]:8000/"), "http://[fd00::7]:8002/metrics");
    // A remapped port (port-forward, NodePort) is kept: we cannot guess where metrics went.
    assert.equal(a.metricsUrl("http://127.0.0.1:18000"), "http://127.0.0.1:18000/metrics");
  });
  it("running = scheduled, waiting = request_type waiting, KV from the fraction series", () => {
    assert.deepEqual(a.parseLoad(TRITON_TRTLLM, 1), { running: 6, waiting: 2, kvUsage: 0.375, at: 1 });
  });
  it("older backends: KV = used ÷ max, waiting from Triton core's pending count", () => {
    assert.deepEqual(a.parseLoad(TRITON_TRTLLM_OLD, 1), { running: 3, waiting: 4, kvUsage: 0.25, at: 1 });
  });
  it("the max request type is never read as load", () => {
    const text = 'nv_trt_llm_request_metrics{request_type="max"} 64\n';
    assert.equal(a.parseLoad(text, 0), undefined);
  });
});

describe("Ollama adapter", () => {
  const a = getEngineAdapter("ollama");
  it("no metrics: no path, no URL, never a load", () => {
    assert.equal(a.metricsPath, undefined);
    assert.equal(a.metricsUrl("http://127.0.0.1:11434"), undefined);
    assert.equal(a.parseLoad(VLLM_0_12_DP2, 0), undefined);
  });
  it("OpenAI-compatible paths and a readiness health path", () => {
    assert.equal(a.apiPath("chat"), "/v1/chat/completions");
    assert.equal(a.apiPath("embeddings"), "/v1/embeddings");
    assert.equal(a.apiPath("rerank"), undefined);
    assert.equal(a.healthPath, "/api/version");
  });
});

describe("external OpenAI-compatible provider adapter", () => {
  it("health-checks the (authenticated) model list, has no metrics", () => {
    const a = getEngineAdapter("openai");
    assert.equal(a.healthPath, "/v1/models");
    assert.equal(a.metricsPath, undefined);
    assert.equal(a.apiPath("rerank"), undefined);
  });
  it("adds the Bearer key from the pool's apiKeyEnv, and says which variable is missing", () => {
    const a = adapterForPool({
      name: "gpt-4o-mini",
      engine: "openai",
      upstreamModel: "gpt-4o-mini",
      apiKeyEnv: "OPENAI_API_KEY",
    });
    assert.deepEqual(
      { ...a.requestHeaders({ OPENAI_API_KEY: "sk-test" }) },
      { authorization: "Bearer sk-test" },
    );
    // Cached while the value stays the same; follows a rotated key.
    assert.equal(
      a.requestHeaders({ OPENAI_API_KEY: "sk-test" }),
      a.requestHeaders({ OPENAI_API_KEY: "sk-test" }),
    );
    assert.equal(a.requestHeaders({ OPENAI_API_KEY: "sk-new" }).authorization, "Bearer sk-new");
    assert.throws(() => a.requestHeaders({}), /OPENAI_API_KEY is not set.*pool gpt-4o-mini/);
  });
});

describe("getEngineAdapter", () => {
  it("shares keyless adapters per engine and version", () => {
    assert.equal(getEngineAdapter("vllm", "0.11.0"), getEngineAdapter("vllm", "0.11.0"));
    assert.notEqual(getEngineAdapter("vllm", "0.11.0"), getEngineAdapter("vllm", "0.8.0"));
  });
  it("adapterForPool takes the pool's engine and version", () => {
    const a = adapterForPool({ name: "p", engine: "vllm", engineVersion: "0.9.2", upstreamModel: "m" });
    assert.equal(a.id, "vllm");
    assert.equal(a.version, "0.9.2");
  });
});
