// Over 600 lines: the rule list, then the Linter whose checks share the documents it classifies once.
/**
 * The lint rules. Every known error of the deployment guide and every other common mistake
 * (docs/deploy.md, "Rules") is a rule here (RULES lists them with their source); each finding
 * carries the rule id, the severity, a message with the numbers, and file:line.
 */
import { findGpu, listGpus } from "../../catalog/gpus.js";
import { kvBytesPerToken, type WeightFormat, weightBytes } from "../../catalog/kv.js";
import { isLegalMigLayout, normalizeProfileName } from "../../catalog/mig.js";
import { type ModelSpec as CatalogModel, findModelByRepo } from "../../catalog/models.js";
import { engineMetricTokens, metricNameProblems } from "../../engines/index.js";
import { isCompose } from "./containers.js";
import { instructions } from "./dockerfile.js";
import { imageRules } from "./image-rules.js";
import { embeddedDocs, type LintInput, type LoadedDoc, type PathKey } from "./load.js";
import { isFractionMetric } from "./metrics.js";
import { isPlain, type K8s, type LintContext, type Plain, str } from "./objects.js";
import type { Finding, RuleId, RuleInfo, Severity } from "./types.js";
import { vpaRules } from "./vpa-rules.js";
import { workloadRules } from "./workload-rules.js";

export const RULES = [
  {
    id: "fraction-target-as-percent",
    severity: "error",
    source: "known-error",
    title: "Autoscaler or alert threshold above 1 on a 0–1 fraction metric (vLLM KV-cache usage)",
  },
  {
    id: "vllm-metric-renamed",
    severity: "error",
    source: "known-error",
    title: "vLLM metric deprecated or removed (gpu_cache_usage_perc → kv_cache_usage_perc, …)",
  },
  {
    id: "vllm-metric-underscore",
    severity: "error",
    source: "known-error",
    title: "vLLM metric written with underscores (vllm_…) in PromQL; vLLM exposes vllm:…",
  },
  {
    id: "vllm-counter-without-total",
    severity: "error",
    source: "known-error",
    title: "vLLM counter without its _total suffix (vllm:num_preemptions)",
  },
  {
    id: "hpa-metric-without-adapter",
    severity: "error",
    source: "known-error",
    title: "HPA on a custom metric that no prometheus-adapter rule exposes",
  },
  {
    id: "mig-layout-invalid",
    severity: "error",
    source: "known-error",
    title: "MIG geometry a GPU cannot hold: unknown profile, too many instances, or no placement",
  },
  {
    id: "kustomize-deprecated-field",
    severity: "error",
    source: "known-error",
    title: "commonLabels (and patchesStrategicMerge, patchesJson6902, vars) deprecated in Kustomize 5",
  },
  {
    id: "dockerfile-image-without-weights",
    severity: "error",
    source: "known-error",
    title: "Dockerfile downloads a model excluding its weight files (*.safetensors)",
  },
  {
    id: "argocd-replicas-fight",
    severity: "error",
    source: "known-error",
    title:
      "Autoscaled Deployment with fixed replicas synced by ArgoCD without ignoreDifferences on /spec/replicas",
  },
  {
    id: "time-slice-memory-oversubscribed",
    severity: "error",
    source: "other-mistake",
    title: "Time-sliced replicas whose --gpu-memory-utilization add up to more than 1 on one GPU",
  },
  {
    id: "mig-strategy-single-mixed",
    severity: "error",
    source: "other-mistake",
    title: "GPU Operator mig.strategy single with mixed MIG profiles",
  },
  {
    id: "mig-resource-single-strategy",
    severity: "error",
    source: "other-mistake",
    title: "Pod requests nvidia.com/mig-<profile> while the MIG strategy is single",
  },
  {
    id: "gpu-config-key-missing",
    severity: "error",
    source: "other-mistake",
    title: "nvidia.com/mig.config label or devicePlugin/migManager default naming no key of its ConfigMap",
  },
  {
    id: "rwo-cache-shared",
    severity: "error",
    source: "other-mistake",
    title: "ReadWriteOnce model-cache PVC shared by more than one replica",
  },
  {
    id: "hpa-and-keda-same-target",
    severity: "error",
    source: "other-mistake",
    title: "An HPA and a KEDA ScaledObject scale the same Deployment",
  },
  {
    id: "kv-cache-below-context",
    severity: "error",
    source: "other-mistake",
    title: "KV cache (sized with KV heads, MLA for DeepSeek) cannot hold one --max-model-len sequence",
  },
  {
    id: "moe-sized-by-active-params",
    severity: "error",
    source: "other-mistake",
    title: "MoE model on GPUs that fit its active, not its total, parameters",
  },
  {
    id: "model-weights-exceed-memory",
    severity: "error",
    source: "extra",
    title: "Model weights per GPU above what --gpu-memory-utilization allows",
  },
  {
    id: "vllm-metric-unknown",
    severity: "warning",
    source: "extra",
    title: "A vllm metric name no vLLM version exposes",
  },
  {
    id: "keda-ignore-null-values",
    severity: "warning",
    source: "extra",
    title: 'KEDA Prometheus trigger without ignoreNullValues "false" (a wrong query silently reads 0)',
  },
  {
    id: "device-plugin-config-file-missing",
    severity: "error",
    source: "extra",
    title: "Device plugin --config-file names a key its ConfigMap does not have",
  },
  {
    id: "selector-template-mismatch",
    severity: "error",
    source: "guide-file",
    title: "Workload whose selector its own pod template's labels do not satisfy (the API server rejects it)",
  },
  {
    id: "standalone-store-replicated",
    severity: "error",
    source: "guide-file",
    title:
      "Single-node store (Milvus standalone, Elasticsearch discovery.type=single-node) run with more than one replica",
  },
  {
    id: "statefulset-service-missing",
    severity: "error",
    source: "guide-file",
    title:
      "StatefulSet serviceName with no such Service among the linted files (a note when it may live elsewhere)",
  },
  {
    id: "image-command-missing",
    severity: "error",
    source: "guide-file",
    title: "Container of an image that needs a command (Milvus, MinIO) started without it",
  },
  {
    id: "run-unquoted-version-specifier",
    severity: "error",
    source: "guide-file",
    title: "Unquoted version specifier with > or < in a shell RUN: the shell takes it as a redirect",
  },
  {
    id: "probe-binary-missing",
    severity: "error",
    source: "guide-file",
    title:
      "HEALTHCHECK or exec probe calling a program the image does not ship and the Dockerfile never installs",
  },
  {
    id: "vpa-hpa-same-resource",
    severity: "error",
    source: "extra",
    title: "VerticalPodAutoscaler setting CPU or memory that an HPA (or KEDA) scales the same workload on",
  },
  { id: "yaml-invalid", severity: "error", source: "extra", title: "A file that does not parse" },
  {
    id: "spec-invalid",
    severity: "error",
    source: "extra",
    title: "An Inferplane spec that does not validate",
  },
] as const satisfies readonly RuleInfo[];

