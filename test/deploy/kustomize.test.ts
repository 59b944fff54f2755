// `kustomize build` on every kustomization of the rendered example, and each overlay's build
// equals what render produced for that environment (namespace, labels and the generated
// ConfigMap's hash aside): the JSON patches really turn the base into the environment.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import type { K8sObject } from "../../src/deploy/types.js";
import { writeTree } from "../../src/deploy/write.js";
import { parseYamlDocuments } from "../../src/deploy/yaml.js";
import { ensureBinary, findBinary, requireService, run } from "../services/index.js";
import { renderExample } from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: tests walk arbitrary manifests
type Plain = Record<string, any>;

async function kustomizeCmd(): Promise<{ cmd: string; pre: string[] }> {
  const kubectl = findBinary("kubectl");
  if (kubectl) return { cmd: kubectl, pre: ["kustomize"] };
  const k = findBinary("kustomize") ?? (await ensureBinary("kustomize", "kustomize"));
  return { cmd: k, pre: ["build"] };
}

async function build(t: TestContext, dir: string): Promise<Plain[] | undefined> {
  const k = await requireService(t, "kustomize", kustomizeCmd);
  if (!k) return undefined;
  const r = await run(k.cmd, [...k.pre, dir], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `kustomize build ${dir}: ${r.stderr}`);
  return parseYamlDocuments(r.stdout) as Plain[];
}

const ADDED = ["app.kubernetes.io/part-of", "app.kubernetes.io/managed-by", "inferplane.dev/environment"];

function normalize(o: Plain): Plain {
  const c = structuredClone(o);
  delete c.metadata.namespace;
  const strip = (labels: Plain | undefined, holder: Plain) => {
    if (!labels) return;
    for (const k of ADDED) delete labels[k];
    if (Object.keys(labels).length === 0) delete holder.labels;
  };
  strip(c.metadata.labels, c.metadata);
  if (c.spec?.template?.metadata) strip(c.spec.template.metadata.labels, c.spec.template.metadata);
  return JSON.parse(JSON.stringify(c).replace(/"(ai-inference-platform-config)-[a-z0-9]{10}"/g, '"$1"'));
}

describe("kustomize build", () => {
  const r = renderExample();
  const out = mkdtempSync(join(tmpdir(), "inferplane-render-"));
  writeTree(out, r.files);
  const dirs = r.files
    .filter((f) => f.path.endsWith("kustomization.yaml") && !f.path.startsWith("components/"))
    .map((f) => f.path.replace(/\/kustomization\.yaml$/, ""));

  it("builds every kustomization of the tree", async (t) => {
    assert.deepEqual(dirs, [
      "base",
      "cluster/gpu-operator",
      "cluster/observability",
      "overlays/dev",
      "overlays/production",
      "overlays/spot",
      "overlays/staging",
      "services/ai-rag",
      "services/monitoring",
    ]);
    for (const d of dirs) {
      const objs = await build(t, join(out, d));
      if (!objs) return;
      assert.ok(objs.length > 0, d);
    }
  });

  for (const env of r.environments) {
    it(`overlays/${env.name} builds to exactly the ${env.name} render, in namespace ${env.namespace}`, async (t) => {
      const built = await build(t, join(out, "overlays", env.name));
      if (!built) return;
      for (const o of built) {
        if (o.kind !== "Namespace")
          assert.equal(o.metadata.namespace, env.namespace, `${o.kind}/${o.metadata.name}`);
        assert.equal(
          o.metadata.labels?.["inferplane.dev/environment"],
          env.name,
          `${o.kind}/${o.metadata.name}`,
        );
        assert.equal(o.metadata.labels?.["app.kubernetes.io/managed-by"], "inferplane");
      }
      const config = built.find(
        (o) => o.kind === "ConfigMap" && /^ai-inference-platform-config-/.test(o.metadata.name),
      );
      assert.equal(
        config?.data["inferplane.yaml"],
        r.files.find((f) => f.path === `overlays/${env.name}/inferplane.yaml`)?.content,
      );
      const got = new Map(
        built
          .filter((o) => o !== config)
          .map((o) => [`${o.kind}/${o.kind === "Namespace" ? "" : o.metadata.name}`, normalize(o)]),
      );
      const want = new Map(
        env.objects.map((p) => [
          `${p.object.kind}/${p.object.kind === "Namespace" ? "" : p.object.metadata.name}`,
          normalize(p.object as K8sObject),
        ]),
      );
      assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
      for (const [k, v] of want) assert.deepEqual(got.get(k), v, k);
    });
  }

  it("overlays/spot moves every engine of production onto spot capacity", async (t) => {
    const built = await build(t, join(out, "overlays/spot"));
    if (!built) return;
    const engines = built.filter(
      (o) => o.kind === "Deployment" && o.metadata.labels["app.kubernetes.io/component"] === "engine",
    );
    assert.equal(engines.length, 3);
    for (const d of engines) {
      const spec = d.spec.template.spec;
      assert.equal(d.metadata.namespace, "ai-inference-production");
      assert.ok(
        spec.tolerations.some((x: Plain) => x.key === "nvidia.com/gpu"),
        "GPU toleration kept",
      );
      assert.ok(spec.tolerations.some((x: Plain) => x.key === "cloud.google.com/gke-spot"));
      assert.ok(spec.topologySpreadConstraints?.length > 0, "spread kept");
      assert.ok(spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution.length > 0);
      assert.equal(spec.terminationGracePeriodSeconds, 25);
      assert.deepEqual(spec.containers[0].lifecycle.preStop.exec.command, ["/bin/sh", "-c", "sleep 5"]);
      assert.ok(spec.containers[0].args.length > 0, "container merged by name, not replaced");
    }
  });

  it("cleans up", () => {
    rmSync(out, { recursive: true, force: true });
  });
});
