// Each lint rule on small manifests that break it and on the corrected form that must pass,
// and the command: exit codes 0/1/2 and the text, json and SARIF formats.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { main } from "../../src/cli/main.js";
import { lintPaths, RULES } from "../../src/deploy/lint/index.js";
import { EXAMPLE_TEXT, ROOT } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "inferplane-lint-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** Lints these files (name → content) in a fresh directory; returns the rule ids found. */
function lint(files: Record<string, string>): {
  rules: string[];
  findings: ReturnType<typeof lintPaths>["findings"];
} {
  const d = join(dir, String(n++));
  mkdirSync(d);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  const r = lintPaths([d]);
  return { rules: [...new Set(r.findings.map((f) => f.rule))].sort(), findings: r.findings };
}

const vllm = (
  name: string,
  extra: { replicas?: number; args?: string[]; resources?: string; selector?: string; volumes?: string } = {},
) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${extra.replicas ?? 1}
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      nodeSelector: {${extra.selector ?? "nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB"}}
      containers:
        - name: vllm
          image: vllm/vllm-openai:v0.11.0
          args: ${JSON.stringify(extra.args ?? ["--model", "Qwen/Qwen2.5-7B-Instruct", "--gpu-memory-utilization", "0.9"])}
          resources:
            limits: {${extra.resources ?? '"nvidia.com/gpu": 1'}}
${extra.volumes ?? ""}`;

const operator = (values: string) => `apiVersion: helm.cattle.io/v1
kind: HelmChart
metadata: {name: gpu-operator, namespace: gpu-operator}
spec:
  chart: gpu-operator
  valuesContent: |
${values
  .split("\n")
  .map((l) => `    ${l}`)
  .join("\n")}
`;

const migConfig = (devices: string, name = "mig-parted") => `apiVersion: v1
kind: ConfigMap
metadata: {name: ${name}, namespace: gpu-operator}
data:
  config.yaml: |
    version: v1
    mig-configs:
      all-disabled:
        - devices: all
          mig-enabled: false
      custom:
        - devices: all
          mig-enabled: true
          mig-devices: ${devices}
`;

describe("lint rules, one by one", () => {
  it("time-slice-memory-oversubscribed: 2 shares × 0.6 > 1, 2 × 0.45 is fine", () => {
    const ts = `apiVersion: v1
kind: ConfigMap
metadata: {name: ts, namespace: gpu-operator}
data:
  any: |
    version: v1
    sharing:
      timeSlicing:
        resources:
          - name: nvidia.com/gpu
            replicas: 2
