// The gateway's and the simulator's /metrics as a real Prometheus sees them: after a load of
// streamed requests with known simulated latencies, rate() of the request counter matches the
// rate the client measured and histogram_quantile() of time to first token lands where the
// simulator's latencies put it. promtool lints every exposition.
import assert from "node:assert/strict";
import { it } from "node:test";
import { knownMetricNames } from "../../src/catalog/engines.js";
import { startGateway } from "../../src/gateway/server.js";
import { startSimFleet } from "../../src/sim/server.js";
import { parseSpec } from "../../src/spec/load.js";
import { promtool, requireService, startPrometheus, waitFor } from "../services/index.js";

// Constant-latency replicas: first token after 60 ms, then one every 4 ms.
const TTFT_MS = 60;
const ITL_MS = 4;
const MAX_TOKENS = 8;
const CONCURRENCY = 6;

/** Names promtool's linter flags in the engines' own exposition (see test/sim/flavours.test.ts). */
const ENGINE_NAMING_LINT = [
  "metric names should not contain ':'",
  'counter metrics should have "_total" suffix',
  'non-histogram and non-summary metrics should not have "_count" suffix',
  "metric names should not contain abbreviated units",
];

async function stream(url: string): Promise<void> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "chat",
      messages: [{ role: "user", content: "hello" }],
      max_tokens: MAX_TOKENS,
      ignore_eos: true,
      stream: true,
    }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.ok(text.includes("[DONE]"));
}

const value = (samples: { value: [number, string] }[]) => Number(samples[0]?.value[1] ?? Number.NaN);

