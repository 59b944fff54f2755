import assert from "node:assert/strict";
import { describe, it, test } from "node:test";
import { getEngineAdapter } from "../../src/engines/index.js";
import { requireService } from "../services/harness.js";
import { startLlmdSim } from "../services/llmd-sim.js";
import { VLLM_0_8, VLLM_0_10, VLLM_0_12_DP2 } from "./fixtures.js";

describe("vLLM adapter: paths", () => {
  const a = getEngineAdapter("vllm");
  it("serves the OpenAI routes, health and metrics from the catalog", () => {
    assert.equal(a.apiPath("chat"), "/v1/chat/completions");
    assert.equal(a.apiPath("completions"), "/v1/completions");
    assert.equal(a.apiPath("embeddings"), "/v1/embeddings");
    assert.equal(a.apiPath("rerank"), "/v1/rerank");
    assert.equal(a.apiPath("models"), "/v1/models");
    assert.equal(a.healthPath, "/health");
    assert.equal(a.metricsPath, "/metrics");
    assert.equal(a.metricsUrl("http://10.0.0.7:8000/"), "http://10.0.0.7:8000/metrics");
    assert.equal(a.version, "0.12.0");
  });
});

describe("vLLM adapter: load from metrics across versions", () => {
  it("0.8 names (vllm:gpu_cache_usage_perc) at version 0.8", () => {
    assert.deepEqual(getEngineAdapter("vllm", "0.8.5").parseLoad(VLLM_0_8, 10), {
      running: 7,
      waiting: 2,
      kvUsage: 0.4213,
      at: 10,
    });
  });

  it("0.8 names still parse when the spec says 0.12 (the old name is only a candidate there)", () => {
    assert.deepEqual(getEngineAdapter("vllm", "0.12.0").parseLoad(VLLM_0_8, 10), {
      running: 7,
      waiting: 2,
      kvUsage: 0.4213,
      at: 10,
    });
  });

  it("0.12 names (vllm:kv_cache_usage_perc) parse when the spec says 0.8", () => {
    const load = getEngineAdapter("vllm", "0.8.0").parseLoad(VLLM_0_12_DP2, 1);
    assert.ok(load);
    assert.equal(load.kvUsage, 0.375);
  });

  it("the rename window (both names exposed) is read once, not added up", () => {
    for (const v of ["0.10.0", "0.8.0", "0.12.0"]) {
      const load = getEngineAdapter("vllm", v).parseLoad(VLLM_0_10, 1);
      assert.deepEqual(load, { running: 4, waiting: 0, kvUsage: 0.6, at: 1 }, v);
    }
  });

  it("sums running/waiting over label sets and averages KV usage (data-parallel engines)", () => {
    assert.deepEqual(getEngineAdapter("vllm").parseLoad(VLLM_0_12_DP2, 3), {
      running: 8,
      waiting: 1,
      kvUsage: 0.375,
      at: 3,
    });
  });

  it("sums several model_name series (LoRA adapters served by one engine)", () => {
    const text = [
      'vllm:num_requests_running{model_name="base"} 2',
      'vllm:num_requests_running{model_name="base-lora-a"} 1',
      'vllm:num_requests_waiting{model_name="base"} 4',
      'vllm:num_requests_waiting{model_name="base-lora-a"} 1',
    ].join("\n");
    const load = getEngineAdapter("vllm").parseLoad(text, 0);
    assert.deepEqual(load, { running: 3, waiting: 5, at: 0 });
  });

  it("clamps KV usage to 0–1, ignores NaN and negative junk, and misses nothing with only one of running/waiting", () => {
    const a = getEngineAdapter("vllm");
    assert.equal(a.parseLoad("vllm:num_requests_running 1\nvllm:kv_cache_usage_perc 1.2\n", 0)?.kvUsage, 1);
    assert.equal(a.parseLoad("vllm:num_requests_running 1\nvllm:kv_cache_usage_perc -0.1\n", 0)?.kvUsage, 0);
    assert.equal(
      a.parseLoad("vllm:num_requests_running 1\nvllm:kv_cache_usage_perc NaN\n", 0)?.kvUsage,
      undefined,
    );
    assert.deepEqual(a.parseLoad("vllm:num_requests_waiting 6\n", 0), { running: 0, waiting: 6, at: 0 });
    assert.equal(a.parseLoad("vllm:num_requests_running -3\n", 0)?.running, 0);
  });

  it("a text with only KV usage has no load", () => {
    assert.equal(getEngineAdapter("vllm").parseLoad("vllm:kv_cache_usage_perc 0.5\n", 0), undefined);
  });
});

test("vLLM adapter reads real exposition text from llm-d-inference-sim", async (t) => {
  const sim = await requireService(t, "llm-d-inference-sim", () =>
    startLlmdSim({ maxNumSeqs: 2, timeToFirstToken: "20ms", interTokenLatency: "40ms" }),
  );
  if (!sim) return;
  const a = getEngineAdapter("vllm");
  const scrape = async () => {
    const res = await fetch(a.metricsUrl(sim.url) ?? "", { signal: AbortSignal.timeout(5_000) });
    assert.equal(res.status, 200);
    return res.text();
  };

  await t.test("idle: zero running and waiting, KV usage a fraction", async () => {
    const text = await scrape();
    const load = a.parseLoad(text, 42);
    assert.ok(load, `no load in:\n${text.slice(0, 500)}`);
    assert.equal(load.running, 0);
    assert.equal(load.waiting, 0);
    assert.equal(load.at, 42);
    assert.ok(load.kvUsage !== undefined && load.kvUsage >= 0 && load.kvUsage <= 1);
  });

  await t.test("loaded: 5 requests on 2 slots show as running 2 + waiting 3", async () => {
    const body = JSON.stringify({
      model: sim.model,
      messages: [{ role: "user", content: "one two three four five six seven eight nine ten" }],
    });
    const requests = Array.from({ length: 5 }, () =>
      fetch(`${sim.url}${a.apiPath("chat")}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(30_000),
      }).then((r) => r.text()),
    );
    try {
      let seen: { running: number; waiting: number } | undefined;
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline) {
        const load = a.parseLoad(await scrape(), performance.now());
        assert.ok(load);
        assert.ok(load.running >= 0 && load.waiting >= 0);
        assert.ok(load.running <= 2, `running ${load.running} > max-num-seqs 2`);
        if (load.running + load.waiting === 5) {
          seen = load;
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(seen && { running: seen.running, waiting: seen.waiting }, { running: 2, waiting: 3 });
    } finally {
      await Promise.allSettled(requests);
    }
  });
});
