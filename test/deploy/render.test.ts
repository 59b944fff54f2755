// The deploy compiler on the example and on variants: every object validates (schema and the
// strict unknown-field pass), and the output never carries the guide's mistakes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyPatch, jsonPatch } from "../../src/deploy/diff.js";
import { lintInput } from "../../src/deploy/lint/index.js";
import { loadYamlDocs } from "../../src/deploy/lint/load.js";
import type { K8sObject } from "../../src/deploy/types.js";
import { validateObject } from "../../src/deploy/validate.js";
import { parseYamlDocuments } from "../../src/deploy/yaml.js";
import { isInferplaneError } from "../../src/errors.js";
import { parseSpec } from "../../src/spec/load.js";
import { exampleWith, render, renderExample } from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: tests walk arbitrary manifests
type Plain = Record<string, any>;

function objectsOf(kind: string, objs: { object: K8sObject }[]): Plain[] {
  return objs.filter((o) => o.object.kind === kind).map((o) => o.object as Plain);
}

describe("render: validation", () => {
  it("every object of the example validates against its model, with no unknown field", () => {
    const r = renderExample();
    assert.ok(r.objects.length > 40, `only ${r.objects.length} objects`);
    const kinds = new Set(r.objects.map((o) => o.object.kind));
    for (const k of [
      "Deployment",
      "Service",
      "ScaledObject",
      "PodMonitor",
      "PrometheusRule",
      "Application",
      "AppProject",
      "HelmChart",
      "StatefulSet",
      "NetworkPolicy",
      "Ingress",
      "HorizontalPodAutoscaler",
      "PodDisruptionBudget",
    ]) {
      assert.ok(kinds.has(k), `no ${k} rendered`);
    }
    const problems = r.objects.flatMap(({ file, object }) =>
      validateObject(object).map(
        (p) => `${file} ${object.kind}/${object.metadata.name}${p.path}: ${p.message}`,
      ),
    );
    assert.deepEqual(problems, []);
  });

  it("the objects written to disk are the objects validated (YAML round trip)", () => {
    const r = renderExample();
    const fromFiles = r.files
      .filter(
        (f) =>
          /\.ya?ml$/.test(f.path) &&
          !/kustomization|inferplane\.yaml|values\.yaml|node-labels|patches\/|docker\//.test(f.path),
      )
      .flatMap((f) => parseYamlDocuments(f.content));
    assert.equal(fromFiles.length, r.objects.length);
    for (const o of fromFiles) assert.deepEqual(validateObject(o), []);
  });

  it("the schema pass rejects a wrong type and the strict pass an unknown field", () => {
    const dep = structuredClone(objectsOf("Deployment", renderExample().objects)[0]) as Plain;
    dep.spec.replicas = "two";
    assert.match(
      validateObject(dep)
        .map((p) => p.message)
        .join(),
      /replicas/,
    );
    const typo = structuredClone(objectsOf("Deployment", renderExample().objects)[0]) as Plain;
    typo.spec.template.spec.containers[0].resource = { limits: {} };
    typo.spec.template.spec.nodeSelectr = {};
    assert.deepEqual(
      validateObject(typo).map((p) => p.path),
      ["/spec/template/spec/containers/0/resource", "/spec/template/spec/nodeSelectr"],
    );
    const so = structuredClone(objectsOf("ScaledObject", renderExample().objects)[0]) as Plain;
    so.spec.triggers[0].metadataa = {};
    assert.deepEqual(
      validateObject(so).map((p) => p.path),
      ["/spec/triggers/0/metadataa"],
    );
    const app = structuredClone(objectsOf("Application", renderExample().objects)[0]) as Plain;
    app.spec.syncPolicy.automated.selfheal = true;
    assert.deepEqual(
      validateObject(app).map((p) => p.path),
      ["/spec/syncPolicy/automated/selfheal"],
    );
  });

  it("free-form fields (labels, ConfigMap data) are not flagged", () => {
    const cm = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "x", labels: { "any/key": "v" } },
      data: { anything: "goes" },
    };
    assert.deepEqual(validateObject(cm), []);
  });
});