it("a real Prometheus reads the request rate and TTFT quantiles the load produced; promtool lints clean", async (t) => {
  const fleet = await startSimFleet({
    model: "llama-3.1-8b",
    replicas: 2,
    constantLatency: { ttftMs: TTFT_MS, itlMs: ITL_MS },
  });
  t.after(() => fleet.stop());
  const { platform } = parseSpec(`apiVersion: inferplane.dev/v1
kind: Platform
metadata: {name: t}
models:
  - name: llama
    source: hf://meta-llama/Llama-3.1-8B-Instruct
    servedModelName: ${fleet.replicas[0]?.servedModelName}
    endpoints: ${JSON.stringify(fleet.urls)}
routes:
  - {name: chat, targets: [{model: llama}]}
`);
  const gw = await startGateway(platform, { host: "127.0.0.1", port: 0, log: () => {}, env: {} });
  t.after(() => gw.close());
  const hostPort = (u: string) => new URL(u).host;
  const prom = await requireService(t, "prometheus", () =>
    startPrometheus({
      scrapeTargets: [
        { job: "gateway", targets: [hostPort(gw.url)] },
        { job: "sim", targets: fleet.urls.map(hostPort) },
      ],
      scrapeInterval: "1s",
    }),
  );
  if (!prom) return;
  // Both jobs up before the load starts, so rate() sees the counter from zero.
  await waitFor(async () => (value(await prom.query("sum(up)")) === 3 ? true : undefined), {
    timeoutMs: 30_000,
    what: "Prometheus to scrape the gateway and both replicas",
  });

  // Closed-loop load for 7 s; the client counts what completed in the last 5 s.
  const started = performance.now();
  const done: number[] = [];
  let stop = false;
  const workers = Array.from({ length: CONCURRENCY }, async () => {
    while (!stop) {
      await stream(gw.url);
      done.push(performance.now());
    }
  });
  await new Promise((r) => setTimeout(r, 7_000));
  // Let two more scrapes land while the load still runs, then read the last 5 s.
  const tEnd = performance.now();
  const clientRate = done.filter((x) => x > tEnd - 5_000).length / 5;
  const rate = await prom.query('sum(rate(inferplane_gateway_requests_total{job="gateway",code="200"}[5s]))');
  stop = true;
  await Promise.all(workers);
  const elapsed = (performance.now() - started) / 1000;
  t.diagnostic(
    `client: ${done.length} requests in ${elapsed.toFixed(1)} s, ${clientRate.toFixed(1)}/s over the last 5 s`,
  );
  t.diagnostic(`prometheus rate(): ${value(rate).toFixed(1)}/s`);
  // Each request takes about TTFT + (MAX_TOKENS-1)·ITL ≈ 90 ms: CONCURRENCY / 0.09 s ≈ 65/s at most.
  const ideal = CONCURRENCY / ((TTFT_MS + (MAX_TOKENS - 1) * ITL_MS) / 1000);
  assert.ok(
    clientRate > ideal / 4 && clientRate <= ideal * 1.1,
    `client rate ${clientRate} vs ideal ${ideal}`,
  );
  assert.ok(
    value(rate) > clientRate / 2 && value(rate) < clientRate * 2,
    `rate() ${value(rate)}/s against ${clientRate}/s measured by the client`,
  );

  // Quantiles over the whole run (a 30 s window covers it).
  const q = async (quantile: number, metric: string, job: string) =>
    value(
      await prom.query(
        `histogram_quantile(${quantile}, sum by (le) (rate(${metric}_bucket{job="${job}"}[30s])))`,
      ),
    );
  const ttftP50 = await q(0.5, "gen_ai_server_time_to_first_token_seconds", "gateway");
  const ttftP99 = await q(0.99, "gen_ai_server_time_to_first_token_seconds", "gateway");
  const simTtftP50 = await q(0.5, "vllm:time_to_first_token_seconds", "sim");
  const tpotP50 = await q(0.5, "gen_ai_server_time_per_output_token_seconds", "gateway");
  const durP50 = await q(0.5, "gen_ai_server_request_duration_seconds", "gateway");
  t.diagnostic(
    `TTFT p50 ${ttftP50} s, p99 ${ttftP99} s (simulator's own p50 ${simTtftP50} s); ITL p50 ${tpotP50} s; duration p50 ${durP50} s`,
  );
  // 60 ms at the engine: the gateway's TTFT p50 is that order (a loaded CI machine adds tens of
  // ms of event-loop delay, never a factor of ten), and close to what the engine itself reports.
  assert.ok(ttftP50 >= 0.04 && ttftP50 <= 0.2, `TTFT p50 ${ttftP50}`);
  assert.ok(ttftP99 >= ttftP50 && ttftP99 <= 0.5, `TTFT p99 ${ttftP99}`);
  assert.ok(
    Math.abs(ttftP50 - simTtftP50) < 0.06,
    `gateway TTFT ${ttftP50} vs the simulator's ${simTtftP50}`,
  );
  // 4 ms between tokens: in the first ITL buckets (10 and 25 ms), not the 100 ms range.
  assert.ok(tpotP50 > 0 && tpotP50 <= 0.025, `ITL p50 ${tpotP50}`);
  // TTFT + 7 × ITL ≈ 88 ms per request.
  assert.ok(durP50 >= 0.08 && durP50 <= 0.32, `duration p50 ${durP50}`);
  const tokens = await prom.query(
    'sum by (gen_ai_token_type) (increase(gen_ai_client_token_usage_sum{job="gateway"}[30s]))',
  );
  const output = tokens.find((s) => s.metric.gen_ai_token_type === "output");
  assert.ok(output && Number(output.value[1]) > 0, "output tokens counted");

  // promtool: the gateway's exposition is clean; the simulator's has only the engine's own names flagged.
  const gatewayText = await (await fetch(`${gw.url}/metrics`)).text();
  const lint = await promtool(["check", "metrics"], { stdin: gatewayText });
  assert.equal(lint.code, 0, `promtool on the gateway's /metrics:\n${lint.stdout}${lint.stderr}`);
  for (const name of [
    "inferplane_gateway_requests_total",
    "gen_ai_server_time_to_first_token_seconds",
    "gen_ai_server_time_per_output_token_seconds",
    "gen_ai_server_request_duration_seconds",
    "gen_ai_client_token_usage",
    "inferplane_gateway_overhead_seconds",
    "inferplane_gateway_balancer_picks_total",
    "inferplane_gateway_endpoint_in_flight",
    "nodejs_eventloop_lag_seconds",
    "nodejs_heap_size_used_bytes",
    "nodejs_gc_duration_seconds",
  ])
    assert.match(gatewayText, new RegExp(`^# TYPE ${name} `, "m"), name);
  const simText = await (await fetch(`${fleet.urls[0]}/metrics`)).text();
  const simLint = await promtool(["check", "metrics"], { stdin: simText });
  assert.ok(simLint.code === 0 || simLint.code === 3, `promtool exit ${simLint.code}: ${simLint.stderr}`);
  const known = new Set(knownMetricNames("vllm"));
  for (const line of `${simLint.stdout}\n${simLint.stderr}`.split("\n").filter((l) => l.trim() !== "")) {
    const [name, ...rest] = line.split(" ");
    assert.ok(known.has(name ?? ""), `lint on a name that is not the engine's own: ${line}`);
    assert.ok(
      ENGINE_NAMING_LINT.some((m) => rest.join(" ").includes(m)),
      `unexpected lint problem: ${line}`,
    );
  }
});
