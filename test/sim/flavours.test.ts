// Engine flavours: every path and metric the catalog lists is served; promtool accepts each exposition.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ApiKind, engineInfo, knownMetricNames, metricNames } from "../../src/catalog/engines.js";
import { flavour, SIM_ENGINES } from "../../src/sim/flavours.js";
import { type SimServerHandle, startSimServer } from "../../src/sim/server.js";
import { requireService } from "../services/harness.js";
import { promtool } from "../services/prometheus.js";
import { metric, post, scrape, sseData } from "./server-helpers.js";

/** A minimal valid request for each API kind. */
function requestFor(kind: ApiKind, model: string): { method: "GET" | "POST"; body?: unknown } {
  switch (kind) {
    case "models":
    case "info":
    case "version":
      return { method: "GET" };
    case "chatCompletions":
    case "nativeChat":
      return {
        method: "POST",
        body: { model, messages: [{ role: "user", content: "hi" }], max_tokens: 3, stream: false },
      };
    case "completions":
      return { method: "POST", body: { model, prompt: "hi", max_tokens: 3 } };
    case "generate":
    case "generateStream":
      return {
        method: "POST",
        body: {
          model,
          inputs: "hi",
          prompt: "hi",
          text_input: "hi",
          max_tokens: 3,
          parameters: { max_new_tokens: 3 },
          stream: false,
        },
      };
    case "embeddings":
    case "nativeEmbed":
      return { method: "POST", body: { model, input: "hi" } };
    case "rerank":
      return { method: "POST", body: { model, query: "hi", documents: ["hi there", "bye"] } };
    case "score":
      return { method: "POST", body: { model, text_1: "hi", text_2: ["hi there"] } };
    case "tokenize":
      return { method: "POST", body: { model, prompt: "hi" } };
  }
}

async function withSim<T>(
  opts: Parameters<typeof startSimServer>[0],
  fn: (sim: SimServerHandle) => Promise<T>,
): Promise<T> {
  const sim = await startSimServer({ speed: 50, ...opts });
  try {
    return await fn(sim);
  } finally {
    await sim.stop();
  }
}

/** Problems promtool 2.42's linter reports for names the engines themselves expose (catalog names). */
const ENGINE_NAMING_LINT = [
  "metric names should not contain ':'", // vLLM's colon names (prometheus_client allows them)
  'counter metrics should have "_total" suffix', // TGI and Triton counters
  'non-histogram and non-summary metrics should not have "_count" suffix', // tgi_request_count, nv_inference_pending_request_count
  "metric names should not contain abbreviated units", // nv_inference_queue_duration_us
];