const SEVERITY = new Map<RuleId, Severity>(RULES.map((r) => [r.id, r.severity]));

interface PodSpecRef {
  owner: K8s;
  spec: Plain;
  path: PathKey[];
  /** Replicas the owner can reach (autoscaler max included, filled in later). */
  replicas: number;
}

interface Embedded {
  doc: LoadedDoc;
  value: Plain;
  /** The ConfigMap holding it (name, key) when it came from one. */
  configMap?: { name: string; key: string };
}

export class Linter implements LintContext {
  readonly findings: Finding[] = [];
  readonly k8s: K8s[] = [];
  readonly compose: LoadedDoc[] = [];
  private readonly migConfigs: Embedded[] = [];
  private readonly devicePluginConfigs: Embedded[] = [];
  private readonly adapterRules: { doc: LoadedDoc; rules: Plain[] }[] = [];
  private readonly ruleFiles: { doc: LoadedDoc; groups: unknown[]; path: PathKey[] }[] = [];
  private readonly dashboards: { doc: LoadedDoc; json: Plain; path: PathKey[] }[] = [];
  private readonly gpuValues: { doc: LoadedDoc; values: Plain; path: PathKey[] }[] = [];
  private readonly kustomizations: { doc: LoadedDoc; value: Plain }[] = [];

  get dockerfiles(): LintInput["dockerfiles"] {
    return this.input.dockerfiles;
  }

  constructor(private readonly input: LintInput) {
    for (const b of input.broken) this.add("yaml-invalid", b.message, b.file, b.line, 1);
    for (const doc of input.docs) this.classify(doc);
  }

  add(rule: RuleId, message: string, file: string, line: number, column = 1, severity?: Severity): void {
    this.findings.push({
      rule,
      severity: severity ?? SEVERITY.get(rule) ?? "error",
      message,
      file,
      line,
      column,
    });
  }

  at(doc: LoadedDoc, path: readonly PathKey[], rule: RuleId, message: string, severity?: Severity): void {
    const w = doc.where(path);
    this.add(rule, message, doc.file, w.line, w.column, severity);
  }

  private classify(doc: LoadedDoc): void {
    const v = doc.value;
    if (!isPlain(v)) return;
    const kind = str(v.kind);
    const apiVersion = str(v.apiVersion);
    if (kind === "Kustomization" || kind === "Component" || /(^|\/)kustomization\.ya?ml$/.test(doc.file)) {
      this.kustomizations.push({ doc, value: v });
      return;
    }
    if (isCompose(v)) {
      this.compose.push(doc);
      return;
    }
    if (kind && apiVersion && isPlain(v.metadata)) {
      this.classifyK8s({ doc, o: v, kind, name: str(v.metadata.name) ?? "" });
      return;
    }
    this.classifyEmbedded(doc, undefined, []);
  }

  /** A Kubernetes object, and the documents some kinds carry inside (ConfigMap data, Helm values). */
  private classifyK8s(k: K8s): void {
    const { doc, o: v, kind } = k;
    this.k8s.push(k);
    if (kind === "ConfigMap" && isPlain(v.data)) this.classifyConfigMapData(k, v.data);
    if (kind === "HelmChart" && isPlain(v.spec) && typeof v.spec.valuesContent === "string") {
      for (const d of embeddedDocs(doc, ["spec", "valuesContent"], v.spec.valuesContent)) {
        if (isPlain(d.value)) this.gpuValues.push({ doc: d, values: d.value, path: [] });
      }
    }
    if (kind === "PrometheusRule" && isPlain(v.spec) && Array.isArray(v.spec.groups)) {
      this.ruleFiles.push({ doc, groups: v.spec.groups, path: ["spec", "groups"] });
    }
  }

  /** Each ConfigMap key that parses as YAML/JSON, classified as a file of its own would be. */
  private classifyConfigMapData(k: K8s, data: Record<string, unknown>): void {
    for (const [key, text] of Object.entries(data)) {
      if (typeof text !== "string") continue;
      let inner: LoadedDoc[] = [];
      try {
        inner = embeddedDocs(k.doc, ["data", key], text);
      } catch {
        continue;
      }
      for (const d of inner) this.classifyEmbedded(d, { name: k.name, key }, ["data", key]);
    }
  }

  private classifyEmbedded(
    doc: LoadedDoc,
    cm: { name: string; key: string } | undefined,
    path: PathKey[],
  ): void {
    const v = doc.value;
    if (!isPlain(v)) return;
    if (isPlain(v["mig-configs"])) this.migConfigs.push({ doc, value: v, ...(cm ? { configMap: cm } : {}) });
    else if (isPlain(v.sharing) || (v.version === "v1" && cm))
      this.devicePluginConfigs.push({ doc, value: v, ...(cm ? { configMap: cm } : {}) });
    if (Array.isArray(v.groups)) this.ruleFiles.push({ doc, groups: v.groups, path: ["groups"] });
    if (Array.isArray(v.panels)) this.dashboards.push({ doc, json: v, path: [] });
    const rules = v.rules;
    if (Array.isArray(rules) && rules.some((r) => isPlain(r) && "seriesQuery" in r))
      this.adapterRules.push({ doc, rules: rules.filter(isPlain) });
    if (isPlain(rules) && Array.isArray(rules.custom))
      this.adapterRules.push({ doc, rules: rules.custom.filter(isPlain) });
    if (!cm && ("migManager" in v || "devicePlugin" in v || ("mig" in v && "driver" in v)))
      this.gpuValues.push({ doc, values: v, path: [] });
    void path;
  }