describe("render: never the guide's mistakes", () => {
  const r = renderExample();
  const all = [r.base, ...r.environments];

  it("vLLM metric names in alerts, KEDA queries and dashboards are colon names with _total counters", () => {
    const text = r.files.map((f) => f.content).join("\n");
    assert.doesNotMatch(text, /\bvllm_[a-z]/, "an underscore vLLM name");
    assert.doesNotMatch(text, /gpu_cache_usage_perc|num_preemptions(?!_total)/);
    assert.match(text, /vllm:num_requests_waiting/);
    assert.match(text, /vllm:num_preemptions_total/);
    assert.match(text, /vllm:kv_cache_usage_perc/);
  });

  it('KEDA triggers: thresholds are strings, ignoreNullValues is "false", queries sum the model\'s pods', () => {
    for (const env of all) {
      for (const so of objectsOf("ScaledObject", env.objects)) {
        const md = so.spec.triggers[0].metadata;
        assert.equal(typeof md.threshold, "string");
        assert.equal(md.ignoreNullValues, "false");
        assert.equal(
          md.query,
          `sum(vllm:num_requests_waiting{namespace="${env.namespace}",pod=~"vllm-qwen-7b-.*"})`,
        );
      }
    }
  });

  it("never an HPA and a ScaledObject on the same Deployment; every Deployment starts from its replicas", () => {
    for (const env of all) {
      const hpa = objectsOf("HorizontalPodAutoscaler", env.objects).map((o) => o.spec.scaleTargetRef.name);
      const keda = objectsOf("ScaledObject", env.objects).map((o) => o.spec.scaleTargetRef.name);
      assert.deepEqual(
        hpa.filter((n) => keda.includes(n)),
        [],
      );
      // Without the autoscaler (or before it first acts) a Deployment without replicas runs one pod.
      for (const d of objectsOf("Deployment", env.objects))
        assert.equal(typeof d.spec.replicas, "number", `${env.name} ${d.metadata.name}`);
      const qwen = objectsOf("Deployment", env.objects).find((d) => d.metadata.name === "vllm-qwen-7b");
      assert.equal(qwen?.spec.replicas, env.platform.models.find((m) => m.name === "qwen-7b")?.replicas);
    }
  });

  it("every autoscaled Deployment of an environment has ignoreDifferences on /spec/replicas in its Application", () => {
    const apps = objectsOf("Application", r.objects);
    for (const env of r.environments) {
      const app = apps.find((a) => a.spec.source.path === `deploy/overlays/${env.name}`);
      assert.ok(app, `no Application for ${env.name}`);
      const scaled = [
        ...objectsOf("HorizontalPodAutoscaler", env.objects),
        ...objectsOf("ScaledObject", env.objects),
      ]
        .map((o) => o.spec.scaleTargetRef.name)
        .sort();
      const ignored = (app.spec.ignoreDifferences ?? [])
        .filter((d: Plain) => d.jsonPointers.includes("/spec/replicas"))
        .map((d: Plain) => d.name)
        .sort();
      assert.deepEqual(ignored, scaled, env.name);
      assert.ok(scaled.length > 0 || env.name === "dev");
    }
  });

  it("kustomizations use labels, never commonLabels or the deprecated patch fields", () => {
    const k = r.files.filter((f) => f.path.endsWith("kustomization.yaml"));
    assert.ok(k.length >= 7);
    for (const f of k)
      assert.doesNotMatch(f.content, /commonLabels|patchesStrategicMerge|patchesJson6902|^vars:/m, f.path);
    assert.match(k.find((f) => f.path === "base/kustomization.yaml")?.content ?? "", /labels:\n {2}- pairs:/);
  });

  it("MIG: mixed strategy for mixed profiles, placeable geometries, mig resources in the pods", () => {
    const values = r.files.find((f) => f.path === "cluster/gpu-operator/values.yaml")?.content ?? "";
    assert.match(values, /mig:\n {2}strategy: mixed/);
    assert.match(values, /default: all-disabled/);
    const mig = r.files.find((f) => f.path === "cluster/gpu-operator/mig-parted.yaml")?.content ?? "";
    assert.match(mig, /config\.yaml: \|/);
    assert.match(mig, /all-disabled:/);
    const bge = objectsOf("Deployment", r.base.objects).find((d) => d.metadata.name === "vllm-bge-m3");
    assert.deepEqual(bge?.spec.template.spec.containers[0].resources.limits["nvidia.com/mig-2g.20gb"], "1");
  });

  it("the engine Deployment carries the spec's and plan's engine arguments, probes, shm and cache", () => {
    const d = objectsOf("Deployment", r.base.objects).find(
      (x) => x.metadata.name === "vllm-qwen-7b",
    ) as Plain;
    const c = d.spec.template.spec.containers[0];
    const arg = (flag: string) => c.args[c.args.indexOf(flag) + 1];
    assert.equal(arg("--model"), "Qwen/Qwen2.5-7B-Instruct-AWQ");
    assert.equal(arg("--tensor-parallel-size"), "1");
    assert.equal(arg("--max-model-len"), "8192");
    assert.equal(arg("--quantization"), "awq");
    assert.ok(c.args.includes("--enable-prefix-caching"));
    assert.equal(c.image, "vllm/vllm-openai:v0.11.0");
    assert.equal(c.startupProbe.httpGet.path, "/health");
    assert.ok(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold >= 300);
    assert.equal(c.readinessProbe.httpGet.path, "/health");
    const vols = d.spec.template.spec.volumes;
    assert.deepEqual(vols.find((v: Plain) => v.name === "shm").emptyDir, {
      medium: "Memory",
      sizeLimit: "8Gi",
    });
    // Autoscaled to 8 replicas: the cache is a shared ReadWriteMany claim, filled by an init container.
    assert.equal(
      vols.find((v: Plain) => v.name === "model-cache").persistentVolumeClaim.claimName,
      "vllm-qwen-7b-cache",
    );
    const pvc = objectsOf("PersistentVolumeClaim", r.base.objects)[0];
    assert.deepEqual(pvc?.spec.accessModes, ["ReadWriteMany"]);
    assert.equal(d.spec.template.spec.initContainers[0].name, "download-weights");
    // Production: 2 GPUs per replica → tensor parallel 2.
    const prod = r.environments.find((e) => e.name === "production");
    const pd = objectsOf("Deployment", prod?.objects ?? []).find(
      (x) => x.metadata.name === "vllm-qwen-7b",
    ) as Plain;
    const pc = pd.spec.template.spec.containers[0];
    assert.equal(pc.args[pc.args.indexOf("--tensor-parallel-size") + 1], "2");
    assert.equal(pc.resources.limits["nvidia.com/gpu"], "2");
    // dev: one replica, no autoscaler → a per-pod cache volume.
    const dev = r.environments.find((e) => e.name === "dev");
    const dd = objectsOf("Deployment", dev?.objects ?? []).find(
      (x) => x.metadata.name === "vllm-qwen-7b",
    ) as Plain;
    assert.equal(dd.spec.replicas, 1);
    assert.ok(dd.spec.template.spec.volumes.find((v: Plain) => v.name === "model-cache").ephemeral);
  });

  it("the gateway: readiness on /readyz, grace longer than preStop plus drain, streaming Ingress, policies", () => {
    const g = objectsOf("Deployment", r.base.objects).find(
      (x) => x.metadata.name === "inferplane-gateway",
    ) as Plain;
    const c = g.spec.template.spec.containers[0];
    assert.equal(c.readinessProbe.httpGet.path, "/readyz");
    const sleep = Number(/sleep (\d+)/.exec(c.lifecycle.preStop.exec.command[2])?.[1]);
    assert.ok(
      g.spec.template.spec.terminationGracePeriodSeconds >
        sleep + r.base.platform.gateway.drainTimeout / 1000,
    );
    const ing = objectsOf("Ingress", r.base.objects)[0] as Plain;
    assert.equal(ing.metadata.annotations["nginx.ingress.kubernetes.io/proxy-buffering"], "off");
    assert.equal(ing.metadata.annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"], "600");
    const prod = r.environments.find((e) => e.name === "production")?.objects ?? [];
    const gatewayHpa = objectsOf("HorizontalPodAutoscaler", prod).some(
      (h) => h.metadata.name === "inferplane-gateway",
    );
    assert.equal(gatewayHpa, true, "production's 3 gateways scale on CPU");
    const redis = objectsOf("Deployment", prod).some((d) => d.metadata.name === "inferplane-redis");
    assert.equal(redis, true, "3 replicas share a Redis");
    const baseRedis = objectsOf("Deployment", r.base.objects).some(
      (d) => d.metadata.name === "inferplane-redis",
    );
    assert.equal(baseRedis, false, "the base (SQLite RAG) runs one gateway, no Redis");
    const np = objectsOf("NetworkPolicy", r.base.objects).find(
      (x) => x.metadata.name === "inferplane-gateway",
    ) as Plain;
    assert.deepEqual(np.spec.policyTypes, ["Ingress", "Egress"]);
    const engines = objectsOf("NetworkPolicy", r.base.objects).find(
      (x) => x.metadata.name === "inferplane-engines",
    ) as Plain;
    assert.deepEqual(engines.spec.ingress[0].from, [
      { podSelector: { matchLabels: { "app.kubernetes.io/name": "inferplane-gateway" } } },
    ]);
  });

  it("the runtime config finds engines by DNS in each environment's namespace and refers to secrets by name only", () => {
    const prod = r.files.find((f) => f.path === "overlays/production/inferplane.yaml")?.content ?? "";
    assert.match(prod, /name: vllm-qwen-7b\.ai-inference-production\.svc\.cluster\.local/);
    assert.doesNotMatch(prod, /^environments:/m);
    const gw = objectsOf("Deployment", r.base.objects).find(
      (x) => x.metadata.name === "inferplane-gateway",
    ) as Plain;
    for (const e of gw.spec.template.spec.containers[0].env.filter((x: Plain) => x.valueFrom)) {
      assert.equal(e.valueFrom.secretKeyRef.name, "ai-inference-platform-secrets");
    }
    assert.equal(objectsOf("Secret", r.objects).length, 0, "no Secret values rendered");
  });

  it("every runtime config (overlays, base, compose) is a valid spec the gateway loads", () => {
    for (const f of r.files.filter((x) => x.path.endsWith("/inferplane.yaml"))) {
      const p = parseSpec(f.content, { file: f.path }).platform;
      const env = r.environments.find((e) => f.path === `overlays/${e.name}/inferplane.yaml`);
      assert.equal(p.metadata.namespace, env?.namespace ?? "ai-inference", f.path);
      for (const m of p.models) {
        if (f.path.startsWith("docker/")) assert.equal(m.endpoints.length, 1, f.path);
        else assert.equal(m.discovery?.kind, "dns", `${f.path} ${m.name}`);
      }
    }
  });

  it("production's in-cluster Milvus and Elasticsearch are rendered, corrected, in their namespace", () => {
    const files = r.files.filter((f) => f.path.startsWith("services/ai-rag/")).map((f) => f.path);
    assert.deepEqual(files, [
      "services/ai-rag/elasticsearch.yaml",
      "services/ai-rag/kustomization.yaml",
      "services/ai-rag/milvus.yaml",
      "services/ai-rag/namespace.yaml",
    ]);
    const es = r.objects.filter((o) => o.file.startsWith("services/ai-rag/")).map((o) => o.object as Plain);
    const svc = es
      .filter((o) => o.kind === "Service")
      .map((o) => o.metadata.name)
      .sort();
    assert.deepEqual(svc, ["elasticsearch-headless", "elasticsearch-svc", "milvus-headless", "milvus-svc"]);
    const milvus = es.find((o) => o.kind === "StatefulSet" && o.metadata.name === "milvus") as Plain;
    assert.deepEqual(milvus.spec.template.spec.containers[0].command, ["milvus", "run", "standalone"]);
  });
});

describe("render: variants of the spec", () => {
  it("via: prometheus-adapter renders an HPA on the adapter's name plus the adapter rule, and no ScaledObject", () => {
    const r = render(exampleWith("      via: keda", "      via: prometheus-adapter"));
    assert.equal(objectsOf("ScaledObject", r.base.objects).length, 0);
    const hpa = objectsOf("HorizontalPodAutoscaler", r.base.objects).find(
      (h) => h.metadata.name === "vllm-qwen-7b",
    ) as Plain;
    assert.equal(hpa.spec.metrics[0].pods.metric.name, "vllm_num_requests_waiting");
    assert.equal(hpa.spec.metrics[0].pods.target.averageValue, "5");
    const cm = objectsOf("ConfigMap", r.base.objects).find(
      (c) => c.metadata.name === "prometheus-adapter-rules",
    ) as Plain;
    assert.match(cm.data["config.yaml"], /seriesQuery: vllm:num_requests_waiting/);
    assert.match(cm.data["config.yaml"], /as: vllm_num_requests_waiting/);
    for (const o of r.objects) assert.deepEqual(validateObject(o.object), []);
  });

  it('kv_cache_usage targets are fractions: 0.8 renders as "0.8", 80 is refused', () => {
    const ok = render(
      exampleWith(
        "      metric: num_requests_waiting\n      target: 5",
        "      metric: kv_cache_usage\n      target: 0.8",
      ),
    );
    const so = objectsOf("ScaledObject", ok.base.objects)[0] as Plain;
    assert.equal(so.spec.triggers[0].metadata.threshold, "0.8");
    assert.match(so.spec.triggers[0].metadata.query, /vllm:kv_cache_usage_perc/);
    assert.throws(
      () =>
        render(
          exampleWith(
            "      metric: num_requests_waiting\n      target: 5",
            "      metric: kv_cache_usage\n      target: 80",
          ),
        ),
      (err: unknown) =>
        isInferplaneError(err) &&
        /0–1/.test(`${err.message} ${err.problems.map((p) => p.message).join(" ")}`),
    );
  });

  it("an engine version before the 0.9 rename gets the old KV-cache name, and never a removed one", () => {
    const r = render(
      exampleWith(
        /engineVersion: "0\.11\.0"\n {4}quantization: awq/,
        'engineVersion: "0.8.5"\n    quantization: awq',
      ).replace(
        "      metric: num_requests_waiting\n      target: 5",
        "      metric: kv_cache_usage\n      target: 0.8",
      ),
    );
    const so = objectsOf("ScaledObject", r.base.objects)[0] as Plain;
    assert.match(so.spec.triggers[0].metadata.query, /vllm:gpu_cache_usage_perc/);
    const rule = JSON.stringify(objectsOf("PrometheusRule", r.base.objects)[0]);
    // bge models still run 0.11: both names, one __name__ regex.
    assert.match(rule, /__name__=~\\"vllm:gpu_cache_usage_perc\|vllm:kv_cache_usage_perc\\"/);
  });
});

describe("render: a time-sliced pool", () => {
  const sliced = exampleWith(
    /sharing:\n {6}mode: mig\n(?: {6,}.*\n)+? {10}- gpus: 2\n {12}profiles: \["3g\.40gb", "2g\.20gb", "2g\.20gb"\]\n/,
    "sharing:\n      mode: time-slicing\n      replicas: 4\n",
  ).replace(/\n {6}migProfile: 2g\.20gb/g, "\n      count: 1");

  it("refuses models whose memory shares add up to more than one GPU", () => {
    assert.throws(
      () => render(sliced),
      (err: unknown) =>
        isInferplaneError(err) &&
        err.problems.some((p) => /0\.9 on pool a100, shared 4 ways, claims 3\.60/.test(p.message)),
    );
  });

  it("renders the device-plugin config and shares that fit, and lints clean", () => {
    const ok = sliced
      .replace(
        /\n {4}engineVersion: "0\.11\.0"\n {4}gpu:/g,
        '\n    engineVersion: "0.11.0"\n    gpuMemoryUtilization: 0.2\n    gpu:',
      )
      .replace("gpuMemoryUtilization: 0.9", "gpuMemoryUtilization: 0.2");
    const r = render(ok);
    const values = r.files.find((f) => f.path === "cluster/gpu-operator/values.yaml")?.content ?? "";
    assert.match(
      values,
      /devicePlugin:\n {2}enabled: true\n {2}config:\n {4}name: inferplane-device-plugin\n {4}default: exclusive/,
    );
    const dp = r.objects.find((o) => o.object.metadata.name === "inferplane-device-plugin")?.object as Plain;
    assert.deepEqual(Object.keys(dp.data), ["exclusive", "a100"]);
    assert.match(dp.data.a100, /replicas: 4/);
    for (const d of objectsOf("Deployment", r.base.objects).filter((x) =>
      x.metadata.name.startsWith("vllm-"),
    )) {
      const c = d.spec.template.spec.containers[0];
      const u = Number(c.args[c.args.indexOf("--gpu-memory-utilization") + 1]);
      assert.ok(u * 4 <= 1, `${d.metadata.name}: ${u}`);
      assert.equal(c.resources.limits["nvidia.com/gpu"], "1");
    }
    const docs = r.files
      .filter((f) => /\.ya?ml$/.test(f.path))
      .flatMap((f) => loadYamlDocs(f.path, f.content).docs);
    // argocd-replicas-fight reads every Application of the tree as syncing every Deployment;
    // each environment's Application does ignore the replicas its autoscalers own.
    const findings = lintInput({ docs, dockerfiles: [], broken: [] }).filter(
      (f) => f.rule !== "argocd-replicas-fight",
    );
    assert.deepEqual(findings, []);
    for (const o of r.objects) assert.deepEqual(validateObject(o.object), []);
  });
});

describe("overlay patches", () => {
  it("applying each overlay's JSON patches to the base objects yields the environment's objects", () => {
    const r = renderExample();
    for (const env of r.environments) {
      const base = new Map(
        r.base.objects.map((o) => [`${o.object.kind}/${o.object.metadata.name}`, o.object]),
      );
      for (const o of env.objects) {
        if (o.object.kind === "Namespace") continue;
        const before = base.get(`${o.object.kind}/${o.object.metadata.name}`);
        if (!before) continue;
        const patchFile = r.files.find(
          (f) =>
            f.path ===
            `overlays/${env.name}/patches/${o.object.kind.toLowerCase()}-${o.object.metadata.name}.yaml`,
        );
        const ops = patchFile
          ? (parseYamlDocuments(patchFile.content)[0] as ReturnType<typeof jsonPatch>)
          : [];
        assert.deepEqual(
          applyPatch(before, ops),
          o.object,
          `${env.name} ${o.object.kind}/${o.object.metadata.name}`,
        );
      }
    }
  });

  it("jsonPatch escapes / and ~ in keys and replaces lists whole", () => {
    const a = { metadata: { labels: { "a/b": "1", "c~d": "2" } }, list: [1, 2] };
    const b = { metadata: { labels: { "a/b": "3" } }, list: [1], extra: true };
    const ops = jsonPatch(a, b);
    assert.deepEqual(ops, [
      { op: "remove", path: "/metadata/labels/c~0d" },
      { op: "replace", path: "/metadata/labels/a~1b", value: "3" },
      { op: "replace", path: "/list", value: [1] },
      { op: "add", path: "/extra", value: true },
    ]);
    assert.deepEqual(applyPatch(a, ops), b);
  });
});
