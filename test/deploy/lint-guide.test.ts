// The guide's own manifests (test/fixtures/guide, copied verbatim) trigger every known-error
// rule at the line of the mistake; the rendered example and the example spec lint clean.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type Finding, lintPaths, RULES } from "../../src/deploy/lint/index.js";
import { ROOT } from "./helpers.js";

const GUIDE = join(ROOT, "test/fixtures/guide");
const report = lintPaths([GUIDE]);

function lineOf(file: string, needle: string): number {
  const i = readFileSync(join(GUIDE, file), "utf8")
    .split("\n")
    .findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `${needle} not in ${file}`);
  return i + 1;
}

function findings(rule: string, file?: string): Finding[] {
  return report.findings.filter(
    (f) => f.rule === rule && (file === undefined || f.file === join(GUIDE, file)),
  );
}

describe("lint: the guide's manifests", () => {
  it("every known-error rule fires on them", () => {
    const known = RULES.filter((r) => r.source === "known-error").map((r) => r.id);
    assert.equal(known.length, 9);
    for (const id of known) assert.ok(findings(id).length > 0, `${id} did not fire`);
    assert.ok(report.errors >= 20);
  });

  it("1. the HPA target of 70 on a 0–1 KV-cache fraction, and the metric's old name", () => {
    const [f] = findings("fraction-target-as-percent", "vllm-hpa.yaml");
    assert.ok(f);
    assert.ok(
      f.line > lineOf("vllm-hpa.yaml", "name: vllm_gpu_cache_usage_perc") &&
        f.line <= lineOf("vllm-hpa.yaml", 'averageValue: "70"'),
    );
    assert.match(f.message, /0–1 fraction.*70.*0\.7/);
    assert.ok(
      findings("vllm-metric-renamed", "vllm-hpa.yaml").some((x) => /kv_cache_usage_perc/.test(x.message)),
    );
    assert.ok(
      findings("vllm-metric-renamed", "prometheus-rules.yaml").some(
        (x) => x.line === lineOf("prometheus-rules.yaml", "expr: vllm_gpu_cache_usage_perc"),
      ),
    );
  });

  it("2. PromQL on underscore names and a counter without _total", () => {
    const lines = findings("vllm-metric-underscore", "prometheus-rules.yaml").map((f) => f.line);
    for (const needle of [
      "expr: vllm_num_requests_waiting > 20",
      "vllm_e2e_request_latency_seconds_bucket",
      "expr: vllm_gpu_cache_usage_perc",
      "increase(vllm_num_preemptions[5m])",
    ]) {
      assert.ok(lines.includes(lineOf("prometheus-rules.yaml", needle)), needle);
    }
    const [c] = findings("vllm-counter-without-total", "prometheus-rules.yaml");
    assert.equal(c?.line, lineOf("prometheus-rules.yaml", "increase(vllm_num_preemptions[5m])"));
    assert.match(c?.message ?? "", /vllm:num_preemptions_total/);
  });

  it("3. the HPA's two vLLM metrics with no adapter to read them", () => {
    const f = findings("hpa-metric-without-adapter", "vllm-hpa.yaml");
    assert.equal(f.length, 2);
    assert.match(f[0]?.message ?? "", /vllm_num_requests_running/);
    assert.match(f[1]?.message ?? "", /vllm_gpu_cache_usage_perc/);
  });

  it("4. 14 × 1g.5gb on one GPU", () => {
    const [f] = findings("mig-layout-invalid", "mig-partition-config.yaml");
    assert.ok(f);
    assert.equal(f.line, lineOf("mig-partition-config.yaml", '"1g.5gb": 14'));
    assert.match(f.message, /all-1g\.5gb: 14 × 1g\.5gb exceeds the 7 instances/);
    assert.equal(
      findings("mig-layout-invalid").length,
      1,
      "the legal layouts (7 × 1g.10gb; 2 × 2g.20gb + 3 × 1g.10gb) pass",
    );
  });

  it("5. commonLabels in the base kustomization", () => {
    const [f] = findings("kustomize-deprecated-field", "kustomize/base/kustomization.yaml");
    assert.equal(f?.line, lineOf("kustomize/base/kustomization.yaml", "commonLabels:"));
    assert.equal(f?.severity, "error");
  });

  it("6. the Dockerfile that downloads everything but the weights", () => {
    const [f] = findings("dockerfile-image-without-weights", "Dockerfile");
    assert.equal(f?.line, lineOf("Dockerfile", "RUN huggingface-cli download"));
    assert.equal(findings("dockerfile-image-without-weights", "Dockerfile.springboot").length, 0);
  });

  it("7. replicas: 2 fixed under an HPA, synced by ArgoCD without ignoreDifferences", () => {
    const [f] = findings("argocd-replicas-fight", "vllm-deployment.yaml");
    assert.equal(f?.line, lineOf("vllm-deployment.yaml", "replicas: 2"));
    assert.match(f?.message ?? "", /vllm-qwen7b-hpa/);
  });

  it("and the other mistakes the guide makes: single strategy with mixed profiles and MIG requests, a missing default config, time-sliced memory, the plugin's config file", () => {
    assert.equal(
      findings("mig-strategy-single-mixed", "mig-partition-config.yaml")[0]?.line,
      lineOf("mig-partition-config.yaml", '"1g.10gb": 3'),
    );
    assert.equal(findings("mig-resource-single-strategy", "vllm-mig-pod.yaml").length, 1);
    assert.match(findings("gpu-config-key-missing", "gpu-operator.yaml")[0]?.message ?? "", /all-disabled/);
    assert.equal(
      findings("time-slice-memory-oversubscribed", "vllm-deployment.yaml")[0]?.line,
      lineOf("vllm-deployment.yaml", "args:"),
    );
    assert.equal(findings("device-plugin-config-file-missing", "time-slicing.yaml").length, 1);
  });
});

describe("lint: what render writes is clean", () => {
  it("examples/rendered and examples/inferplane.yaml give no finding at all", () => {
    const r = lintPaths([join(ROOT, "examples/rendered"), join(ROOT, "examples/inferplane.yaml")]);
    assert.ok(r.files > 70, `${r.files} files`);
    assert.deepEqual(r.findings, []);
  });
});