describe("sim flavours", () => {
  it("resolve paths and metric names from the catalog, per version", () => {
    for (const engine of SIM_ENGINES) {
      const f = flavour(engine);
      const info = engineInfo(engine);
      assert.equal(f.metricsPath, info.metricsPath);
      assert.equal(f.openai.chat, info.api.chatCompletions ?? null);
      assert.deepEqual(f.metrics, metricNames(engine, info.version));
    }
    assert.deepEqual(flavour("vllm", "0.8").metrics.kvCacheUsage?.exposed, [
      { name: "vllm:gpu_cache_usage_perc" },
    ]);
    assert.deepEqual(flavour("vllm").metrics.kvCacheUsage?.exposed, [{ name: "vllm:kv_cache_usage_perc" }]);
    assert.throws(() => flavour("sglang"), /unknown engine/);
    assert.throws(() => flavour("vllm", "latest-and-greatest"), /not a version/);
  });

  for (const engine of SIM_ENGINES) {
    it(`${engine}: every catalog path answers; health and metrics paths as the catalog says`, async () => {
      await withSim({ model: "llama-3.1-8b", engine }, async (sim) => {
        const info = engineInfo(engine);
        const model = sim.servedModelName;
        for (const [kind, path] of Object.entries(info.api) as [ApiKind, string][]) {
          const { method, body } = requestFor(kind, model);
          const url = `${sim.url}${path.replace("{model}", encodeURIComponent(model))}`;
          const res = method === "GET" ? await fetch(url) : await post(url, body);
          const text = await res.text();
          assert.equal(res.status, 200, `${engine} ${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
        }
        for (const path of [info.healthPath, info.readinessPath]) {
          if (path === null) continue;
          const res = await fetch(`${sim.url}${path}`);
          await res.arrayBuffer();
          assert.equal(res.status, 200, `${engine} health ${path}`);
        }
        const metrics = await fetch(`${sim.url}/metrics`);
        const text = await metrics.text();
        if (info.metricsPath === null) {
          assert.equal(metrics.status, 404, `${engine} has no /metrics`);
          return;
        }
        assert.equal(metrics.status, 200);
        // Every series the catalog says this version exposes is there (LoRA info only with LoRA).
        for (const [key, resolved] of Object.entries(metricNames(engine, info.version))) {
          if (key === "loraInfo") continue;
          for (const s of resolved.exposed) assert.match(text, new RegExp(`^# TYPE ${s.name} `, "m"), s.name);
        }
        // And nothing the catalog does not know for this engine.
        const known = new Set(knownMetricNames(engine));
        for (const m of text.matchAll(/^# TYPE (\S+) /gm))
          assert.ok(known.has(m[1] ?? ""), `unknown metric ${m[1]}`);
      });
    });
  }

  it("promtool check metrics accepts every flavour's exposition (only the engines' own naming is linted)", async (t) => {
    const version = await requireService(t, "promtool", () => promtool(["--version"]));
    if (!version) return;
    const cases = [
      { engine: "vllm", engineVersion: undefined },
      { engine: "vllm", engineVersion: "0.8" },
      { engine: "vllm", engineVersion: "0.10.2" }, // rename window: old and new names side by side
      { engine: "tgi", engineVersion: undefined },
      { engine: "triton", engineVersion: undefined },
    ];
    for (const c of cases) {
      await withSim({ model: "llama-3.1-8b", ...c }, async (sim) => {
        const path = sim.flavour.openai.chat ?? "/v1/chat/completions";
        const r = await post(`${sim.url}${path}`, {
          model: sim.servedModelName,
          messages: [{ role: "user", content: "hi" }],
          max_tokens: 4,
        });
        assert.equal(r.status, 200);
        await r.arrayBuffer();
        const text = await scrape(sim.url);
        const res = await promtool(["check", "metrics"], { stdin: text });
        const label = `${c.engine} ${c.engineVersion ?? "default"}`;
        // 0 = clean, 3 = lint problems only; 1 would be a parse error.
        assert.ok(
          res.code === 0 || res.code === 3,
          `${label}: promtool exit ${res.code}\n${res.stdout}${res.stderr}`,
        );
        const known = new Set(knownMetricNames(c.engine as "vllm"));
        const problems = `${res.stdout}\n${res.stderr}`.split("\n").filter((l) => l.trim() !== "");
        for (const line of problems) {
          const [name, ...rest] = line.split(" ");
          const message = rest.join(" ");
          assert.ok(known.has(name ?? ""), `${label}: lint on a name the catalog does not have: ${line}`);
          assert.ok(ENGINE_NAMING_LINT.includes(message), `${label}: unexpected lint problem: ${line}`);
        }
      });
    }
  });

  it("tgi: /generate, /generate_stream and tgi_* load metrics", async () => {
    await withSim({ model: "llama-3.1-8b", engine: "tgi", outputLenMean: 6 }, async (sim) => {
      const gen = await post(`${sim.url}/generate`, {
        inputs: "What is Deep Learning?",
        parameters: { max_new_tokens: 8, details: true },
      });
      assert.equal(gen.status, 200);
      const body = (await gen.json()) as {
        generated_text: string;
        details: { generated_tokens: number; finish_reason: string };
      };
      assert.ok(body.generated_text.length > 0);
      assert.ok(body.details.generated_tokens >= 1 && body.details.generated_tokens <= 8);
      assert.ok(["length", "eos_token"].includes(body.details.finish_reason));

      const stream = await post(`${sim.url}/generate_stream`, {
        inputs: "hi",
        parameters: { max_new_tokens: 5, ignore_eos: true },
      });
      assert.match(stream.headers.get("content-type") ?? "", /text\/event-stream/);
      const events = sseData(await stream.text()).map(
        (d) => JSON.parse(d) as { token: { text: string }; generated_text: string | null },
      );
      assert.equal(events.length, 5);
      assert.equal(events.at(-1)?.generated_text, events.map((e) => e.token.text).join(""));

      const text = await scrape(sim.url);
      assert.equal(metric(text, "tgi_request_count"), 2);
      assert.equal(metric(text, "tgi_request_success"), 2);
      assert.equal(metric(text, "tgi_queue_size"), 0);
      assert.equal(metric(text, "tgi_batch_current_size"), 0);
      assert.equal(metric(text, "tgi_request_generated_tokens_count"), 2);
      assert.doesNotMatch(text, /vllm:/);
    });
  });

  it("ollama: no /metrics, /api/tags, /api/version, native chat (NDJSON) and /v1", async () => {
    await withSim({ model: "qwen2.5-7b", engine: "ollama", servedModelName: "qwen2.5:7b" }, async (sim) => {
      assert.equal((await fetch(`${sim.url}/metrics`)).status, 404);
      const root = await fetch(`${sim.url}/`);
      assert.equal(await root.text(), "Ollama is running");
      const tags = (await (await fetch(`${sim.url}/api/tags`)).json()) as { models: { name: string }[] };
      assert.deepEqual(
        tags.models.map((m) => m.name),
        ["qwen2.5:7b"],
      );
      const version = (await (await fetch(`${sim.url}/api/version`)).json()) as { version: string };
      assert.equal(version.version, engineInfo("ollama").version);

      const chat = await post(`${sim.url}/api/chat`, {
        model: "qwen2.5:7b",
        messages: [{ role: "user", content: "hi" }],
        options: { num_predict: 4 },
      });
      assert.match(chat.headers.get("content-type") ?? "", /application\/x-ndjson/);
      const lines = (await chat.text())
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { done: boolean; message: { content: string }; eval_count?: number });
      const last = lines.at(-1);
      assert.equal(last?.done, true);
      assert.equal(last?.eval_count, lines.length - 1);
      assert.ok(lines.slice(0, -1).every((l) => !l.done && l.message.content.length > 0));

      const missing = await post(`${sim.url}/api/chat`, {
        model: "llama3:70b",
        messages: [{ role: "user", content: "x" }],
      });
      assert.equal(missing.status, 404);
      assert.match(((await missing.json()) as { error: string }).error, /not found/);
      const v1 = await post(`${sim.url}/v1/chat/completions`, {
        model: "qwen2.5:7b",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 3,
      });
      assert.equal(v1.status, 200);
    });
  });

  it("triton: /v2/health/ready, generate and nv_* metrics", async () => {
    await withSim({ model: "llama-3.1-8b", engine: "triton", servedModelName: "ensemble" }, async (sim) => {
      assert.equal((await fetch(`${sim.url}/v2/health/ready`)).status, 200);
      const gen = await post(`${sim.url}/v2/models/ensemble/generate`, { text_input: "hi", max_tokens: 4 });
      assert.equal(gen.status, 200);
      const body = (await gen.json()) as { model_name: string; text_output: string };
      assert.equal(body.model_name, "ensemble");
      assert.ok(body.text_output.length > 0);
      const unknown = await post(`${sim.url}/v2/models/other/generate`, { text_input: "hi" });
      assert.equal(unknown.status, 404);
      const text = await scrape(sim.url);
      assert.equal(metric(text, "nv_inference_request_success", { model: "ensemble" }), 1);
      assert.equal(metric(text, "nv_trt_llm_request_metrics", { request_type: "waiting" }), 0);
      const fraction = metric(text, "nv_trt_llm_kv_cache_block_metrics", { kv_cache_block_type: "fraction" });
      assert.ok(fraction !== undefined && fraction >= 0 && fraction <= 1);
      assert.equal(
        metric(text, "nv_trt_llm_kv_cache_block_metrics", { kv_cache_block_type: "max" }),
        sim.config.numGpuBlocks,
      );
    });
  });
});
