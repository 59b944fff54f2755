// The guide's remaining alerts and the GPU alerts against the real promtool: each alert's
// firing series fire exactly it (labels and annotations), and each alert's quiet series leave
// it silent; thresholds come from the spec (max_num_seqs per model, seconds vs Milvus' ms).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it, type TestContext } from "node:test";
import { gpuAlertDefs } from "../../src/deploy/gpu-observability.js";
import {
  type AlertDef,
  alertDefs,
  promtoolQuietTests,
  promtoolTests,
  ruleGroups,
} from "../../src/deploy/monitoring.js";
import type { K8sObject } from "../../src/deploy/types.js";
import { toYaml } from "../../src/deploy/yaml.js";
import { promtool, requireService } from "../services/index.js";
import { exampleWith, render, renderExample } from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: tests walk arbitrary manifests
type Plain = Record<string, any>;

const dir = mkdtempSync(join(tmpdir(), "inferplane-alerts-guide-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const GUIDE_ALERTS = [
  "InferplaneEngineE2ELatencyHigh",
  "InferplaneEngineRunningSeqsHigh",
  "InferplaneEngineGenerationThroughputLow",
];
const GPU_ALERTS = [
  "InferplaneGpuTemperatureHigh",
  "InferplaneGpuMemoryFull",
  "InferplaneGpuXidError",
  "InferplaneGpuMetricsMissing",
];

async function tool(t: TestContext, args: string[]) {
  const ok = await requireService(t, "promtool", async () => {
    const r = await promtool(["--version"]);
    if (r.code !== 0) throw new Error(r.stderr);
    return { r };
  });
  if (!ok) return undefined;
  return promtool(args);
}

/** promtool check + firing tests + quiet tests of a rule set; returns promtool's results. */
async function runAlertTests(
  t: TestContext,
  name: string,
  defs: readonly AlertDef[],
  groups = ruleGroups(defs),
) {
  const rules = join(dir, `${name}-rules.yaml`);
  const fire = join(dir, `${name}-fire.yaml`);
  const quiet = join(dir, `${name}-quiet.yaml`);
  writeFileSync(rules, toYaml({ groups }));
  writeFileSync(fire, promtoolTests(defs, rules));
  writeFileSync(quiet, promtoolQuietTests(defs, rules));
  const check = await tool(t, ["check", "rules", rules]);
  if (!check) return undefined;
  return {
    check,
    fire: await promtool(["test", "rules", fire]),
    quiet: await promtool(["test", "rules", quiet]),
  };
}

describe("the guide's alerts", () => {
  const r = renderExample();
  const production = r.environments.find((e) => e.name === "production");

  it("every environment renders them, each with a firing and a quiet case, on real metric names", () => {
    for (const env of [r.base, ...r.environments]) {
      const defs = alertDefs(env.platform);
      for (const name of GUIDE_ALERTS) {
        const d = defs.find((x) => x.alert === name);
        assert.ok(d, `${env.name}: ${name}`);
        assert.ok((d.test.quiet ?? []).length > 0, `${name} has a quiet case`);
      }
    }
    const defs = alertDefs(r.base.platform);
    const byName = (n: string) => defs.find((d) => d.alert === n)?.expr ?? "";
    // vLLM v1 names (REFERENCE): histogram _bucket, counter _total, running gauge.
    assert.match(byName("InferplaneEngineE2ELatencyHigh"), /vllm:e2e_request_latency_seconds_bucket/);
    assert.match(byName("InferplaneEngineE2ELatencyHigh"), /\) > 10$/);
    assert.match(byName("InferplaneEngineGenerationThroughputLow"), /rate\(vllm:generation_tokens_total\{/);
    assert.match(byName("InferplaneEngineGenerationThroughputLow"), / < 100 and on /);
    // One branch per model at 80% of its own max_num_seqs.
    const running = byName("InferplaneEngineRunningSeqsHigh");
    const chat = r.base.platform.models.filter((m) => m.engine === "vllm");
    for (const m of chat)
      assert.ok(running.includes(`> ${+(0.8 * m.maxNumSeqs).toFixed(3)})`), `${m.name}: ${running}`);
    assert.match(running, /vllm:num_requests_running\{/);
  });

  it("Milvus search latency alerts where Milvus runs in the cluster, in milliseconds", () => {
    assert.ok(production);
    const milvus = alertDefs(production.platform).find(
      (d) => d.alert === "InferplaneMilvusSearchLatencyHigh",
    );
    assert.ok(milvus);
    assert.match(milvus.expr, /milvus_proxy_sq_latency_bucket\{namespace="ai-rag",query_type="search"\}/);
    assert.match(milvus.expr, /> 2000$/, "2 s objective as Milvus' milliseconds");
    assert.equal(
      alertDefs(r.base.platform).find((d) => d.alert === "InferplaneMilvusSearchLatencyHigh"),
      undefined,
      "no Milvus in the base spec (SQLite stores)",
    );
    const slower = render(exampleWith("    ttftP99: 2s", "    ttftP99: 2s\n    milvusSearchP99: 500ms"));
    const prod = slower.environments.find((e) => e.name === "production");
    const d = alertDefs(prod?.platform as never).find((x) => x.alert === "InferplaneMilvusSearchLatencyHigh");
    assert.match(d?.expr ?? "", /> 500$/);
  });

  for (const env of [renderExample().base, ...renderExample().environments]) {
    it(`${env.name}: promtool fires each new alert on its firing series and stays silent on its quiet ones`, async (t) => {
      const rule = env.objects.find((o) => o.object.kind === "PrometheusRule")?.object as K8sObject & Plain;
      const defs = alertDefs(env.platform);
      const res = await runAlertTests(t, env.name, defs, rule.spec.groups);
      if (!res) return;
      assert.equal(res.check.code, 0, res.check.stdout + res.check.stderr);
      assert.equal(res.fire.code, 0, res.fire.stdout + res.fire.stderr);
      assert.equal(res.quiet.code, 0, res.quiet.stdout + res.quiet.stderr);
    });
  }

  it("the quiet cases bite: a threshold that always holds fires on them and fails promtool", async (t) => {
    const prod = renderExample().environments.find((e) => e.name === "production");
    assert.ok(prod);
    const defs = alertDefs(prod.platform).filter((d) =>
      [...GUIDE_ALERTS, "InferplaneMilvusSearchLatencyHigh"].includes(d.alert),
    );
    assert.equal(defs.length, 4);
    for (const d of defs) {
      // Threshold loosened until it always holds: the rule now fires on the quiet series too.
      const loosen = (expr: string) =>
        expr.replace(/> [0-9.]+(\)?)(?= or |$)/g, "> 0$1").replace(/< [0-9.]+ and/, "< 1e9 and");
      const broken = defs.map((x) => (x.alert === d.alert ? { ...x, expr: loosen(x.expr) } : x));
      assert.notEqual(broken.find((x) => x.alert === d.alert)?.expr, d.expr, d.alert);
      const res = await runAlertTests(t, `broken-${d.alert}`, defs, ruleGroups(broken));
      if (!res) return;
      assert.equal(res.quiet.code, 1, `${d.alert}: ${res.quiet.stdout}`);
      assert.match(res.quiet.stdout + res.quiet.stderr, new RegExp(d.alert));
    }
  });
});

describe("GPU alerts (DCGM exporter)", () => {
  const r = renderExample();
  const gpuRule = r.objects.find(
    (o) => o.file.startsWith("cluster/gpu-operator/") && o.object.kind === "PrometheusRule",
  );

  it("one PrometheusRule per cluster beside the GPU Operator, on dcgm-exporter's metric names", () => {
    assert.ok(gpuRule, "cluster/gpu-operator PrometheusRule");
    assert.equal(gpuRule.object.metadata.namespace, "gpu-operator");
    const rules = (gpuRule.object as Plain).spec.groups.flatMap((g: Plain) => g.rules);
    assert.deepEqual(rules.map((x: Plain) => x.alert).sort(), [...GPU_ALERTS].sort());
    const text = JSON.stringify(rules);
    for (const m of [
      "DCGM_FI_DEV_GPU_TEMP",
      "DCGM_FI_DEV_FB_USED",
      "DCGM_FI_DEV_FB_FREE",
      "DCGM_FI_DEV_XID_ERRORS",
      "DCGM_FI_DEV_GPU_UTIL",
    ])
      assert.ok(text.includes(m), m);
    // None without GPUs, and none when switched off.
    const off = render(exampleWith("observability:\n", "observability:\n  gpu:\n    enabled: false\n"));
    assert.equal(
      off.objects.filter(
        (o) => o.file.startsWith("cluster/gpu-operator/") && o.object.kind === "PrometheusRule",
      ).length,
      0,
    );
  });

  it("promtool: each GPU alert fires on its series and stays silent on its quiet ones", async (t) => {
    const defs = gpuAlertDefs(r.base.platform);
    assert.ok(gpuRule);
    assert.deepEqual((gpuRule.object as Plain).spec.groups, ruleGroups(defs));
    const res = await runAlertTests(t, "gpus", defs);
    if (!res) return;
    assert.equal(res.check.code, 0, res.check.stdout + res.check.stderr);
    assert.match(res.check.stdout, new RegExp(`SUCCESS: ${GPU_ALERTS.length} rules found`));
    assert.equal(res.fire.code, 0, res.fire.stdout + res.fire.stderr);
    assert.equal(res.quiet.code, 0, res.quiet.stdout + res.quiet.stderr);
    // A temperature threshold above the firing series: its firing test fails.
    const cool = defs.map((d) =>
      d.alert === "InferplaneGpuTemperatureHigh" ? { ...d, expr: d.expr.replace(/> \d+$/, "> 200") } : d,
    );
    const broken = await runAlertTests(t, "gpus-broken", defs, ruleGroups(cool));
    assert.equal(broken?.fire.code, 1);
  });
});
