import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  compareVersions,
  ENGINE_IDS,
  engineFacts,
  engineInfo,
  inVersionRange,
  isEngineId,
  knownMetricNames,
  listEngines,
  type MetricKey,
  metricFacts,
  metricNames,
  metricSelector,
  parseVersion,
} from "../../src/catalog/index.js";

function exposedNames(
  engine: "vllm" | "tgi" | "triton",
  version: string | undefined,
  key: MetricKey,
): string[] {
  return (metricNames(engine, version)[key]?.exposed ?? []).map((s) => s.name);
}

describe("catalog: version comparison", () => {
  it("parses the forms engines use", () => {
    assert.deepEqual(parseVersion("0.8.0"), { release: [0, 8, 0], pre: null, post: null });
    assert.deepEqual(parseVersion("v0.11.2"), { release: [0, 11, 2], pre: null, post: null });
    assert.deepEqual(parseVersion("0.9.0rc1"), { release: [0, 9, 0], pre: "rc1", post: null });
    assert.deepEqual(parseVersion("0.8.5.post1"), { release: [0, 8, 5], pre: null, post: 1 });
    assert.deepEqual(parseVersion("25.02"), { release: [25, 2], pre: null, post: null });
    assert.deepEqual(parseVersion("3.3.5+cu124"), { release: [3, 3, 5], pre: null, post: null });
    assert.equal(parseVersion("latest"), null);
    assert.equal(parseVersion(""), null);
  });

  it("orders numerically, not lexically", () => {
    assert.ok(compareVersions("0.9.2", "0.10.0") < 0);
    assert.ok(compareVersions("v0.11.2", "0.11.10") < 0);
    assert.equal(compareVersions("0.9", "0.9.0"), 0);
    assert.equal(compareVersions("v0.12.0", "0.12.0"), 0);
    assert.ok(compareVersions("0.12.0", "0.8.0") > 0);
    assert.ok(compareVersions("0.9.0rc1", "0.9.0") < 0);
    assert.ok(compareVersions("0.9.0rc1", "0.9.0rc2") < 0);
    assert.ok(compareVersions("0.9.0.dev1", "0.9.0rc1") < 0);
    assert.ok(compareVersions("0.8.5.post1", "0.8.5") > 0);
    assert.ok(compareVersions("0.8.5.post1", "0.8.6") < 0);
    assert.ok(compareVersions("latest", "99.0") > 0);
  });

  it("ranges are half-open", () => {
    assert.ok(inVersionRange("0.9.2", { since: "0.9.2" }));
    assert.ok(!inVersionRange("0.9.1", { since: "0.9.2" }));
    assert.ok(inVersionRange("0.11.9", { until: "0.12.0" }));
    assert.ok(!inVersionRange("0.12.0", { until: "0.12.0" }));
    assert.ok(inVersionRange("1.0.0", {}));
  });
});