  // ------------------------------------------------------------------ helpers

  private podSpecs(): PodSpecRef[] {
    const out: PodSpecRef[] = [];
    for (const k of this.k8s) {
      const spec = k.o.spec;
      if (!isPlain(spec)) continue;
      if (k.kind === "Pod") out.push({ owner: k, spec, path: ["spec"], replicas: 1 });
      else if (["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"].includes(k.kind)) {
        const t = spec.template;
        if (isPlain(t) && isPlain(t.spec)) {
          const replicas = typeof spec.replicas === "number" ? spec.replicas : 1;
          out.push({
            owner: k,
            spec: t.spec,
            path: ["spec", "template", "spec"],
            replicas: Math.max(replicas, this.autoscaledMax(k.name)),
          });
        }
      }
    }
    return out;
  }

  private autoscalers(): { k: K8s; target: string; kind: "hpa" | "keda"; max: number }[] {
    const out: { k: K8s; target: string; kind: "hpa" | "keda"; max: number }[] = [];
    for (const k of this.k8s) {
      const spec = k.o.spec;
      if (!isPlain(spec) || !isPlain(spec.scaleTargetRef)) continue;
      const target = str(spec.scaleTargetRef.name);
      if (!target) continue;
      const targetKind = str(spec.scaleTargetRef.kind) ?? "Deployment";
      if (targetKind !== "Deployment") continue;
      if (k.kind === "HorizontalPodAutoscaler" && !kedaManaged(k.o))
        out.push({ k, target, kind: "hpa", max: Number(spec.maxReplicas ?? 1) });
      if (k.kind === "ScaledObject")
        out.push({ k, target, kind: "keda", max: Number(spec.maxReplicaCount ?? 100) });
    }
    return out;
  }

  private autoscaledMax(deployment: string): number {
    return Math.max(
      0,
      ...this.autoscalers()
        .filter((a) => a.target === deployment)
        .map((a) => a.max),
    );
  }

  private containers(p: PodSpecRef): { c: Plain; path: PathKey[] }[] {
    const list = Array.isArray(p.spec.containers) ? p.spec.containers : [];
    return list.flatMap((c, i) => (isPlain(c) ? [{ c, path: [...p.path, "containers", i] }] : []));
  }

  private args(c: Plain): string[] {
    return [...(Array.isArray(c.command) ? c.command : []), ...(Array.isArray(c.args) ? c.args : [])].map(
      String,
    );
  }

  private flag(args: readonly string[], name: string): string | undefined {
    for (let i = 0; i < args.length; i++) {
      const a = args[i] ?? "";
      if (a === name) return args[i + 1];
      if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
    }
    return undefined;
  }

  private resources(c: Plain): Record<string, string> {
    const r = isPlain(c.resources) ? c.resources : {};
    const out: Record<string, string> = {};
    for (const part of ["requests", "limits"]) {
      const m = r[part];
      if (isPlain(m)) for (const [k, v] of Object.entries(m)) out[k] = String(v);
    }
    return out;
  }

  /** The effective GPU Operator settings among the linted files, when any values are present. */
  private operator(): {
    strategy: string;
    strategyExplicit: boolean;
    migConfigName?: string;
    migDefault: string;
    dpName?: string;
    dpDefault?: string;
    doc?: LoadedDoc;
  } | null {
    const v = this.gpuValues[0];
    if (!v) return null;
    const mig = isPlain(v.values.mig) ? v.values.mig : {};
    const mm = isPlain(v.values.migManager) ? v.values.migManager : {};
    const mmc = isPlain(mm.config) ? mm.config : {};
    const dp = isPlain(v.values.devicePlugin) ? v.values.devicePlugin : {};
    const dpc = isPlain(dp.config) ? dp.config : {};
    return {
      strategy: str(mig.strategy) ?? "single",
      strategyExplicit: typeof mig.strategy === "string",
      ...(str(mmc.name) ? { migConfigName: str(mmc.name) } : {}),
      migDefault: str(mmc.default) ?? "all-disabled",
      ...(str(dpc.name) ? { dpName: str(dpc.name) } : {}),
      ...(str(dpc.default) ? { dpDefault: str(dpc.default) } : {}),
      doc: v.doc,
    };
  }

  // ------------------------------------------------------------------ rules

  run(): Finding[] {
    this.promqlRules();
    this.autoscalerRules();
    this.migRules();
    this.kustomizeRules();
    this.dockerfileRules();
    this.argocdRules();
    this.timeSliceRules();
    this.volumeRules();
    this.sizingRules();
    this.devicePluginFileRule();
    workloadRules(this);
    imageRules(this);
    vpaRules(this);
    return this.findings.sort((a, b) =>
      a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || (a.rule < b.rule ? -1 : 1),
    );
  }

  private checkExpr(doc: LoadedDoc, path: PathKey[], expr: string, opts: { threshold?: boolean } = {}): void {
    for (const token of engineMetricTokens(expr)) {
      for (const p of metricNameProblems(token)) this.at(doc, path, p.rule, p.message);
    }
    if (opts.threshold) {
      // `<fraction metric> > N` with N > 1 (the guide's "70" and "90%" readings of a 0–1 value).
      const m = /([A-Za-z_:][A-Za-z0-9_:]*(?:\{[^}]*\})?)\s*(?:>|>=|<|<=|==)\s*([0-9.]+)/.exec(expr);
      if (m?.[1] && m[2] && isFractionMetric(m[1].replace(/\{.*$/, "")) && Number(m[2]) > 1) {
        this.at(
          doc,
          path,
          "fraction-target-as-percent",
          `${m[1]} is a 0–1 fraction; the threshold ${m[2]} can never be reached (write ${Number(m[2]) / 100})`,
        );
      }
    }
  }

