// The rendered example on a real control plane (kube-apiserver, kube-scheduler and
// kube-controller-manager v1.36 with kwok nodes; test/services/kube.ts): every tree applies
// server-side in the README's order, and the real scheduler places the engines where `plan` says.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { describe, it } from "node:test";
import { verifyOnCluster } from "../../src/deploy/cluster.js";
import { EXAMPLE_TEXT, exampleWith } from "../deploy/helpers.js";
import { requireService, waitFor } from "../services/harness.js";
import { startKube } from "../services/kube.js";
import { addVolumes, CPU_NODES, nodesFromPlan, planReplicasByNode, podsByNode, renderTo } from "./cluster.js";

describe("the rendered example on a real control plane", () => {
  it("every tree passes a server-side dry-run on an empty cluster, then applies in the README's order with no error or warning", async (t) => {
    const kube = await requireService(t, "kube", () => startKube());
    if (!kube) return;
    const { out, result } = renderTo(EXAMPLE_TEXT);
    t.after(() => rmSync(out, { recursive: true, force: true }));

    const dry = verifyOnCluster(out, result, { kubeconfig: kube.kubeconfig });
    const problems = (r: typeof dry) =>
      r.trees.flatMap((x) => [
        ...x.errors.map((e) => `${x.tree}: ${e.object}: ${e.message}`),
        ...x.warnings.map((w) => `${x.tree}: warning: ${w}`),
      ]);
    assert.deepEqual(problems(dry), []);
    // The namespaces only the trees create (the dry-run cannot): created for it, then deleted.
    assert.ok(dry.createdNamespaces.includes("ai-inference-production"), dry.createdNamespaces.join(","));
    assert.ok(dry.createdNamespaces.includes("argocd"), dry.createdNamespaces.join(","));
    const treeNames = dry.trees.map((x) => x.tree);
    assert.deepEqual(treeNames.slice(0, 1), ["cluster/gpu-operator"]);
    assert.ok(treeNames.indexOf("overlays/production") < treeNames.indexOf("argocd/app-of-apps.yaml"));
    for (const tree of [
      "base",
      "overlays/dev",
      "overlays/staging",
      "overlays/production",
      "overlays/spot",
      "services/ai-rag",
      "services/monitoring",
    ])
      assert.ok(treeNames.includes(tree), `${tree} not sent`);

    // The cluster is empty again once the temporary namespaces are gone.
    await kube.kubectlOk(
      ["wait", "--for=delete", ...dry.createdNamespaces.map((n) => `namespace/${n}`), "--timeout=90s"],
      { timeoutMs: 120_000 },
    );
    const applied = verifyOnCluster(out, result, { kubeconfig: kube.kubeconfig, apply: true });
    assert.deepEqual(problems(applied), []);
    assert.ok(
      applied.trees.every((x) => x.objects > 0),
      JSON.stringify(applied.trees.map((x) => [x.tree, x.objects])),
    );
    // Engines start from their replicas, not 1: production runs 4 of qwen before any autoscaler acts.
    const replicas = await kube.kubectlOk([
      "get",
      "deployment",
      "vllm-qwen-7b",
      "-n",
      "ai-inference-production",
      "-o",
      "jsonpath={.spec.replicas}",
    ]);
    assert.equal(replicas, "4");
    const argo = await kube.kubectlOk(["get", "applications.argoproj.io", "-n", "argocd", "-o", "name"]);
    assert.match(argo, /ai-inference-platform-production/);
  });

  it("production: the scheduler places every engine pod where the plan says at minimum, and at the ceiling render wrote; beyond it the pods the plan said stay Pending", async (t) => {
    const kube = await requireService(t, "kube", () => startKube());
    if (!kube) return;
    const { out, result } = renderTo(EXAMPLE_TEXT);
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const prod = result.environments.find((e) => e.name === "production");
    assert.ok(prod?.plan);
    const plan = prod.plan;
    await kube.addNodes([...CPU_NODES, ...nodesFromPlan(prod.platform, plan)]);
    await addVolumes(kube, 2, 6);
    const report = verifyOnCluster(out, result, {
      kubeconfig: kube.kubeconfig,
      apply: true,
      environments: ["production"],
      trees: (p) => p === "cluster/gpu-operator" || p.startsWith("services/") || p === "overlays/production",
    });
    assert.deepEqual(
      report.trees.flatMap((x) => x.errors),
      [],
    );
    const ns = "ai-inference-production";

    // At minimum: exactly the plan's nodes, per model.
    const expect = planReplicasByNode(plan, "qwen-7b");
    assert.deepEqual(expect, { "a100-0": 2, "a100-1": 2 }, "the plan spreads the 4 TP-2 replicas 2 + 2");
    for (const [deployment, model] of [
      ["vllm-qwen-7b", "qwen-7b"],
      ["vllm-bge-m3", "bge-m3"],
      ["vllm-bge-reranker", "bge-reranker"],
    ] as const) {
      const want = planReplicasByNode(plan, model);
      const got = await waitFor(
        async () => {
          const p = await podsByNode(kube, ns, deployment);
          const n = Object.values(want).reduce((s, x) => s + x, 0);
          return p.total === n && p.pending === 0 ? p : undefined;
        },
        { timeoutMs: 60_000, what: `${deployment} pods scheduled` },
      );
      assert.deepEqual(got.byNode, want, deployment);
    }
    // render's own placement check (the same spread rule, on the same nodes) agrees.
    const qwen = report.placement.find((p) => p.engine === "vllm-qwen-7b");
    assert.deepEqual(qwen?.atMin, { "a100-0": 2, "a100-1": 2 });
    const holds = plan.models.find((m) => m.name === "qwen-7b")?.replicas.holds;
    assert.equal(holds, 7);
    assert.equal(qwen?.holds, 7);

    // At the autoscaler's ceiling (render capped 16 to the 7 the plan says fit): all schedule.
    const so = JSON.parse(
      await kube.kubectlOk(["get", "scaledobject", "vllm-qwen-7b", "-n", ns, "-o", "json"]),
    ) as { spec: { maxReplicaCount: number } };
    assert.equal(so.spec.maxReplicaCount, 7);
    await kube.kubectlOk(["scale", "deployment", "vllm-qwen-7b", "-n", ns, "--replicas=7"]);
    const at7 = await waitFor(
      async () => {
        const p = await podsByNode(kube, ns, "vllm-qwen-7b");
        return p.total === 7 && p.pending === 0 ? p : undefined;
      },
      { timeoutMs: 60_000, what: "7 qwen pods scheduled" },
    );
    assert.deepEqual(at7.byNode, { "a100-0": 3, "a100-1": 4 });
    // The spec's 16: the 9 the plan said the inventory cannot hold stay Pending.
    await kube.kubectlOk(["scale", "deployment", "vllm-qwen-7b", "-n", ns, "--replicas=16"]);
    const at16 = await waitFor(
      async () => {
        const p = await podsByNode(kube, ns, "vllm-qwen-7b");
        return p.total === 16 ? p : undefined;
      },
      { timeoutMs: 60_000, what: "16 qwen pods created" },
    );
    await new Promise((r) => setTimeout(r, 3_000)); // give the scheduler a pass over the new pods
    const settled = await podsByNode(kube, ns, "vllm-qwen-7b");
    assert.equal(at16.total, 16);
    assert.equal(settled.pending, 16 - 7);
  });

  it("the guide's time-slicing scenario: the shared pool turns sharing on, and the pods schedule on it", async (t) => {
    const kube = await requireService(t, "kube", () => startKube());
    if (!kube) return;
    // The guide's time-slicing config: A100-80GB, 4 replicas per GPU; every model a quarter GPU at most.
    const spec = exampleWith(
      /sharing:\n {6}mode: mig\n(?: {6,}.*\n)+? {10}- gpus: 2\n {12}profiles: \["3g\.40gb", "2g\.20gb", "2g\.20gb"\]\n/,
      "sharing:\n      mode: time-slicing\n      replicas: 4\n",
    )
      .replace(/\n {6}migProfile: 2g\.20gb/g, "\n      count: 1")
      .replace(
        /\n {4}engineVersion: "0\.11\.0"\n {4}gpu:/g,
        '\n    engineVersion: "0.11.0"\n    gpuMemoryUtilization: 0.2\n    gpu:',
      )
      .replace("gpuMemoryUtilization: 0.9", "gpuMemoryUtilization: 0.2");
    const { out, result } = renderTo(spec);
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const base = result.base;
    assert.ok(base.plan);
    const nodes = nodesFromPlan(base.platform, base.plan);
    for (const n of nodes)
      assert.equal(n.labels?.["nvidia.com/device-plugin.config"], "a100", `${n.name} turns sharing on`);
    await kube.addNodes([...CPU_NODES, ...nodes]);
    await addVolumes(kube, 2, 6);
    const report = verifyOnCluster(out, result, {
      kubeconfig: kube.kubeconfig,
      apply: true,
      environments: [],
      trees: (p) => p === "cluster/gpu-operator" || p === "base",
    });
    assert.deepEqual(
      report.trees.flatMap((x) => x.errors),
      [],
    );
    // The device-plugin config the node label names exists, with the pool's 4 replicas.
    const cm = JSON.parse(
      await kube.kubectlOk([
        "get",
        "configmap",
        "inferplane-device-plugin",
        "-n",
        "gpu-operator",
        "-o",
        "json",
      ]),
    ) as { data: Record<string, string> };
    assert.match(cm.data.a100 ?? "", /timeSlicing:[\s\S]*replicas: 4/);
    for (const d of ["vllm-qwen-7b", "vllm-bge-m3", "vllm-bge-reranker"]) {
      const want = planReplicasByNode(base.plan, d.replace(/^vllm-/, ""));
      const got = await waitFor(
        async () => {
          const p = await podsByNode(kube, "ai-inference", d);
          const n = Object.values(want).reduce((s, x) => s + x, 0) || 1;
          return p.total === n && p.pending === 0 ? p : undefined;
        },
        // Claims bind on the PV controller's 15 s cycle, and the scheduler retries after them:
        // on a busy machine that takes more than one 60 s wait.
        { timeoutMs: 60_000, what: `${d} pods scheduled on the shared pool` },
      ).catch(() =>
        waitFor(
          async () => {
            const p = await podsByNode(kube, "ai-inference", d);
            return p.pending === 0 && p.total > 0 ? p : undefined;
          },
          { timeoutMs: 60_000, what: `${d} pods scheduled on the shared pool (second minute)` },
        ),
      );
      for (const node of Object.keys(got.byNode)) assert.match(node, /^a100-/, `${d} on ${node}`);
      // Every model, the encoders included, has a share in the plan and lands where it says.
      assert.ok(Object.keys(want).length > 0, `the plan places ${d}`);
      assert.equal(result.base.placedFrom[d.replace(/^vllm-/, "")], "plan");
      assert.deepEqual(got.byNode, want, d);
    }
  });
});