describe("catalog: engines", () => {
  it("covers the six engines", () => {
    assert.deepEqual([...ENGINE_IDS], ["vllm", "tgi", "ollama", "triton", "llamacpp", "openai", "embedded"]);
    assert.deepEqual(
      listEngines().map((e) => e.id),
      [...ENGINE_IDS],
    );
    assert.ok(isEngineId("tgi"));
    assert.ok(!isEngineId("sglang"));
  });

  it("health, metrics paths and ports", () => {
    const vllm = engineInfo("vllm");
    assert.equal(vllm.healthPath, "/health");
    assert.equal(vllm.metricsPath, "/metrics");
    assert.equal(vllm.defaultPort, 8000);
    assert.equal(vllm.api.chatCompletions, "/v1/chat/completions");
    assert.equal(vllm.api.embeddings, "/v1/embeddings");
    assert.equal(vllm.image, "vllm/vllm-openai:v0.12.0");
    assert.equal(engineInfo("vllm", "v0.8.5").image, "vllm/vllm-openai:v0.8.5");

    const tgi = engineInfo("tgi", "3.3.5");
    assert.equal(tgi.healthPath, "/health");
    assert.equal(tgi.image, "ghcr.io/huggingface/text-generation-inference:3.3.5");
    assert.equal(tgi.api.generate, "/generate");
    assert.equal(engineInfo("tgi", "1.3.0").api.chatCompletions, undefined, "Messages API arrived in 1.4.0");
    assert.equal(engineInfo("tgi", "1.4.0").api.chatCompletions, "/v1/chat/completions");

    const ollama = engineInfo("ollama");
    assert.equal(ollama.metricsPath, null, "ollama/ollama#3144");
    assert.equal(ollama.defaultPort, 11434);
    assert.ok(ollama.healthPath === "/" || ollama.healthPath === "/api/version");

    const triton = engineInfo("triton");
    assert.equal(triton.readinessPath, "/v2/health/ready");
    assert.equal(triton.metricsPort, 8002);
    assert.equal(triton.image, "nvcr.io/nvidia/tritonserver:25.02-trtllm-python-py3");

    const openai = engineInfo("openai");
    assert.equal(openai.image, null);
    assert.equal(openai.metricsPath, null);
    assert.equal(openai.baseUrl, "https://api.openai.com");
  });

  it("every engine's facts are well formed", () => {
    for (const e of listEngines()) {
      assert.ok(e.defaultPort > 0 && e.defaultPort < 65536, e.id);
      assert.ok(parseVersion(e.defaultVersion) !== null || e.id === "openai", e.id);
      for (const p of [e.healthPath, e.readinessPath, e.metricsPath]) {
        if (p !== null) assert.match(p, /^\//, e.id);
      }
      for (const ep of e.endpoints) assert.match(ep.path, /^\//, `${e.id} ${ep.kind}`);
      assert.equal(metricFacts(e.id).length === 0, e.metricsPath === null, e.id);
      assert.ok(engineFacts(e.id).source.length > 0);
    }
  });
});

describe("catalog: engine metric names", () => {
  it("vLLM KV-cache usage differs between 0.8 and 0.12", () => {
    assert.deepEqual(exposedNames("vllm", "0.8.0", "kvCacheUsage"), ["vllm:gpu_cache_usage_perc"]);
    assert.deepEqual(exposedNames("vllm", "0.12.0", "kvCacheUsage"), ["vllm:kv_cache_usage_perc"]);
    // Both during the rename window, new name first.
    assert.deepEqual(exposedNames("vllm", "0.10.1", "kvCacheUsage"), [
      "vllm:kv_cache_usage_perc",
      "vllm:gpu_cache_usage_perc",
    ]);
    // Hidden in 0.11: still a candidate (with --show-hidden-metrics-for-version=0.10), not exposed.
    const v011 = metricNames("vllm", "0.11.0").kvCacheUsage;
    assert.deepEqual(
      v011?.candidates.map((c) => [c.name, c.status]),
      [
        ["vllm:kv_cache_usage_perc", "exposed"],
        ["vllm:gpu_cache_usage_perc", "hidden"],
      ],
    );
  });

  it("KV-cache usage is a 0–1 fraction and a gauge", () => {
    for (const engine of ["vllm", "triton"] as const) {
      const kv = metricNames(engine).kvCacheUsage;
      assert.equal(kv?.unit, "fraction", engine);
      assert.equal(kv?.type, "gauge", engine);
    }
  });

  it("tolerant readers get every name in order, current first", () => {
    const old = metricNames("vllm", "0.8.0").kvCacheUsage?.candidates.map((c) => c.name);
    assert.deepEqual(old, ["vllm:gpu_cache_usage_perc", "vllm:kv_cache_usage_perc"]);
    const cur = metricNames("vllm", "0.12.0").kvCacheUsage?.candidates.map((c) => c.name);
    assert.deepEqual(cur, ["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"]);
  });

  it("vLLM counters carry _total, gauges and histograms do not", () => {
    const m = metricNames("vllm", "0.12.0");
    assert.deepEqual(exposedNames("vllm", "0.12.0", "preemptions"), ["vllm:num_preemptions_total"]);
    assert.deepEqual(exposedNames("vllm", "0.12.0", "promptTokens"), ["vllm:prompt_tokens_total"]);
    assert.deepEqual(exposedNames("vllm", "0.12.0", "generationTokens"), ["vllm:generation_tokens_total"]);
    assert.deepEqual(exposedNames("vllm", "0.12.0", "requestSuccess"), ["vllm:request_success_total"]);
    assert.deepEqual(exposedNames("vllm", "0.12.0", "prefixCacheQueries"), [
      "vllm:prefix_cache_queries_total",
    ]);
    assert.deepEqual(exposedNames("vllm", "0.12.0", "prefixCacheHits"), ["vllm:prefix_cache_hits_total"]);
    for (const r of Object.values(m)) {
      for (const s of r.exposed) {
        if (r.type === "counter") assert.match(s.name, /_total$/, s.name);
        else assert.doesNotMatch(s.name, /_total$/, s.name);
        assert.match(s.name, /^vllm:[a-z0-9_]+$/);
      }
    }
  });

  it("vLLM gauges, histograms and version-dependent latency names", () => {
    assert.deepEqual(exposedNames("vllm", "0.12.0", "running"), ["vllm:num_requests_running"]);
    assert.deepEqual(exposedNames("vllm", "0.12.0", "waiting"), ["vllm:num_requests_waiting"]);
    assert.deepEqual(exposedNames("vllm", "0.12.0", "ttft"), ["vllm:time_to_first_token_seconds"]);
    assert.deepEqual(exposedNames("vllm", "0.12.0", "e2eLatency"), ["vllm:e2e_request_latency_seconds"]);
    assert.deepEqual(exposedNames("vllm", "0.12.0", "queueTime"), ["vllm:request_queue_time_seconds"]);
    assert.deepEqual(exposedNames("vllm", "0.12.0", "itl"), ["vllm:inter_token_latency_seconds"]);
    assert.deepEqual(exposedNames("vllm", "0.8.0", "itl"), ["vllm:time_per_output_token_seconds"]);
    assert.deepEqual(exposedNames("vllm", "0.12.0", "tpot"), ["vllm:request_time_per_output_token_seconds"]);
    assert.deepEqual(exposedNames("vllm", "0.8.0", "prefixCacheQueries"), [
      "vllm:gpu_prefix_cache_queries_total",
    ]);
  });

  it("v0-only metrics disappear", () => {
    assert.deepEqual(exposedNames("vllm", "0.7.3", "swapped"), ["vllm:num_requests_swapped"]);
    assert.equal(metricNames("vllm", "0.9.0").swapped?.exposed.length, 0);
    assert.equal(metricNames("vllm", "0.12.0").swapped, undefined);
    assert.equal(metricNames("vllm", "0.12.0").cpuCacheUsage, undefined);
  });

  it("no version or an unparseable one means the default version", () => {
    assert.deepEqual(metricNames("vllm"), metricNames("vllm", "0.12.0"));
    assert.deepEqual(metricNames("vllm", "latest"), metricNames("vllm", "0.12.0"));
  });

  it("TGI, Triton, Ollama and external providers", () => {
    assert.deepEqual(exposedNames("tgi", undefined, "waiting"), ["tgi_queue_size"]);
    assert.deepEqual(exposedNames("tgi", undefined, "running"), ["tgi_batch_current_size"]);
    assert.equal(metricNames("tgi").kvCacheUsage, undefined);

    const waiting = metricNames("triton").waiting?.exposed[0];
    assert.ok(waiting);
    assert.equal(metricSelector(waiting), 'nv_trt_llm_request_metrics{request_type="waiting"}');
    const kv = metricNames("triton").kvCacheUsage?.exposed[0];
    assert.ok(kv);
    assert.equal(metricSelector(kv), 'nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="fraction"}');

    assert.deepEqual(metricNames("ollama"), {});
    assert.deepEqual(metricNames("openai"), {});
  });

  it("known names include retired ones (for linters)", () => {
    const names = knownMetricNames("vllm");
    assert.ok(names.includes("vllm:gpu_cache_usage_perc"));
    assert.ok(names.includes("vllm:kv_cache_usage_perc"));
    assert.ok(!names.includes("vllm_num_requests_waiting"), "underscore names are never exposed");
  });
});