  private promqlRules(): void {
    for (const f of this.ruleFiles) {
      f.groups.forEach((g, gi) => {
        if (!isPlain(g) || !Array.isArray(g.rules)) return;
        g.rules.forEach((r, ri) => {
          if (isPlain(r) && typeof r.expr === "string")
            this.checkExpr(f.doc, [...f.path, gi, "rules", ri, "expr"], r.expr, { threshold: true });
        });
      });
    }
    for (const d of this.dashboards) {
      const panels = Array.isArray(d.json.panels) ? d.json.panels : [];
      panels.forEach((p, pi) => {
        if (!isPlain(p) || !Array.isArray(p.targets)) return;
        p.targets.forEach((t, ti) => {
          if (isPlain(t) && typeof t.expr === "string")
            this.checkExpr(d.doc, [...d.path, "panels", pi, "targets", ti, "expr"], t.expr);
        });
      });
    }
    for (const a of this.adapterRules) {
      a.rules.forEach((r, i) => {
        for (const key of ["seriesQuery", "metricsQuery"]) {
          if (typeof r[key] === "string") this.checkExpr(a.doc, ["rules", i, key], r[key] as string);
        }
      });
    }
  }

  private adapterNames(): Set<string> {
    const names = new Set<string>();
    for (const a of this.adapterRules) {
      for (const r of a.rules) {
        const n = isPlain(r.name) ? r.name : {};
        if (typeof n.as === "string" && n.as !== "") names.add(n.as);
        else if (typeof r.seriesQuery === "string") {
          // Without `as`, the adapter exposes the series name itself (minus _total for counters).
          const s = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(r.seriesQuery)?.[0];
          if (s) names.add(s.replace(/_total$/, ""));
        }
      }
    }
    return names;
  }

  private autoscalerRules(): void {
    const exposed = this.adapterNames();
    const autos = this.autoscalers();
    for (const a of autos) {
      const spec = a.k.o.spec as Plain;
      if (a.kind === "hpa") {
        const metrics = Array.isArray(spec.metrics) ? spec.metrics : [];
        metrics.forEach((m, i) => {
          if (isPlain(m)) this.hpaMetricRules(a.k, m, i, exposed);
        });
      } else {
        const triggers = Array.isArray(spec.triggers) ? spec.triggers : [];
        triggers.forEach((t, i) => {
          if (isPlain(t) && t.type === "prometheus" && isPlain(t.metadata))
            this.kedaTriggerRules(a.k, t.metadata, i);
        });
      }
    }
    this.sameTargetRule(autos);
  }

  /** One HPA metric (not a resource metric): a vLLM name, an adapter that exposes it, a 0–1 target. */
  private hpaMetricRules(hpa: K8s, m: Plain, i: number, exposed: Set<string>): void {
    const type = str(m.type) ?? "";
    // The metric's own block: `pods`, `object`, `external`, … (the type, first letter lower-cased).
    const field = type.charAt(0).toLowerCase() + type.slice(1);
    const src = isPlain(m[field]) ? (m[field] as Plain) : undefined;
    if (!src || type === "Resource" || type === "ContainerResource") return;
    const name = isPlain(src.metric) ? str(src.metric.name) : undefined;
    if (!name) return;
    const path: PathKey[] = ["spec", "metrics", i];
    for (const p of metricNameProblems(name, { allowUnderscore: true }))
      this.at(hpa.doc, [...path, field, "metric", "name"], p.rule, p.message);
    if (!exposed.has(name)) {
      this.at(
        hpa.doc,
        [...path, "type"],
        "hpa-metric-without-adapter",
        `HPA ${hpa.name} reads ${type} metric ${name}, but no prometheus-adapter rule exposes it: the HPA can never read it (add the adapter rule, or use a KEDA ScaledObject instead)`,
      );
    }
    const target = isPlain(src.target) ? src.target : {};
    const raw = target.averageValue ?? target.value;
    if (raw === undefined || !isFractionMetric(name)) return;
    const v = quantity(String(raw));
    if (v !== undefined && v > 1) {
      this.at(
        hpa.doc,
        [...path, field, "target"],
        "fraction-target-as-percent",
        `${name} is a 0–1 fraction; a target of ${String(raw)} can never be reached, so the HPA never scales (write ${v / 100})`,
      );
    }
  }