`;
    const bad = lint({
      "ts.yaml": ts,
      "d.yaml": vllm("a", {
        args: ["--model", "Qwen/Qwen2.5-7B-Instruct-AWQ", "--gpu-memory-utilization", "0.6"],
      }),
    });
    assert.deepEqual(bad.rules, ["time-slice-memory-oversubscribed"]);
    assert.match(bad.findings[0]?.message ?? "", /claim 1\.20 of its memory/);
    assert.deepEqual(
      lint({
        "ts.yaml": ts,
        "d.yaml": vllm("a", {
          args: ["--model", "Qwen/Qwen2.5-7B-Instruct-AWQ", "--gpu-memory-utilization", "0.45"],
        }),
      }).rules,
      [],
    );
  });

  it("mig-strategy-single-mixed and mig-resource-single-strategy, fixed by mig.strategy: mixed", () => {
    const single = operator("mig:\n  strategy: single\nmigManager:\n  config:\n    name: mig-parted");
    const mixed = operator("mig:\n  strategy: mixed\nmigManager:\n  config:\n    name: mig-parted");
    const pod = vllm("e", { args: ["--model", "BAAI/bge-m3"], resources: '"nvidia.com/mig-3g.40gb": 1' });
    const layout = '{"3g.40gb": 1, "2g.20gb": 2}';
    assert.deepEqual(lint({ "op.yaml": single, "mig.yaml": migConfig(layout), "d.yaml": pod }).rules, [
      "mig-resource-single-strategy",
      "mig-strategy-single-mixed",
    ]);
    assert.deepEqual(lint({ "op.yaml": mixed, "mig.yaml": migConfig(layout), "d.yaml": pod }).rules, []);
  });

  it("mig-layout-invalid: a profile of another GPU, too many instances, an unplaceable geometry", () => {
    const op = operator("mig:\n  strategy: mixed\nmigManager:\n  config:\n    name: mig-parted");
    const cases: [string, RegExp][] = [
      ['{"1g.5gb": 1, "1g.20gb": 1}', /no GPU has all of these profiles/],
      ['{"1g.10gb": 8}', /8 × 1g\.10gb exceeds the 7 instances/],
      ['{"3g.40gb": 2, "1g.10gb": 1}', /No placement|memory slices/],
    ];
    for (const [layout, message] of cases) {
      const r = lint({ "op.yaml": op, "mig.yaml": migConfig(layout) });
      assert.deepEqual(r.rules, ["mig-layout-invalid"], layout);
      assert.match(r.findings[0]?.message ?? "", message);
    }
    for (const ok of ['{"4g.40gb": 1, "3g.40gb": 1}', '{"3g.40gb": 1, "2g.20gb": 2}', '{"1g.10gb": 7}']) {
      assert.deepEqual(lint({ "op.yaml": op, "mig.yaml": migConfig(ok) }).rules, [], ok);
    }
  });

  it("gpu-config-key-missing: a node label, a migManager default and a device-plugin default naming no key", () => {
    const op = operator(
      "mig:\n  strategy: mixed\nmigManager:\n  config:\n    name: mig-parted\n    default: all-balanced\ndevicePlugin:\n  config:\n    name: dp\n    default: a100",
    );
    const dp =
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dp, namespace: gpu-operator}\ndata:\n  l4: |\n    version: v1\n";
    const node =
      "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  labels:\n    nvidia.com/mig.config: half\n";
    const r = lint({
      "op.yaml": op,
      "mig.yaml": migConfig('{"1g.10gb": 7}'),
      "dp.yaml": dp,
      "node.yaml": node,
    });
    assert.deepEqual(r.rules, ["gpu-config-key-missing"]);
    assert.equal(r.findings.length, 3);
    const fixed = lint({
      "op.yaml": op
        .replace("default: all-balanced", "default: custom")
        .replace("default: a100", "default: l4"),
      "mig.yaml": migConfig('{"1g.10gb": 7}'),
      "dp.yaml": dp,
      "node.yaml": node.replace("half", "custom"),
    });
    assert.deepEqual(fixed.rules, []);
  });

  it("rwo-cache-shared: 3 replicas on a ReadWriteOnce claim; ReadWriteMany passes", () => {
    const pvc = (mode: string) =>
      `apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: cache}\nspec:\n  accessModes: [${mode}]\n  resources: {requests: {storage: 100Gi}}\n`;
    const vols =
      "      volumes:\n        - name: cache\n          persistentVolumeClaim: {claimName: cache}\n";
    const d = vllm("a", { replicas: 3, args: ["--model", "Qwen/Qwen2.5-7B-Instruct-AWQ"], volumes: vols });
    assert.deepEqual(lint({ "pvc.yaml": pvc("ReadWriteOnce"), "d.yaml": d }).rules, ["rwo-cache-shared"]);
    assert.deepEqual(lint({ "pvc.yaml": pvc("ReadWriteMany"), "d.yaml": d }).rules, []);
  });

  it("hpa-and-keda-same-target, and a KEDA trigger that would read a wrong query as 0", () => {
    const hpa =
      "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: a}\n  maxReplicas: 4\n  metrics:\n    - type: Resource\n      resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}\n";
    const so = (extra: string) =>
      `apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: s}\nspec:\n  scaleTargetRef: {name: a}\n  triggers:\n    - type: prometheus\n      metadata:\n        serverAddress: http://prometheus:9090\n        query: sum(vllm:num_requests_waiting)\n        threshold: "5"\n${extra}`;
    const r = lint({ "h.yaml": hpa, "s.yaml": so("") });
    assert.deepEqual(r.rules, ["hpa-and-keda-same-target", "keda-ignore-null-values"]);
    assert.equal(r.findings.find((f) => f.rule === "keda-ignore-null-values")?.severity, "warning");
    assert.deepEqual(lint({ "s.yaml": so('        ignoreNullValues: "false"\n') }).rules, []);
    // The HPA KEDA itself creates for the ScaledObject (as a cluster dump shows it) is not a second one.
    const kedaHpa = hpa.replace(
      "metadata: {name: h}",
      "metadata:\n  name: keda-hpa-s\n  labels: {scaledobject.keda.sh/name: s}",
    );
    assert.deepEqual(
      lint({ "h.yaml": kedaHpa, "s.yaml": so('        ignoreNullValues: "false"\n') }).rules,
      [],
    );
  });

  it("fraction-target-as-percent on a KEDA threshold, and vllm-metric-unknown", () => {
    const so = `apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: s}\nspec:\n  scaleTargetRef: {name: a}\n  triggers:\n    - type: prometheus\n      metadata:\n        serverAddress: http://p:9090\n        query: avg(vllm:kv_cache_usage_perc)\n        threshold: "80"\n        ignoreNullValues: "false"\n`;
    assert.deepEqual(lint({ "s.yaml": so }).rules, ["fraction-target-as-percent"]);
    assert.deepEqual(lint({ "s.yaml": so.replace('"80"', '"0.8"') }).rules, []);
    const rules =
      "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(vllm:num_requests_total[1m]) > 1\n";
    assert.deepEqual(lint({ "rules.yaml": rules }).rules, ["vllm-metric-unknown"]);
  });

  it("hpa-metric-without-adapter is satisfied by a prometheus-adapter rule exposing the name", () => {
    const hpa =
      'apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: a}\n  maxReplicas: 4\n  metrics:\n    - type: Pods\n      pods:\n        metric: {name: vllm_num_requests_running}\n        target: {type: AverageValue, averageValue: "10"}\n';
    const adapter = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: adapter}\ndata:\n  config.yaml: |\n    rules:\n      - seriesQuery: 'vllm:num_requests_running'\n        resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}\n        name: {matches: "vllm:num_requests_running", as: "vllm_num_requests_running"}\n        metricsQuery: 'sum(vllm:num_requests_running{<<.LabelMatchers>>}) by (<<.GroupBy>>)'\n`;
    assert.deepEqual(lint({ "h.yaml": hpa }).rules, ["hpa-metric-without-adapter"]);
    assert.deepEqual(lint({ "h.yaml": hpa, "a.yaml": adapter }).rules, []);
  });

  it("kv-cache-below-context: Llama-3.1-8B at 131072 tokens on one L4; 8192 fits", () => {
    const d = (len: string) =>
      vllm("l", {
        selector: "nvidia.com/gpu.product: NVIDIA-L4",
        args: ["--model", "meta-llama/Llama-3.1-8B-Instruct", "--max-model-len", len],
      });
    const r = lint({ "d.yaml": d("131072") });
    assert.deepEqual(r.rules, ["kv-cache-below-context"]);
    assert.match(
      r.findings[0]?.message ?? "",
      /131072 bytes\/token from 8 KV heads; 524288 if wrongly sized by 32 attention heads/,
    );
    assert.deepEqual(lint({ "d.yaml": d("8192") }).rules, []);
  });

  it("moe-sized-by-active-params: DeepSeek-V3 (671B total, 37B active) on 8 × H100; model-weights-exceed-memory for a dense 70B", () => {
    const moe = lint({
      "d.yaml": vllm("ds", {
        selector: "nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3",
        resources: '"nvidia.com/gpu": 8',
        args: ["--model", "deepseek-ai/DeepSeek-V3", "--tensor-parallel-size", "8"],
      }),
    });
    assert.deepEqual(moe.rules, ["moe-sized-by-active-params"]);
    assert.match(moe.findings[0]?.message ?? "", /671B total/);
    const dense = lint({ "d.yaml": vllm("l", { args: ["--model", "meta-llama/Llama-3.1-70B-Instruct"] }) });
    assert.deepEqual(dense.rules, ["model-weights-exceed-memory"]);
    const fits = lint({
      "d.yaml": vllm("l", {
        resources: '"nvidia.com/gpu": 4',
        args: [
          "--model",
          "meta-llama/Llama-3.1-70B-Instruct",
          "--tensor-parallel-size",
          "4",
          "--max-model-len",
          "32768",
        ],
      }),
    });
    assert.deepEqual(fits.rules, []);
  });

  it("kustomize-deprecated-field: patchesStrategicMerge is a warning, commonLabels an error", () => {
    const r = lint({
      "kustomization.yaml": "resources: [a.yaml]\npatchesStrategicMerge: [p.yaml]\ncommonLabels: {a: b}\n",
    });
    assert.deepEqual(
      r.findings.map((f) => [f.line, f.severity]),
      [
        [2, "warning"],
        [3, "error"],
      ],
    );
  });

  it("spec files: invalid specs are findings at their line; time-sliced memory in a spec is caught", () => {
    const invalid = lint({
      "inferplane.yaml": EXAMPLE_TEXT.replace("maxModelLen: 8192", 'maxModelLen: "eight"'),
    });
    assert.deepEqual(invalid.rules, ["spec-invalid"]);
    const line = EXAMPLE_TEXT.split("\n").findIndex((l) => l.includes("maxModelLen: 8192")) + 1;
    assert.equal(invalid.findings[0]?.line, line);
    const sliced = EXAMPLE_TEXT.replace(
      /sharing:\n {6}mode: mig\n(?: {6,}.*\n)+? {10}- gpus: 2\n {12}profiles: \["3g\.40gb", "2g\.20gb", "2g\.20gb"\]\n/,
      "sharing:\n      mode: time-slicing\n      replicas: 4\n",
    ).replace(/\n {6}migProfile: 2g\.20gb/g, "\n      count: 1");
    assert.notEqual(sliced, EXAMPLE_TEXT);
    const r = lint({ "inferplane.yaml": sliced });
    assert.ok(r.rules.includes("time-slice-memory-oversubscribed"), JSON.stringify(r.findings));
  });

  it("yaml-invalid for a file that does not parse", () => {
    assert.deepEqual(lint({ "bad.yaml": "a: [1, 2\nb: c\n" }).rules, ["yaml-invalid"]);
  });

  it("every rule has an id, a severity and a title, and is documented in docs/deploy.md", async () => {
    const { readFileSync } = await import("node:fs");
    const doc = readFileSync(join(ROOT, "docs/deploy.md"), "utf8");
    assert.equal(new Set(RULES.map((r) => r.id)).size, RULES.length);
    for (const r of RULES) assert.match(doc, new RegExp(`\\| \`${r.id}\` \\| ${r.severity} \\|`), r.id);
  });
});

