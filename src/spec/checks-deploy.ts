/**
 * Cross-checks of the fields only the deploy compiler reads: the gateway Ingress's TLS,
 * speculative decoding (which engines can, and which methods need a draft model), and the
 * Vertical Pod Autoscaler (never on a resource an HPA already scales the same workload on).
 */
import { speculativeProblems } from "../engines/index.js";
import type { CheckProblem } from "./checks.js";
import type { ModelSpec, Platform } from "./schema.js";

/** The catalog entry of a speculative draft model (a catalog id or an hf:// repo). */
export { draftCatalogModel } from "../catalog/models.js";

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

/** Speculative decoding as the model's engine takes it (src/engines/<engine>/speculative.ts). */
function checkSpeculative(m: ModelSpec, i: number, out: CheckProblem[]): void {
  for (const p of speculativeProblems(m)) out.push({ path: ["models", i, ...p.path], message: p.message });
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