  /** One KEDA prometheus trigger: its query, a 0–1 threshold written as a percent, ignoreNullValues. */
  private kedaTriggerRules(so: K8s, md: Plain, i: number): void {
    const q = str(md.query);
    if (q) {
      this.checkExpr(so.doc, ["spec", "triggers", i, "metadata", "query"], q);
      const th = quantity(String(md.threshold ?? ""));
      const fraction =
        engineMetricTokens(q).some(isFractionMetric) || isFractionMetric(q.replace(/\{.*$/, ""));
      if (fraction && th !== undefined && th > 1) {
        this.at(
          so.doc,
          ["spec", "triggers", i, "metadata", "threshold"],
          "fraction-target-as-percent",
          `the query reads a 0–1 fraction; threshold ${String(md.threshold)} can never be reached (write ${th / 100})`,
        );
      }
    }
    if (md.ignoreNullValues !== "false" && md.ignoreNullValues !== false) {
      this.at(
        so.doc,
        ["spec", "triggers", i, "metadata"],
        "keda-ignore-null-values",
        `ScaledObject ${so.name}: without ignoreNullValues: "false" a query that matches nothing reads as 0 and the Deployment scales to its minimum`,
      );
    }
  }

  /** An HPA and a ScaledObject on the same Deployment. */
  private sameTargetRule(autos: ReturnType<Linter["autoscalers"]>): void {
    const byTarget = new Map<string, typeof autos>();
    for (const a of autos) byTarget.set(a.target, [...(byTarget.get(a.target) ?? []), a]);
    for (const [target, list] of byTarget) {
      const hpa = list.find((x) => x.kind === "hpa");
      const keda = list.find((x) => x.kind === "keda");
      if (hpa && keda) {
        this.at(
          hpa.k.doc,
          ["spec", "scaleTargetRef"],
          "hpa-and-keda-same-target",
          `HPA ${hpa.k.name} and ScaledObject ${keda.k.name} both scale Deployment ${target}: KEDA creates its own HPA and the two fight over replicas`,
        );
      }
    }
  }

  private migRules(): void {
    const op = this.operator();
    for (const m of this.migConfigs) this.migConfigRules(m, op);
    const allMigKeys = new Set(this.migConfigs.flatMap((m) => Object.keys(m.value["mig-configs"] as Plain)));
    this.migLabelRules(allMigKeys);
    for (const p of this.podSpecs()) this.migPodRules(p, allMigKeys, op);
    this.devicePluginDefaultRule(op);
  }

  /** Each layout of a mig-parted config, and the default config the operator names. */
  private migConfigRules(m: Embedded, op: ReturnType<Linter["operator"]>): void {
    const configs = m.value["mig-configs"] as Plain;
    for (const [name, entries] of Object.entries(configs)) {
      if (!Array.isArray(entries)) continue;
      entries.forEach((e, i) => {
        if (isPlain(e) && e["mig-enabled"] !== false && isPlain(e["mig-devices"]))
          this.migLayoutRules(m.doc, name, i, e["mig-devices"], op);
      });
    }
    // Keys the operator and node labels name must exist.
    if (op && m.configMap && op.migConfigName === m.configMap.name && !(op.migDefault in configs) && op.doc) {
      this.at(
        op.doc,
        ["migManager", "config"],
        "gpu-config-key-missing",
        `migManager.config.default is ${op.migDefault}${op.migDefault === "all-disabled" ? " (the operator's default)" : ""}, which is not a config in ConfigMap ${m.configMap.name} (has ${Object.keys(configs).join(", ")})`,
      );
    }
  }

  /** One entry's mig-devices: a layout the GPU can hold, and one profile where the strategy is single. */
  private migLayoutRules(
    doc: LoadedDoc,
    name: string,
    i: number,
    migDevices: Plain,
    op: ReturnType<Linter["operator"]>,
  ): void {
    const profiles: string[] = [];
    for (const [p, n] of Object.entries(migDevices))
      for (let k = 0; k < Number(n); k++) profiles.push(normalizeProfileName(p));
    // Point at the profile that breaks the layout (the most instances), else the first.
    const devices = Object.entries(migDevices);
    const worst = [...devices].sort((a, b) => Number(b[1]) - Number(a[1]))[0]?.[0];
    const path: PathKey[] = ["mig-configs", name, i, "mig-devices", worst ?? ""];
    const problem = migProblem(profiles);
    if (problem) this.at(doc, path, "mig-layout-invalid", `mig config ${name}: ${problem}`);
    if (new Set(profiles).size > 1 && op && op.strategy === "single") {
      this.at(
        doc,
        path,
        "mig-strategy-single-mixed",
        `mig config ${name} mixes ${[...new Set(profiles)].join(" and ")}, but the GPU Operator's mig.strategy is single${op.strategyExplicit ? "" : " (its default)"}: the device plugin fails on a node with more than one profile; set mig.strategy: mixed`,
      );
    }
  }

  /** Node labels nvidia.com/mig.config must name a config of the mig-parted ConfigMap. */
  private migLabelRules(allMigKeys: Set<string>): void {
    for (const k of this.k8s) {
      const labels =
        k.kind === "Node" && isPlain(k.o.metadata) && isPlain(k.o.metadata.labels)
          ? k.o.metadata.labels
          : undefined;
      const value = labels ? str(labels["nvidia.com/mig.config"]) : undefined;
      if (value && this.migConfigs.length > 0 && !allMigKeys.has(value)) {
        this.at(
          k.doc,
          ["metadata", "labels", "nvidia.com/mig.config"],
          "gpu-config-key-missing",
          `node label nvidia.com/mig.config=${value} names no config of the mig-parted ConfigMap (has ${[...allMigKeys].join(", ")})`,
        );
      }
    }
  }

  /** A pod's mig.config node selector, and MIG resources it requests under the single strategy. */
  private migPodRules(p: PodSpecRef, allMigKeys: Set<string>, op: ReturnType<Linter["operator"]>): void {
    const selector = isPlain(p.spec.nodeSelector)
      ? str(p.spec.nodeSelector["nvidia.com/mig.config"])
      : undefined;
    if (selector && this.migConfigs.length > 0 && !allMigKeys.has(selector)) {
      this.at(
        p.owner.doc,
        [...p.path, "nodeSelector"],
        "gpu-config-key-missing",
        `nodeSelector nvidia.com/mig.config=${selector} names no config of the mig-parted ConfigMap (has ${[...allMigKeys].join(", ")})`,
      );
    }
    if (op?.strategy !== "single") return;
    for (const { c, path } of this.containers(p)) {
      const mig = Object.keys(this.resources(c)).find((r) => r.startsWith("nvidia.com/mig-"));
      if (mig) {
        this.at(
          p.owner.doc,
          [...path, "resources"],
          "mig-resource-single-strategy",
          `${p.owner.kind} ${p.owner.name} requests ${mig}, but with mig.strategy single${op.strategyExplicit ? "" : " (the GPU Operator's default)"} the device plugin only advertises nvidia.com/gpu: the pod never schedules`,
        );
      }
    }
  }

  /** devicePlugin.config.default must be a key of the ConfigMap devicePlugin.config.name names. */
  private devicePluginDefaultRule(op: ReturnType<Linter["operator"]>): void {
    if (!op?.dpDefault || !op.dpName) return;
    const cfg = this.devicePluginConfigs.filter((d) => d.configMap?.name === op.dpName);
    const keys = cfg.map((d) => d.configMap?.key ?? "");
    if (cfg.length > 0 && !keys.includes(op.dpDefault) && op.doc) {
      this.at(
        op.doc,
        ["devicePlugin", "config", "default"],
        "gpu-config-key-missing",
        `devicePlugin.config.default is ${op.dpDefault}, not a key of ConfigMap ${op.dpName} (has ${keys.join(", ")})`,
      );
    }
  }

  private kustomizeRules(): void {
    for (const k of this.kustomizations) {
      for (const field of ["commonLabels", "patchesStrategicMerge", "patchesJson6902", "vars"]) {
        if (!(field in k.value)) continue;
        const message =
          field === "commonLabels"
            ? "commonLabels is deprecated in Kustomize 5 and also rewrites selectors (immutable on Deployments); use labels: [{pairs: …, includeSelectors: false}]"
            : `${field} is deprecated in Kustomize 5; use patches`;
        this.at(
          k.doc,
          [field],
          "kustomize-deprecated-field",
          message,
          field === "commonLabels" ? "error" : "warning",
        );
      }
    }
  }

  private dockerfileRules(): void {
    for (const d of this.input.dockerfiles) {
      for (const ins of instructions(d.lines)) {
        if (ins.keyword !== "RUN") continue;
        if (!/\b(huggingface-cli|hf)\s+download\b|snapshot_download/.test(ins.args)) continue;
        const ex = /--exclude\s+(?:"([^"]+)"|'([^']+)'|(\S+))/.exec(ins.args);
        const pattern = ex?.[1] ?? ex?.[2] ?? ex?.[3];
        if (pattern && /safetensors|\*\.bin|\*\.gguf|\*\.pt\b/.test(pattern)) {
          this.add(
            "dockerfile-image-without-weights",
            `the download excludes ${pattern}: the image ships no weights, so the server it starts has nothing to load (mount a model volume or download the weights)`,
            d.file,
            ins.line,
          );
        }
      }
    }
  }

