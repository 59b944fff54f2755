// vLLM metrics of the simulator: counters, config info, version names, KV pressure and prefix caching.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startSimServer } from "../../src/sim/server.js";
import { countTokens } from "../../src/sim/text.js";
import { longText, metric, post, scrape, sseData } from "./server-helpers.js";

describe("sim server: vLLM metrics", () => {
  it("counters rise after requests; cache_config_info and KV usage match the engine", async (t) => {
    const sim = await startSimServer({ model: "llama-3.1-8b", speed: 20 });
    t.after(() => sim.stop());
    const model = sim.servedModelName;
    const before = await scrape(sim.url);
    const sel = { model_name: model };
    assert.equal(metric(before, "vllm:prompt_tokens_total", sel), 0);
    assert.equal(metric(before, "vllm:request_success_total", sel), 0);

    for (let i = 0; i < 3; i++) {
      const r = await post(`${sim.url}/v1/completions`, {
        model,
        prompt: `hello ${i}`,
        max_tokens: 5,
        ignore_eos: true,
      });
      assert.equal(r.status, 200);
      await r.json();
    }
    const text = await scrape(sim.url);
    const promptTokens = 3 * (countTokens("hello 0") + 1);
    assert.equal(metric(text, "vllm:prompt_tokens_total", sel), promptTokens);
    assert.equal(metric(text, "vllm:generation_tokens_total", sel), 15);
    assert.equal(metric(text, "vllm:request_success_total", { ...sel, finished_reason: "length" }), 3);
    assert.equal(metric(text, "vllm:request_success_total", { ...sel, finished_reason: "stop" }), 0);
    assert.equal(metric(text, "vllm:e2e_request_latency_seconds_count", sel), 3);
    assert.equal(metric(text, "vllm:time_to_first_token_seconds_count", sel), 3);
    assert.equal(metric(text, "vllm:request_queue_time_seconds_count", sel), 3);
    assert.equal(metric(text, "vllm:inter_token_latency_seconds_count", sel), 3 * 4);
    assert.equal(metric(text, "vllm:prefix_cache_queries_total", sel), promptTokens);
    assert.equal(metric(text, "vllm:num_requests_running", sel), 0);
    assert.equal(metric(text, "vllm:num_requests_waiting", sel), 0);
    assert.match(text, /^# TYPE vllm:num_preemptions_total counter$/m);
    assert.match(text, /^# TYPE vllm:time_to_first_token_seconds histogram$/m);
    // Every series is labelled with the served model.
    for (const line of text.split("\n").filter((l) => l.startsWith("vllm:")))
      assert.match(line, /model_name="meta-llama\/Llama-3\.1-8B-Instruct"/, line);

    const info = /^vllm:cache_config_info\{([^}]*)\} 1$/m.exec(text);
    assert.ok(info, "vllm:cache_config_info is exposed with value 1");
    assert.match(info[1] ?? "", new RegExp(`num_gpu_blocks="${sim.config.numGpuBlocks}"`));
    assert.match(info[1] ?? "", new RegExp(`block_size="${sim.config.blockSize}"`));

    const usage = metric(text, "vllm:kv_cache_usage_perc", sel);
    assert.ok(usage !== undefined && usage >= 0 && usage <= 1);
    assert.equal(metric(text, "vllm:gpu_cache_usage_perc"), undefined, "the default (0.12) has no old name");
  });

  it("--engine-version 0.8 exposes the v0-era names and not the new ones", async (t) => {
    const sim = await startSimServer({ model: "llama-3.1-8b", engineVersion: "0.8", speed: 20 });
    t.after(() => sim.stop());
    const r = await post(`${sim.url}/v1/completions`, {
      model: sim.servedModelName,
      prompt: "x",
      max_tokens: 3,
    });
    await r.json();
    const text = await scrape(sim.url);
    assert.match(text, /^# TYPE vllm:gpu_cache_usage_perc gauge$/m);
    assert.doesNotMatch(text, /vllm:kv_cache_usage_perc/);
    assert.match(text, /^vllm:gpu_prefix_cache_queries_total\{/m);
    assert.doesNotMatch(text, /^vllm:prefix_cache_queries_total/m);
    assert.match(text, /^# TYPE vllm:time_per_output_token_seconds histogram$/m);
    assert.doesNotMatch(text, /vllm:inter_token_latency_seconds/);
    const usage = metric(text, "vllm:gpu_cache_usage_perc");
    assert.ok(usage !== undefined && usage >= 0 && usage <= 1);
  });

  it("KV pressure: a small --num-gpu-blocks and concurrent long prompts cause preemptions", async (t) => {
    // 64 blocks × 16 tokens = 1,024 tokens of KV for 4 requests of ~300 + 200 tokens.
    const sim = await startSimServer({ model: "llama-3.1-8b", numGpuBlocks: 64, speed: 20 });
    t.after(() => sim.stop());
    assert.equal(sim.config.maxModelLen, 1024, "max-model-len follows the KV capacity");
    const model = sim.servedModelName;
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const u = metric(await scrape(sim.url), "vllm:kv_cache_usage_perc") ?? 0;
        assert.ok(u >= 0 && u <= 1, `kv usage ${u} out of [0, 1]`);
        peak = Math.max(peak, u);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const replies = await Promise.all(
      Array.from({ length: 4 }, async (_, i) => {
        const r = await post(`${sim.url}/v1/completions`, {
          model,
          prompt: longText(280, `request ${i}: `),
          max_tokens: 200,
          ignore_eos: true,
        });
        assert.equal(r.status, 200);
        return (await r.json()) as { usage: { completion_tokens: number } };
      }),
    );
    sampling = false;
    await sampler;
    for (const r of replies) assert.equal(r.usage.completion_tokens, 200, "preempted requests still finish");
    const text = await scrape(sim.url);
    assert.ok((metric(text, "vllm:num_preemptions_total") ?? 0) > 0, "preemptions under KV pressure");
    assert.ok(peak > 0.8, `KV usage should approach 1 under pressure, peaked at ${peak}`);
  });

  it("prefix caching: a shared ~1,000-token system prompt hits the cache and cuts TTFT", async (t) => {
    // speed 0.5 stretches the virtual clock so the prefill of ~1,000 tokens (~40 ms on an H100)
    // stands far above timer and HTTP noise.
    const sim = await startSimServer({ model: "llama-3.1-8b", speed: 0.5 });
    t.after(() => sim.stop());
    const model = sim.servedModelName;
    const system = longText(1000);
    assert.ok(countTokens(system) > 900, "the system prompt is ~1,000 tokens");
    const ask = async (system: string, question: string) => {
      const start = performance.now();
      const res = await post(`${sim.url}/v1/chat/completions`, {
        model,
        messages: [
          { role: "system", content: system },
          { role: "user", content: question },
        ],
        max_tokens: 2,
        ignore_eos: true,
        stream: true,
        stream_options: { include_usage: true },
      });
      assert.equal(res.status, 200);
      const reader = res.body?.getReader();
      assert.ok(reader);
      let ttft = -1;
      let text = "";
      const decoder = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        if (ttft < 0 && /"delta":\{"content":"[^"]/.test(text)) ttft = performance.now() - start;
      }
      const usage = JSON.parse(sseData(text).at(-2) ?? "{}") as {
        usage: { prompt_tokens_details: { cached_tokens: number } };
      };
      return { ttft, cached: usage.usage.prompt_tokens_details.cached_tokens };
    };
    await ask(longText(1000, "warm-up "), "warm up"); // tokenizer and JIT warm-up, another prefix
    const hits0 = metric(await scrape(sim.url), "vllm:prefix_cache_hits_total") ?? 0;
    const first = await ask(system, "first question");
    assert.equal(first.cached, 0);
    const later = [];
    for (const q of ["second question", "third question", "fourth question"])
      later.push(await ask(system, q));
    const hits = (metric(await scrape(sim.url), "vllm:prefix_cache_hits_total") ?? 0) - hits0;
    for (const l of later) assert.ok(l.cached >= 960, `later requests reuse the prefix (cached ${l.cached})`);
    assert.ok(hits >= 3 * 960, `prefix_cache_hits_total rose by ${hits}`);
    const median = later.map((l) => l.ttft).sort((a, b) => a - b)[1] ?? Number.POSITIVE_INFINITY;
    t.diagnostic(
      `TTFT first ${first.ttft.toFixed(1)} ms, later ${later.map((l) => l.ttft.toFixed(1)).join(", ")} ms`,
    );
    assert.ok(
      median < 0.6 * first.ttft,
      `TTFT with a cached prefix (${median.toFixed(1)} ms) should be well below the first (${first.ttft.toFixed(1)} ms)`,
    );
  });
});
