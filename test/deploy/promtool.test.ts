// Alerts and dashboards against the real Prometheus tooling: `promtool check rules` on every
// environment's PrometheusRule, `promtool test rules` with one unit test per alert (synthetic
// series that must fire it, with its exact labels and annotations), every dashboard shaped as
// Grafana imports it, and every PromQL expression (dashboards, KEDA queries, adapter rules)
// parsed by Prometheus' own parser.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it, type TestContext } from "node:test";
import { parse } from "yaml";
import { checkDashboard, concreteExpr } from "../../src/deploy/checks.js";
import { alertDefs, promtoolTests, ruleGroups } from "../../src/deploy/monitoring.js";
import type { K8sObject } from "../../src/deploy/types.js";
import { toYaml } from "../../src/deploy/yaml.js";
import { promtool, requireService } from "../services/index.js";
import { exampleWith, render, renderExample } from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: tests walk arbitrary manifests
type Plain = Record<string, any>;

const dir = mkdtempSync(join(tmpdir(), "inferplane-promtool-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function tool(t: TestContext, args: string[]) {
  // promtool is a one-shot binary; requireService installs it (or skips/fails as CI says).
  const ok = await requireService(t, "promtool", async () => {
    const r = await promtool(["--version"]);
    if (r.code !== 0) throw new Error(r.stderr);
    return { r };
  });
  if (!ok) return undefined;
  return promtool(args);
}

/** Expressions checked by writing them as recording rules: promtool parses each with Prometheus' parser. */
function exprRules(exprs: readonly string[]): string {
  return toYaml({
    groups: [{ name: "exprs", rules: exprs.map((expr, i) => ({ record: `inferplane:expr_${i}`, expr })) }],
  });
}

describe("alerts: promtool", () => {
  const r = renderExample();
  for (const env of [r.base, ...r.environments]) {
    it(`${env.name}: check rules passes and each alert's unit test fires it`, async (t) => {
      const rule = env.objects.find((o) => o.object.kind === "PrometheusRule")?.object as K8sObject & Plain;
      const defs = alertDefs(env.platform);
      assert.deepEqual(
        rule.spec.groups,
        ruleGroups(defs),
        "the PrometheusRule holds exactly the tested alerts",
      );
      const alerts = rule.spec.groups.flatMap((g: Plain) => g.rules.map((x: Plain) => x.alert));
      assert.ok(alerts.length >= 12, `${alerts.length} alerts`);
      assert.equal(new Set(alerts).size, alerts.length);
      const rules = join(dir, `${env.name}-rules.yaml`);
      const tests = join(dir, `${env.name}-tests.yaml`);
      writeFileSync(rules, toYaml({ groups: rule.spec.groups }));
      writeFileSync(tests, promtoolTests(defs, rules));
      const check = await tool(t, ["check", "rules", rules]);
      if (!check) return;
      assert.equal(check.code, 0, check.stdout + check.stderr);
      assert.match(check.stdout, new RegExp(`SUCCESS: ${alerts.length} rules found`));
      const test = await tool(t, ["test", "rules", tests]);
      assert.equal(test?.code, 0, `${test?.stdout}${test?.stderr}`);
      const unitTests = parse(readFileSync(tests, "utf8")).tests as Plain[];
      assert.deepEqual(
        unitTests.map((u) => u.alert_rule_test[0].alertname).sort(),
        [...alerts].sort(),
        "one unit test per alert",
      );
    });
  }

  it("the unit tests bite: an alert whose threshold can no longer be reached fails its test", async (t) => {
    const defs = alertDefs(renderExample().base.platform);
    const broken = defs.map((d) =>
      d.alert === "InferplaneEngineKVCacheFull" ? { ...d, expr: d.expr.replace(/> 0\.9$/, "> 1") } : d,
    );
    assert.notDeepEqual(broken, defs);
    const rules = join(dir, "broken-rules.yaml");
    const tests = join(dir, "broken-tests.yaml");
    writeFileSync(rules, toYaml({ groups: ruleGroups(broken) }));
    writeFileSync(tests, promtoolTests(defs, rules));
    const res = await tool(t, ["test", "rules", tests]);
    if (!res) return;
    assert.equal(res.code, 1);
    assert.match(res.stdout + res.stderr, /InferplaneEngineKVCacheFull/);
  });
});

describe("dashboards and PromQL", () => {
  const r = renderExample();
  const dashboards = r.base.objects
    .filter((o) => o.object.kind === "ConfigMap" && o.object.metadata.labels?.grafana_dashboard === "1")
    .map((o) => o.object as K8sObject & Plain);

  it("gateway, engines and RAG dashboards are ConfigMaps the Grafana sidecar loads, shaped as Grafana imports them", () => {
    assert.deepEqual(dashboards.map((d) => d.metadata.name).sort(), [
      "inferplane-dashboard-engines",
      "inferplane-dashboard-gateway",
      "inferplane-dashboard-rag",
    ]);
    for (const d of dashboards) {
      const [key, text] = Object.entries(d.data as Record<string, string>)[0] ?? [];
      assert.match(key ?? "", /\.json$/);
      const json = JSON.parse(text ?? "");
      assert.deepEqual(checkDashboard(json), [], d.metadata.name);
    }
    // The check itself rejects what Grafana would: a repeated panel id, an unknown variable.
    const bad = JSON.parse(Object.values(dashboards[0]?.data ?? {})[0] as string);
    bad.panels[1].id = bad.panels[0].id;
    bad.panels[0].targets[0].expr += " + $nope";
    assert.equal(checkDashboard(bad).length, 2);
  });

  it("every dashboard, KEDA and prometheus-adapter expression parses as PromQL", async (t) => {
    const exprs: string[] = [];
    for (const d of dashboards) {
      const json = JSON.parse(Object.values(d.data as Record<string, string>)[0] ?? "{}");
      for (const p of json.panels)
        for (const target of p.targets) exprs.push(concreteExpr(target.expr, "ai-inference"));
    }
    assert.ok(exprs.length >= 20, `${exprs.length} expressions`);
    for (const e of [r.base, ...r.environments]) {
      for (const o of e.objects)
        if (o.object.kind === "ScaledObject") exprs.push((o.object as Plain).spec.triggers[0].metadata.query);
    }
    const adapter = render(exampleWith("      via: keda", "      via: prometheus-adapter"));
    const cm = adapter.base.objects.find((o) => o.object.metadata.name === "prometheus-adapter-rules")
      ?.object as Plain;
    const adapterRules = parse(cm.data["config.yaml"]).rules as Plain[];
    for (const a of adapterRules) {
      exprs.push(a.seriesQuery);
      exprs.push(
        a.metricsQuery
          .replace("<<.LabelMatchers>>", 'namespace="ai-inference",pod="p"')
          .replace("<<.GroupBy>>", "pod"),
      );
    }
    const file = join(dir, "exprs.yaml");
    writeFileSync(file, exprRules(exprs));
    const res = await tool(t, ["check", "rules", file]);
    if (!res) return;
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, new RegExp(`SUCCESS: ${exprs.length} rules found`));
    // And the parser does reject a broken expression.
    writeFileSync(file, exprRules(["sum(rate(vllm:num_requests_waiting[5m])"]));
    const bad = await tool(t, ["check", "rules", file]);
    assert.equal(bad?.code, 1);
  });
});