  private argocdRules(): void {
    const allApps = this.k8s.filter((k) => k.kind === "Application");
    if (allApps.length === 0) return;
    const autos = this.autoscalers();
    for (const dep of this.k8s.filter((k) => k.kind === "Deployment")) {
      const spec = isPlain(dep.o.spec) ? dep.o.spec : {};
      if (typeof spec.replicas !== "number") continue;
      const scaler = autos.find((a) => a.target === dep.name);
      if (!scaler) continue;
      const apps = allApps.filter((app) => this.syncs(app, dep));
      const ignoring = apps.filter((app) => {
        const s = isPlain(app.o.spec) ? app.o.spec : {};
        const diffs = Array.isArray(s.ignoreDifferences) ? s.ignoreDifferences : [];
        return diffs.some(
          (d) =>
            isPlain(d) &&
            (d.kind === "Deployment" || d.kind === undefined) &&
            (d.name === undefined || d.name === dep.name) &&
            ((Array.isArray(d.jsonPointers) && d.jsonPointers.includes("/spec/replicas")) ||
              (Array.isArray(d.jqPathExpressions) && d.jqPathExpressions.includes(".spec.replicas"))),
        );
      });
      if (ignoring.length < apps.length) {
        const app = apps.find((a) => !ignoring.includes(a)) ?? apps[0];
        this.at(
          dep.doc,
          ["spec", "replicas"],
          "argocd-replicas-fight",
          `Deployment ${dep.name} fixes replicas: ${spec.replicas} while ${scaler.kind === "hpa" ? "HPA" : "ScaledObject"} ${scaler.k.name} scales it, and ArgoCD Application ${app?.name ?? ""} has no ignoreDifferences on /spec/replicas: every sync resets the autoscaler (drop replicas or add ignoreDifferences)`,
        );
      }
    }
  }

  /**
   * Whether an Application may sync `dep`: its source path(s) hold the Deployment's file, or none
   * of them is among the linted directories (unknown: assume it does). A Deployment that only an
   * overlay's kustomization pulls in from a base is not followed (the overlay may drop the autoscaler).
   */
  private syncs(app: K8s, dep: K8s): boolean {
    const spec = isPlain(app.o.spec) ? app.o.spec : {};
    const sources = [spec.source, ...(Array.isArray(spec.sources) ? spec.sources : [])].filter(isPlain);
    const paths = sources.map((s) => str(s.path)?.replace(/\/+$/, "")).filter((p) => p !== undefined);
    if (paths.length === 0 || paths.length < sources.length) return true;
    // The repository root is unknown here (`deploy/overlays/dev` may be linted as
    // `out/overlays/dev`): the path's last two segments must match.
    const dirOf = (file: string) => `/${file.replace(/\\/g, "/").replace(/\/[^/]*$/, "")}/`;
    const tails = paths.map((p) => `/${p.split("/").slice(-2).join("/")}/`);
    const covers = (file: string) => tails.some((t) => dirOf(file).includes(t));
    if (!this.input.docs.some((d) => covers(d.file))) return true;
    return covers(dep.doc.file);
  }

  /** The most ways any device-plugin sharing config (time slicing or MPS) splits a GPU, and where. */
  private maxTimeSlice(): { replicas: number; where?: { doc: LoadedDoc; path: PathKey[] } } {
    let replicas = 0;
    let where: { doc: LoadedDoc; path: PathKey[] } | undefined;
    const consider = (doc: LoadedDoc, sharing: unknown, path: PathKey[]) => {
      if (!isPlain(sharing)) return;
      for (const mode of ["timeSlicing", "mps"]) {
        const s = sharing[mode];
        if (!isPlain(s) || !Array.isArray(s.resources)) continue;
        s.resources.forEach((r, i) => {
          if (isPlain(r) && Number(r.replicas) > replicas) {
            replicas = Number(r.replicas);
            where = { doc, path: [...path, mode, "resources", i, "replicas"] };
          }
        });
      }
    };
    for (const d of this.devicePluginConfigs) consider(d.doc, d.value.sharing, ["sharing"]);
    for (const v of this.gpuValues) {
      const dp = isPlain(v.values.devicePlugin) ? v.values.devicePlugin : {};
      const cfg = isPlain(dp.config) ? dp.config : {};
      consider(v.doc, isPlain(cfg.shared) ? cfg.shared : undefined, ["devicePlugin", "config", "shared"]);
    }
    return { replicas, ...(where ? { where } : {}) };
  }

