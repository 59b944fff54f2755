/**
 * A Vertical and a Horizontal Pod Autoscaler on the same resource of one workload: the VPA
 * raises the pods' CPU (or memory) requests, utilisation against those requests falls, the HPA
 * removes replicas, load per pod rises, and the two chase each other. The VPA's own docs warn:
 * "Vertical Pod Autoscaler should not be used with the HPA on CPU or memory" (kubernetes/autoscaler
 * vertical-pod-autoscaler README, "Known limitations"). HPAs: autoscaling/v1's CPU target,
 * v2 Resource / ContainerResource metrics (v2 with no metrics defaults to CPU), and KEDA's cpu /
 * memory triggers (KEDA creates that HPA). The VPA: every controlled resource of its container
 * policies (both when none is listed), unless its updateMode is Off (recommend only).
 */
import type { PathKey } from "./load.js";
import { get, isPlain, type K8s, type LintContext, namespaceOf, str } from "./objects.js";

type Resource = "cpu" | "memory";
const RESOURCES: readonly Resource[] = ["cpu", "memory"];
const isResource = (x: unknown): x is Resource => x === "cpu" || x === "memory";

function target(k: K8s, refKey: string): string | null {
  const ref = get(k.o, ["spec", refKey]);
  if (!isPlain(ref) || !str(ref.name)) return null;
  return `${namespaceOf(k) ?? ""}/${str(ref.kind) ?? "Deployment"}/${str(ref.name)}`;
}

/** Resources a horizontal autoscaler scales on. */
function horizontalResources(k: K8s): Resource[] {
  const spec = get(k.o, ["spec"]);
  if (!isPlain(spec)) return [];
  if (k.kind === "ScaledObject") {
    const triggers = Array.isArray(spec.triggers) ? spec.triggers : [];
    return triggers.flatMap((t) => (isPlain(t) && isResource(t.type) ? [t.type] : []));
  }
  if (String(k.o.apiVersion) === "autoscaling/v1") return ["cpu"];
  const metrics = Array.isArray(spec.metrics) ? spec.metrics : undefined;
  if (metrics === undefined || metrics.length === 0) return ["cpu"];
  return metrics.flatMap((m) => {
    if (!isPlain(m)) return [];
    const name = m.type === "Resource" ? get(m, ["resource", "name"]) : get(m, ["containerResource", "name"]);
    return (m.type === "Resource" || m.type === "ContainerResource") && isResource(name) ? [name] : [];
  });
}

/** Resources a VPA sets, with where each is written. */
function verticalResources(k: K8s): { resource: Resource; path: PathKey[] }[] {
  if (str(get(k.o, ["spec", "updatePolicy", "updateMode"])) === "Off") return [];
  const policies = get(k.o, ["spec", "resourcePolicy", "containerPolicies"]);
  const list = Array.isArray(policies) ? policies : [];
  const out: { resource: Resource; path: PathKey[] }[] = [];
  let listed = false;
  list.forEach((p, i) => {
    if (!isPlain(p) || p.mode === "Off") return;
    listed = true;
    const controlled = Array.isArray(p.controlledResources)
      ? p.controlledResources.filter(isResource)
      : RESOURCES;
    const path: PathKey[] = ["spec", "resourcePolicy", "containerPolicies", i];
    for (const r of controlled)
      out.push({
        resource: r,
        path: Array.isArray(p.controlledResources) ? [...path, "controlledResources"] : path,
      });
  });
  if (!listed && list.length === 0)
    for (const r of RESOURCES) out.push({ resource: r, path: ["spec", "targetRef"] });
  return out;
}

export function vpaRules(ctx: LintContext): void {
  const horizontal = new Map<string, { k: K8s; resources: Resource[] }[]>();
  for (const k of ctx.k8s) {
    if (k.kind !== "HorizontalPodAutoscaler" && k.kind !== "ScaledObject") continue;
    const t = target(k, "scaleTargetRef");
    if (t) horizontal.set(t, [...(horizontal.get(t) ?? []), { k, resources: horizontalResources(k) }]);
  }
  for (const k of ctx.k8s) {
    if (k.kind !== "VerticalPodAutoscaler") continue;
    const t = target(k, "targetRef");
    if (!t) continue;
    const sets = verticalResources(k);
    for (const h of horizontal.get(t) ?? []) {
      const shared = RESOURCES.filter((r) => h.resources.includes(r) && sets.some((s) => s.resource === r));
      const first = sets.find((s) => s.resource === shared[0]);
      if (!first) continue;
      const workload = t.split("/").slice(1).join(" ");
      ctx.at(
        k.doc,
        first.path,
        "vpa-hpa-same-resource",
        `VerticalPodAutoscaler ${k.name} sets ${shared.join(" and ")} on ${workload}, which ${h.k.kind} ${h.k.name} scales on ${shared.join(" and ")}: the VPA raises requests, utilisation falls, the HPA removes replicas and the two chase each other; let the VPA control only the other resource (controlledResources), or set its updateMode: Off`,
      );
    }
  }
}
