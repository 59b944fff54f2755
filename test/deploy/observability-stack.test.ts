// observability.stack: bring renders pinned HelmCharts for kube-prometheus-stack, Loki and
// Jaeger, wired to what the compiler renders: Prometheus reads every PodMonitor and
// PrometheusRule and takes the collector's remote write, Grafana's sidecar loads the dashboard
// ConfigMaps by their label in every namespace, and the collector's OTLP exporters reach the
// Services the charts create.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { otelCollectorConfig } from "../../src/deploy/monitoring.js";
import { PROMETHEUS_URL } from "../../src/deploy/names.js";
import { validateObject } from "../../src/deploy/validate.js";
import { exampleWith, render, renderExample } from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: tests walk arbitrary manifests
type Plain = Record<string, any>;

const charts = () =>
  renderExample()
    .objects.filter((o) => o.file.startsWith("cluster/observability/"))
    .map((o) => o.object as Plain);
const values = (chart: string) =>
  parse(charts().find((c) => c.spec.chart === chart)?.spec.valuesContent ?? "");

describe("observability.stack: bring", () => {
  it("renders kube-prometheus-stack, Loki and Jaeger as HelmCharts pinned to exact versions", () => {
    const list = charts();
    assert.deepEqual(list.map((c) => c.spec.chart).sort(), ["jaeger", "kube-prometheus-stack", "loki"]);
    for (const c of list) {
      assert.equal(c.kind, "HelmChart");
      assert.match(c.spec.version, /^\d+\.\d+\.\d+$/, `${c.spec.chart} pinned`);
      assert.match(c.spec.repo, /^https:\/\//);
      assert.equal(c.metadata.namespace, "kube-system");
      assert.equal(c.spec.targetNamespace, "monitoring");
      assert.equal(c.spec.createNamespace, true);
      assert.deepEqual(validateObject(c), []);
    }
    const k = parse(
      renderExample().files.find((f) => f.path === "cluster/observability/kustomization.yaml")?.content ?? "",
    );
    assert.deepEqual(k.resources, ["jaeger.yaml", "kube-prometheus-stack.yaml", "loki.yaml"]);
  });

  it("Prometheus reads every rendered PodMonitor, ServiceMonitor and PrometheusRule, and takes remote write", () => {
    const p = values("kube-prometheus-stack").prometheus.prometheusSpec;
    for (const k of [
      "ruleSelectorNilUsesHelmValues",
      "serviceMonitorSelectorNilUsesHelmValues",
      "podMonitorSelectorNilUsesHelmValues",
    ])
      assert.equal(p[k], false, k);
    assert.equal(p.enableRemoteWriteReceiver, true);
    const rw = (otelCollectorConfig().exporters as Plain).prometheusremotewrite.endpoint as string;
    assert.equal(
      new URL(rw).host,
      new URL(PROMETHEUS_URL).host,
      "the operator's prometheus-operated Service",
    );
    // The rendered monitoring objects carry no label a selector would have to match.
    const monitors = renderExample().objects.filter((o) =>
      ["PodMonitor", "PrometheusRule"].includes(o.object.kind),
    );
    assert.ok(monitors.length >= 4);
  });

  it("Grafana's sidecar loads every rendered dashboard ConfigMap, in every namespace, beside Loki and Jaeger", () => {
    const g = values("kube-prometheus-stack").grafana;
    const { label, labelValue, searchNamespace } = g.sidecar.dashboards;
    const dashboards = renderExample().objects.filter(
      (o) => o.object.metadata.labels?.grafana_dashboard !== undefined,
    );
    assert.ok(dashboards.length >= 4, "engines, gateway, RAG and GPU dashboards");
    for (const d of dashboards)
      assert.equal(d.object.metadata.labels?.[label], labelValue, d.object.metadata.name);
    const namespaces = new Set(dashboards.map((d) => d.object.metadata.namespace ?? "app"));
    assert.ok(namespaces.size > 1);
    assert.equal(searchNamespace, "ALL");
    const ds = Object.fromEntries(g.additionalDataSources.map((d: Plain) => [d.type, new URL(d.url).host]));
    const exporters = otelCollectorConfig().exporters as Plain;
    assert.equal(
      ds.loki,
      new URL(exporters["otlphttp/loki"].endpoint).host,
      "Grafana reads the Loki the collector writes",
    );
    assert.equal(ds.jaeger, "jaeger-query.monitoring.svc:16686");
    // Jaeger's all-in-one collector Service (release jaeger) is where the collector sends traces.
    assert.equal(new URL(exporters["otlphttp/jaeger"].endpoint).hostname, "jaeger-collector.monitoring.svc");
    assert.equal(values("jaeger").allInOne.enabled, true);
    const loki = values("loki");
    assert.equal(loki.deploymentMode, "SingleBinary");
    assert.equal(
      loki.loki.limits_config.allow_structured_metadata,
      true,
      "OTLP logs need structured metadata",
    );
  });

  it("ArgoCD syncs the stack as its own Application, allowed by the project", () => {
    const r = renderExample();
    const app = r.objects.find((o) => o.file === "argocd/apps/observability.yaml")?.object as Plain;
    assert.ok(app);
    assert.match(app.spec.source.path, /cluster\/observability$/);
    assert.equal(app.spec.destination.namespace, "kube-system");
    const project = r.objects.find((o) => o.object.kind === "AppProject")?.object as Plain;
    assert.ok(project.spec.destinations.some((d: Plain) => d.namespace === "kube-system"));
  });

  it("assume (the default) renders none of it", () => {
    const r = render(exampleWith("  stack: bring\n", ""));
    assert.equal(r.objects.filter((o) => o.file.startsWith("cluster/observability/")).length, 0);
    assert.equal(r.files.filter((f) => f.path.startsWith("cluster/observability/")).length, 0);
    assert.equal(r.objects.filter((o) => o.file === "argocd/apps/observability.yaml").length, 0);
  });
});