  private timeSliceRules(): void {
    const { replicas, where } = this.maxTimeSlice();
    if (replicas < 2 || !where) return;
    for (const p of this.podSpecs()) {
      for (const { c, path } of this.containers(p)) {
        const res = this.resources(c);
        if (!("nvidia.com/gpu" in res) && !("nvidia.com/gpu.shared" in res)) continue;
        const u = Number(this.flag(this.args(c), "--gpu-memory-utilization") ?? (isVllm(c) ? "0.9" : "NaN"));
        if (!Number.isFinite(u)) continue;
        if (u * replicas > 1 + 1e-9) {
          this.at(
            p.owner.doc,
            [...path, "args"],
            "time-slice-memory-oversubscribed",
            `${p.owner.kind} ${p.owner.name} uses --gpu-memory-utilization ${u} on a GPU time-sliced ${replicas} ways (${where.doc.file}:${where.doc.where(where.path).line}): ${replicas} such replicas on one GPU claim ${(u * replicas).toFixed(2)} of its memory; time slicing has no memory isolation, so all but the first fail (use ≤ ${(1 / replicas).toFixed(2)} each, or MIG)`,
          );
        }
      }
    }
  }

  private volumeRules(): void {
    const pvcs = new Map(this.k8s.filter((k) => k.kind === "PersistentVolumeClaim").map((k) => [k.name, k]));
    for (const p of this.podSpecs()) {
      if (p.owner.kind === "StatefulSet" || p.replicas <= 1) continue;
      const vols = Array.isArray(p.spec.volumes) ? p.spec.volumes : [];
      vols.forEach((v, i) => {
        if (!isPlain(v) || !isPlain(v.persistentVolumeClaim)) return;
        const claim = str(v.persistentVolumeClaim.claimName);
        const pvc = claim ? pvcs.get(claim) : undefined;
        const modes =
          pvc && isPlain(pvc.o.spec) && Array.isArray(pvc.o.spec.accessModes) ? pvc.o.spec.accessModes : [];
        if (
          pvc &&
          modes.includes("ReadWriteOnce") &&
          !modes.includes("ReadWriteMany") &&
          !modes.includes("ReadOnlyMany") &&
          v.persistentVolumeClaim.readOnly !== true
        ) {
          this.at(
            p.owner.doc,
            [...p.path, "volumes", i],
            "rwo-cache-shared",
            `${p.owner.kind} ${p.owner.name} runs up to ${p.replicas} replicas on ReadWriteOnce claim ${claim}: replicas on other nodes cannot mount it (use ReadWriteMany, or a per-pod volume)`,
          );
        }
      });
    }
  }

  private sizingRules(): void {
    for (const p of this.podSpecs()) {
      for (const { c, path } of this.containers(p)) if (isVllm(c)) this.vllmSizingRules(p, c, path);
    }
  }

  /** A vLLM container of a catalog chat model: weights that fit the GPU, then KV room for one sequence. */
  private vllmSizingRules(p: PodSpecRef, c: Plain, path: PathKey[]): void {
    const args = this.args(c);
    const serve = args.indexOf("serve");
    const repo = this.flag(args, "--model") ?? (serve >= 0 ? args[serve + 1] : undefined);
    const found = repo ? findModelByRepo(repo) : undefined;
    if (found?.model.kind !== "chat") return;
    const model = found.model;
    const res = this.resources(c);
    const mem = gpuMemory(res, isPlain(p.spec.nodeSelector) ? p.spec.nodeSelector : {});
    if (!mem) return;
    const tp = Number(this.flag(args, "--tensor-parallel-size") ?? "1");
    const u = Number(this.flag(args, "--gpu-memory-utilization") ?? "0.9");
    const q = (this.flag(args, "--quantization") ?? found.variant.quantization) as WeightFormat;
    const format: WeightFormat = [
      "awq",
      "gptq",
      "gptq-int4",
      "gptq-int8",
      "fp8",
      "bitsandbytes",
      "gguf",
      "none",
    ].includes(q)
      ? q
      : "none";
    const weightsPerGpu = weightBytes(model, format) / tp;
    const budget = u * mem.bytes;
    const gb = (b: number) => `${(b / 1e9).toFixed(1)} GB`;
    const where = [...path, "args"];
    if (weightsPerGpu > budget) {
      const active = model.moe ? (weightsPerGpu * model.activeParams) / model.totalParams : undefined;
      if (active !== undefined && active <= budget) {
        this.at(
          p.owner.doc,
          where,
          "moe-sized-by-active-params",
          `${model.displayName} is MoE: every expert must be resident, so weights take ${gb(weightsPerGpu)} per GPU at TP ${tp} (${model.totalParams / 1e9}B total parameters), not the ${gb(active)} its ${model.activeParams / 1e9}B active parameters suggest; ${mem.label} × ${u} offers ${gb(budget)}`,
        );
      } else {
        this.at(
          p.owner.doc,
          where,
          "model-weights-exceed-memory",
          `${model.displayName} weights take ${gb(weightsPerGpu)} per GPU at TP ${tp}; ${mem.label} × ${u} offers ${gb(budget)}`,
        );
      }
      return;
    }
    const maxLen = Number(this.flag(args, "--max-model-len") ?? model.maxContext);
    const perToken = kvBytesPerToken(model) / tp;
    // vLLM also keeps activations and CUDA graphs: 10% of the budget is a lenient allowance.
    const kvRoom = budget * 0.9 - weightsPerGpu;
    if (perToken * maxLen > kvRoom) {
      const naive = (2 * model.layers * model.attentionHeads * model.headDim * 2) / tp;
      this.at(
        p.owner.doc,
        where,
        "kv-cache-below-context",
        `${model.displayName} needs ${gb(perToken * maxLen)} per GPU of KV cache for one ${maxLen}-token sequence (${Math.round(perToken * tp)} bytes/token${model.mla ? " with MLA's compressed latent" : ` from ${model.kvHeads} KV heads`}${model.mla || model.kvHeads !== model.attentionHeads ? `; ${Math.round(naive * tp)} if wrongly sized by ${model.attentionHeads} attention heads` : ""}), but only about ${gb(Math.max(0, kvRoom))} is left after weights: vLLM refuses to start (lower --max-model-len or add GPUs)`,
      );
    }
  }