describe("inferplane lint (command)", () => {
  function capture() {
    let out = "";
    let err = "";
    return {
      io: {
        out: (t: string) => {
          out += t;
        },
        err: (t: string) => {
          err += t;
        },
        isTTY: false,
      },
      get: () => ({ out, err }),
    };
  }
  const guide = join(ROOT, "test/fixtures/guide");

  it("exits 0 on clean files, 1 on errors, 2 on a missing path or an unknown format", async () => {
    const a = capture();
    assert.equal(await main(["node", "inferplane", "lint", join(ROOT, "examples/rendered")], a.io), 0);
    assert.match(a.get().out, /no problems/);
    const b = capture();
    assert.equal(await main(["node", "inferplane", "lint", guide], b.io), 1);
    assert.match(b.get().out, /vllm-hpa\.yaml:\d+:\d+: error \[fraction-target-as-percent\]/);
    const c = capture();
    assert.equal(await main(["node", "inferplane", "lint", join(dir, "nope")], c.io), 2);
    assert.match(c.get().err, /no such file/);
    const d = capture();
    assert.equal(await main(["node", "inferplane", "lint", "--format", "xml", guide], d.io), 2);
    // Both through the error module: its message form and its code.
    assert.match(c.get().err, /^✖ no such file or directory: .*nope \[usage\]$/m);
    assert.match(d.get().err, /^✖ unknown --format xml: use text, json, sarif \[usage\]$/m);
  });

  it("--format json and --format sarif carry the same findings", async () => {
    const j = capture();
    assert.equal(await main(["node", "inferplane", "lint", "--format", "json", guide], j.io), 1);
    const report = JSON.parse(j.get().out);
    assert.equal(
      report.errors,
      report.findings.filter((f: { severity: string }) => f.severity === "error").length,
    );
    const s = capture();
    assert.equal(await main(["node", "inferplane", "lint", "--format", "sarif", guide], s.io), 1);
    const sarif = JSON.parse(s.get().out);
    assert.equal(sarif.version, "2.1.0");
    const run = sarif.runs[0];
    assert.deepEqual(
      run.tool.driver.rules.map((r: { id: string }) => r.id),
      RULES.map((r) => r.id),
    );
    assert.equal(run.results.length, report.findings.length);
    for (const [i, res] of run.results.entries()) {
      const f = report.findings[i];
      assert.equal(res.ruleId, f.rule);
      assert.equal(res.locations[0].physicalLocation.region.startLine, f.line);
      assert.equal(run.tool.driver.rules[res.ruleIndex].id, f.rule);
    }
  });
});
