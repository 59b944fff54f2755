// Every rendered Grafana dashboard (the sidecar ConfigMaps of each environment and of the GPU
// Operator, and the compose files) decoded strictly by the dashboard, panel and query types
// Grafana publishes in its Foundation SDK (test/services/grafana-dashboard-check): no unknown
// field, no wrong type, every required panel option present. Grafana itself cannot run here.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it, type TestContext } from "node:test";
import { ensureBinary, requireService, run } from "../services/index.js";
import { renderExample } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "inferplane-dashboards-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function checker(t: TestContext) {
  return requireService(t, "grafana-dashboard-check", async () => ({
    bin: await ensureBinary("grafana-dashboard-check", "grafana-dashboard-check"),
  }));
}

/** Every dashboard JSON the render writes, by a name that says where it came from. */
function renderedDashboards(): Map<string, string> {
  const r = renderExample();
  const out = new Map<string, string>();
  const placed = [
    ...r.objects,
    ...r.environments.flatMap((e) =>
      e.objects.map((o) => ({ file: `${e.name}/${o.file}`, object: o.object })),
    ),
  ];
  for (const { file, object } of placed) {
    if (object.kind !== "ConfigMap" || object.metadata.labels?.grafana_dashboard !== "1") continue;
    for (const [key, json] of Object.entries(object.data as Record<string, string>))
      out.set(`${file.replaceAll("/", "_")}_${key}`, json);
  }
  for (const f of r.files)
    if (f.path.startsWith("docker/grafana/dashboards/")) out.set(f.path.replaceAll("/", "_"), f.content);
  return out;
}

describe("dashboards against Grafana's published dashboard schema", () => {
  it("every rendered dashboard decodes strictly and validates", async (t) => {
    const tool = await checker(t);
    if (!tool) return;
    const dashboards = renderedDashboards();
    // gateway, engines, RAG in each of base + 3 environments, the GPU dashboard, 3 compose copies.
    assert.ok(dashboards.size >= 14, `${dashboards.size} dashboards`);
    const files = [...dashboards].map(([name, json]) => {
      const path = join(dir, name);
      writeFileSync(path, json);
      return path;
    });
    const res = await run(tool.bin, files);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    const ok = res.stdout.trim().split("\n");
    assert.equal(ok.length, files.length);
    for (const line of ok) assert.match(line, /: ok \(\d+ panels\)$/);
    assert.ok(ok.some((l) => l.includes("inferplane-gpus.json: ok (6 panels)")));
  });

  it("the check bites: an unknown field, a misspelt query field and a wrong type are each reported", async (t) => {
    const tool = await checker(t);
    if (!tool) return;
    const json = [...renderedDashboards().values()][0] ?? "";
    const d = JSON.parse(json);
    d.titel = "typo";
    d.panels[0].targets[0].exprr = d.panels[0].targets[0].expr;
    d.panels[1].gridPos.w = "12";
    delete d.panels[0].options.tooltip;
    const file = join(dir, "broken.json");
    writeFileSync(file, JSON.stringify(d));
    const res = await run(tool.bin, [file]);
    assert.equal(res.code, 1);
    assert.match(res.stdout, /unexpected field 'titel'/);
    assert.match(res.stdout, /panels\[0\]\.targets\[0\].*unexpected field 'exprr'/);
    assert.match(res.stdout, /panels\[1\]\.gridPos\.w/);
    assert.match(res.stdout, /panels\[0\]\.options\.tooltip: required field is missing/);
  });
});