  private devicePluginFileRule(): void {
    for (const p of this.podSpecs()) {
      for (const { c, path } of this.containers(p)) this.configFileRule(p, c, path);
    }
  }

  /** `--config-file` under a ConfigMap volume's mount must name a key that ConfigMap has. */
  private configFileRule(p: PodSpecRef, c: Plain, path: PathKey[]): void {
    const file = this.flag(this.args(c), "--config-file");
    if (!file) return;
    const mounts = Array.isArray(c.volumeMounts) ? c.volumeMounts.filter(isPlain) : [];
    const mount = mounts.find(
      (m) => typeof m.mountPath === "string" && file.startsWith(`${m.mountPath.replace(/\/$/, "")}/`),
    );
    const vols = Array.isArray(p.spec.volumes) ? p.spec.volumes.filter(isPlain) : [];
    const vol = mount ? vols.find((v) => v.name === mount.name) : undefined;
    const cmName = vol && isPlain(vol.configMap) ? str(vol.configMap.name) : undefined;
    const cm = cmName ? this.k8s.find((k) => k.kind === "ConfigMap" && k.name === cmName) : undefined;
    if (!cm || !mount || typeof mount.mountPath !== "string") return;
    const key = file.slice(mount.mountPath.replace(/\/$/, "").length + 1);
    const keys = isPlain(cm.o.data) ? Object.keys(cm.o.data) : [];
    if (!keys.includes(key)) {
      this.at(
        p.owner.doc,
        [...path, "args"],
        "device-plugin-config-file-missing",
        `--config-file=${file} reads key ${key} of ConfigMap ${cmName}, which has ${keys.join(", ")}: the plugin starts without its config`,
      );
    }
  }
}

/** An HPA KEDA created for a ScaledObject (a cluster dump holds both): not a second autoscaler. */
function kedaManaged(o: Plain): boolean {
  const meta = isPlain(o.metadata) ? o.metadata : {};
  const labels = isPlain(meta.labels) ? meta.labels : {};
  const owners = Array.isArray(meta.ownerReferences) ? meta.ownerReferences : [];
  return (
    "scaledobject.keda.sh/name" in labels ||
    owners.some((r) => isPlain(r) && r.kind === "ScaledObject") ||
    String(meta.name ?? "").startsWith("keda-hpa-")
  );
}

function isVllm(c: Plain): boolean {
  const image = str(c.image) ?? "";
  const all = [...(Array.isArray(c.command) ? c.command : []), ...(Array.isArray(c.args) ? c.args : [])]
    .map(String)
    .join(" ");
  return /vllm/.test(image) || /vllm\.entrypoints|vllm serve/.test(all);
}

/** Kubernetes quantity to a number ("70", "700m", "0.7"); undefined when not one. */
export function quantity(s: string): number | undefined {
  const m = /^([0-9.]+)(m|k|M|G|Ki|Mi|Gi)?$/.exec(s.trim());
  if (!m?.[1]) return undefined;
  const n = Number(m[1]);
  const mult: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
  };
  return n * (m[2] ? (mult[m[2]] ?? 1) : 1);
}

/** Why a list of instances cannot live on any one catalog GPU, or null when some GPU holds it. */
export function migProblem(profiles: readonly string[]): string | null {
  const gpus = listGpus().filter((g) => g.migProfiles.length > 0);
  const candidates = gpus.filter((g) => profiles.every((p) => g.migProfiles.some((x) => x.name === p)));
  if (candidates.length === 0) {
    const owners = [...new Set(profiles)].map(
      (p) =>
        `${p} (${
          gpus
            .filter((g) => g.migProfiles.some((x) => x.name === p))
            .map((g) => g.id)
            .join(", ") || "no GPU"
        })`,
    );
    return `no GPU has all of these profiles: ${owners.join(", ")}`;
  }
  const reasons: string[] = [];
  for (const g of candidates) {
    const r = isLegalMigLayout(g.id, profiles);
    if (r.ok) return null;
    reasons.push(r.reason);
  }
  return reasons.join(" ");
}

/** GPU memory a container gets: a MIG instance's framebuffer, else the GPU its node selector names. */
function gpuMemory(
  res: Record<string, string>,
  selector: Plain,
): { bytes: number; label: string } | undefined {
  const mig = Object.keys(res).find((r) => r.startsWith("nvidia.com/mig-"));
  if (mig) {
    const name = normalizeProfileName(mig);
    const g = listGpus().find((x) => x.migProfiles.some((p) => p.name === name));
    const p = g?.migProfiles.find((x) => x.name === name);
    return p ? { bytes: p.memoryMiB * 1024 * 1024, label: `MIG ${name}` } : undefined;
  }
  if (!("nvidia.com/gpu" in res)) return undefined;
  const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, "");
  for (const v of Object.values(selector)) {
    if (typeof v !== "string") continue;
    const g =
      listGpus().find(
        (x) => x.nvidiaProductName === v || x.nvidiaProductNameAliases.includes(v) || norm(x.id) === norm(v),
      ) ?? findGpu(v);
    if (g) return { bytes: g.memoryBytes, label: g.id };
  }
  return undefined;
}

export type { CatalogModel };
