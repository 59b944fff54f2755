// Vertical Pod Autoscalers for the CPU workloads: rendered for the gateway (memory beside its CPU
// HPA), never on GPU engines, refused at validation when they would fight the HPA, and lint's
// vpa-hpa-same-resource on fixtures written for it and on the rendered tree.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { lintPaths, RULES } from "../../src/deploy/lint/index.js";
import { validateObject } from "../../src/deploy/validate.js";
import { isInferplaneError } from "../../src/errors.js";
import { exampleWith, ROOT, render, renderExample } from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: tests walk arbitrary manifests
type Plain = Record<string, any>;

const FIXTURES = join(ROOT, "test/fixtures/lint/vpa-hpa-same-resource");

function lineOf(file: string, needle: string): number {
  const i = readFileSync(file, "utf8")
    .split("\n")
    .findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `${needle} not in ${file}`);
  return i + 1;
}

describe("autoscaling.vpa", () => {
  it("the example's gateway gets a VPA on memory only, beside its HPA on CPU; no engine gets one", () => {
    for (const env of [renderExample().base, ...renderExample().environments]) {
      const vpas = env.objects
        .filter((o) => o.object.kind === "VerticalPodAutoscaler")
        .map((o) => o.object as Plain);
      assert.deepEqual(
        vpas.map((v) => v.spec.targetRef),
        [{ apiVersion: "apps/v1", kind: "Deployment", name: "inferplane-gateway" }],
        env.name,
      );
      const v = vpas[0] as Plain;
      assert.equal(v.apiVersion, "autoscaling.k8s.io/v1");
      assert.equal(v.spec.updatePolicy.updateMode, "Initial");
      assert.deepEqual(v.spec.resourcePolicy.containerPolicies, [
        { containerName: "gateway", controlledResources: ["memory"], controlledValues: "RequestsAndLimits" },
      ]);
      assert.deepEqual(validateObject(v), []);
      // The container the policy names is the gateway's.
      const dep = env.objects.find(
        (o) => o.object.kind === "Deployment" && o.object.metadata.name === "inferplane-gateway",
      )?.object as Plain;
      assert.ok(dep.spec.template.spec.containers.some((c: Plain) => c.name === "gateway"));
    }
  });

  it("validation of the shape rejects an unknown field and a bad enum", () => {
    const v = structuredClone(
      renderExample().base.objects.find((o) => o.object.kind === "VerticalPodAutoscaler")?.object,
    ) as Plain;
    v.spec.updatePolicy.updateMode = "Sometimes";
    v.spec.resourcePolicy.containerPolicies[0].controledResources = ["cpu"];
    assert.deepEqual(
      validateObject(v).map((p) => p.path),
      ["/spec/updatePolicy/updateMode", "/spec/resourcePolicy/containerPolicies/0/controledResources"],
    );
  });

  it("refused at validation when the VPA would set CPU that the gateway's HPA scales on", () => {
    const text = exampleWith(
      "    controlledResources: [memory]\n",
      "    controlledResources: [cpu, memory]\n",
    );
    assert.throws(
      () => render(text),
      (e: unknown) =>
        isInferplaneError(e) &&
        e.problems.some(
          (p) => p.path === "autoscaling.vpa.controlledResources" && /HPA scales .* on CPU/.test(p.message),
        ),
    );
    // Recommend-only is fine, and so is CPU when the gateway runs one replica (no HPA).
    assert.doesNotThrow(() => render(text.replace("    updateMode: Initial\n", '    updateMode: "Off"\n')));
    // The example's gateway runs 1 replica in base and 3 in production (an override).
    const single = render(text.replace(/^( {2}| {8})replicas: 3$/gm, "$1replicas: 1"));
    assert.equal(
      single.base.objects.filter(
        (o) => o.object.kind === "HorizontalPodAutoscaler" && o.object.metadata.name === "inferplane-gateway",
      ).length,
      0,
    );
  });

  it("lint: vpa-hpa-same-resource is registered, fires on each bad fixture at the VPA's resource, never on good ones", () => {
    assert.ok(RULES.some((r) => r.id === "vpa-hpa-same-resource" && r.severity === "error"));
    const bad = lintPaths([join(FIXTURES, "bad")]).findings;
    assert.deepEqual(
      bad.map((f) => [f.rule, f.file.slice(FIXTURES.length + 1), f.line]),
      [
        [
          "vpa-hpa-same-resource",
          "bad/gateway.yaml",
          lineOf(join(FIXTURES, "bad/gateway.yaml"), "  targetRef:"),
        ],
        [
          "vpa-hpa-same-resource",
          "bad/rag.yaml",
          lineOf(join(FIXTURES, "bad/rag.yaml"), 'controlledResources: ["memory"]'),
        ],
      ],
    );
    assert.match(
      bad[0]?.message ?? "",
      /sets cpu on Deployment gateway, which HorizontalPodAutoscaler gateway scales on cpu/,
    );
    assert.match(
      bad[1]?.message ?? "",
      /sets memory on Deployment rag, which ScaledObject rag scales on memory/,
    );
    assert.deepEqual(lintPaths([join(FIXTURES, "good")]).findings, []);
  });

  it("lint: the rendered example (VPA beside the HPA) is clean of it", () => {
    const findings = lintPaths([join(ROOT, "examples/rendered")]).findings;
    assert.deepEqual(
      findings.filter((f) => f.rule === "vpa-hpa-same-resource"),
      [],
    );
  });
});
