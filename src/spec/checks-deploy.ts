/**
 * Cross-checks of the fields only the deploy compiler reads: the gateway Ingress's TLS,
 * speculative decoding (which engines can, and which methods need a draft model), and the
 * Vertical Pod Autoscaler (never on a resource an HPA already scales the same workload on).
 */
import { compareVersions, engineInfo } from "../catalog/engines.js";
import { findModel, findModelByRepo } from "../catalog/models.js";
import type { CheckProblem } from "./checks.js";
import type { ModelSpec, Platform } from "./schema.js";

/** The catalog entry of a speculative draft model (a catalog id or an hf:// repo). */
export function draftCatalogModel(draft: string) {
  return draft.startsWith("hf://") ? findModelByRepo(draft)?.model : findModel(draft);
}

function checkIngress(p: Platform, out: CheckProblem[]): void {
  const tls = p.gateway.ingress.tls;
  if (!tls) return;
  const at = ["gateway", "ingress", "tls"];
  if (tls.secretName === undefined && tls.issuer === undefined)
    out.push({
      path: at,
      message: "TLS needs `secretName` (an existing certificate) or `issuer` (cert-manager)",
    });
  if (tls.issuer !== undefined && p.gateway.ingress.host === undefined)
    out.push({
      path: ["gateway", "ingress", "host"],
      message: "cert-manager issues a certificate for a host name: set `gateway.ingress.host`",
    });
  if (tls.issuer === undefined && (tls.certificate || tls.acme))
    out.push({ path: [...at, "issuer"], message: "`certificate` and `acme` need `issuer`" });
  if (tls.acme && tls.issuerKind !== "Issuer")
    out.push({
      path: [...at, "issuerKind"],
      message:
        "`acme` renders a namespaced Issuer: set `issuerKind: Issuer` (or drop `acme` for an existing ClusterIssuer)",
    });
}

// vLLM SpeculativeConfig (docs.vllm.ai/en/v0.11.0/api/vllm/config/speculative.html): ngram and
// MTP propose from the prompt / the model's own heads; EAGLE and Medusa load separate heads.
const NEEDS_DRAFT = new Set(["eagle", "eagle3", "medusa"]);

function checkSpeculative(m: ModelSpec, i: number, out: CheckProblem[]): void {
  const s = m.speculative;
  if (!s) return;
  const at = ["models", i, "speculative"];
  if (m.engine === "tgi") {
    // TGI has one switch, --speculate N: Medusa heads when the model carries them, else n-gram
    // (huggingface/text-generation-inference docs/source/conceptual/speculation.md).
    if (s.draftModel !== undefined || (s.method !== "ngram" && s.method !== "medusa"))
      out.push({
        path: at,
        message:
          "TGI speculates only with `method: ngram`, or `method: medusa` when the model itself carries Medusa heads (no `draftModel`)",
      });
    return;
  }
  if (m.engine !== "vllm") {
    out.push({
      path: at,
      message: `engine ${m.engine} cannot do speculative decoding (vllm and tgi can); remove \`speculative\``,
    });
    return;
  }
  // `--speculative-config` JSON: vLLM 0.8.3 runs it (vllm-project/vllm#16883); older releases
  // took --speculative-model / --num-speculative-tokens.
  const version = engineInfo("vllm", m.engineVersion).version;
  if (compareVersions(version, "0.8.3") < 0)
    out.push({
      path: ["models", i, "engineVersion"],
      message: `speculative decoding is rendered as --speculative-config, which vLLM ${version} does not read: use vLLM 0.8.3 or later`,
    });
  if (s.draftModel === undefined && s.method === undefined)
    out.push({ path: at, message: "set `draftModel` (a draft model) or `method` (ngram, mtp)" });
  if (s.method !== undefined && NEEDS_DRAFT.has(s.method) && s.draftModel === undefined)
    out.push({
      path: [...at, "draftModel"],
      message: `method ${s.method} needs its heads in \`draftModel\``,
    });
  if ((s.method === "ngram" || s.method === "mtp") && s.draftModel !== undefined)
    out.push({ path: [...at, "draftModel"], message: `method ${s.method} takes no draft model` });
  // A plain draft model is sized from the catalog; EAGLE/Medusa heads are small and not catalogued.
  if (s.draftModel !== undefined && s.method === undefined && !draftCatalogModel(s.draftModel))
    out.push({
      path: [...at, "draftModel"],
      message: `draft model "${s.draftModel}" is not in the catalog, so the plan cannot count its memory`,
    });
}

function checkVpa(p: Platform, out: CheckProblem[]): void {
  const vpa = p.autoscaling.vpa;
  if (!vpa || vpa.updateMode === "Off") return;
  // The gateway runs an HPA on CPU whenever it has several replicas (deploy/gateway.ts).
  if (vpa.workloads.includes("gateway") && p.gateway.replicas > 1 && vpa.controlledResources.includes("cpu"))
    out.push({
      path: ["autoscaling", "vpa", "controlledResources"],
      message: `the gateway's HPA scales its ${p.gateway.replicas}+ replicas on CPU; a VPA setting cpu on the same Deployment fights it: use controlledResources: [memory], or updateMode: Off`,
    });
}

function checkNotifications(p: Platform, out: CheckProblem[]): void {
  const key = p.gitops?.notifications?.slack.tokenKey;
  // Slack tokens start xoxb-/xoxp-/xoxa-/xoxr-/xoxs- (api.slack.com/authentication/token-types).
  if (key !== undefined && /^xox[abprs]-/.test(key))
    out.push({
      path: ["gitops", "notifications", "slack", "tokenKey"],
      message:
        "this looks like a Slack token, not a key name: put the token in the argocd-notifications-secret Secret and name its key here (value not shown)",
    });
}

export function deployCrossCheck(p: Platform): CheckProblem[] {
  const out: CheckProblem[] = [];
  checkNotifications(p, out);
  checkIngress(p, out);
  p.models.forEach((m, i) => {
    checkSpeculative(m, i, out);
  });
  checkVpa(p, out);
  return out;
}
