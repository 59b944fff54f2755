/**
 * Rules on how workloads hang together: a selector its own template does not satisfy, a
 * single-node store run as several replicas, a StatefulSet whose governing Service is missing.
 */
import { MILVUS_ROLES, normalizeImage } from "../../catalog/images.js";
import { type ContainerRef, containers, POD_TEMPLATE_OWNERS } from "./containers.js";
import type { PathKey } from "./load.js";
import { get, isPlain, type K8s, type LintContext, namespaceOf, str, stringMap } from "./objects.js";

// ------------------------------------------------------------------ selectors

/** Why `selector` (a LabelSelector, or a ReplicationController's plain map) does not select `labels`. */
export function selectorMisses(
  selector: unknown,
  labels: Record<string, string>,
  plainMap = false,
): { path: PathKey[]; want: string }[] {
  const misses: { path: PathKey[]; want: string }[] = [];
  const matchLabels = plainMap ? stringMap(selector) : stringMap(get(selector, ["matchLabels"]));
  for (const [k, v] of Object.entries(matchLabels)) {
    if (labels[k] !== v) misses.push({ path: plainMap ? [k] : ["matchLabels", k], want: `${k}=${v}` });
  }
  if (plainMap) return misses;
  const exprs = get(selector, ["matchExpressions"]);
  (Array.isArray(exprs) ? exprs : []).forEach((e, i) => {
    if (!isPlain(e)) return;
    const key = String(e.key ?? "");
    const values = Array.isArray(e.values) ? e.values.map(String) : [];
    const has = key in labels;
    const value = labels[key];
    const ok =
      e.operator === "In"
        ? has && values.includes(value ?? "")
        : e.operator === "NotIn"
          ? !has || !values.includes(value ?? "")
          : e.operator === "Exists"
            ? has
            : e.operator === "DoesNotExist"
              ? !has
              : true;
    if (!ok)
      misses.push({
        path: ["matchExpressions", i],
        want: `${key} ${String(e.operator)} (${values.join(", ")})`,
      });
  });
  return misses;
}

function selectorRule(ctx: LintContext): void {
  for (const k of ctx.k8s) {
    const base = POD_TEMPLATE_OWNERS[k.kind];
    if (!base) continue;
    const selector = get(k.o, [...base, "selector"]);
    const template = get(k.o, [...base, "template"]);
    // A patch or partial manifest without a selector or template is not a workload to judge.
    if (selector === undefined || selector === null || !isPlain(template)) continue;
    const labels = stringMap(get(template, ["metadata", "labels"]));
    const plainMap = k.kind === "ReplicationController";
    const misses = selectorMisses(selector, labels, plainMap);
    const empty =
      !plainMap &&
      k.kind !== "Job" &&
      k.kind !== "CronJob" &&
      Object.keys(stringMap(get(selector, ["matchLabels"]))).length === 0 &&
      !(
        Array.isArray(get(selector, ["matchExpressions"])) &&
        (get(selector, ["matchExpressions"]) as unknown[]).length > 0
      );
    if (misses.length === 0 && !empty) continue;
    const where = base.join(".");
    const have =
      Object.keys(labels).length === 0
        ? "has no labels"
        : `has ${Object.entries(labels)
            .map(([a, b]) => `${a}=${b}`)
            .join(", ")}`;
    const message = empty
      ? `${k.kind} ${k.name}: ${where}.selector is empty; apps/v1 requires a selector that names the pod template's labels, so the API server rejects it (set matchLabels to the template's labels)`
      : `${k.kind} ${k.name}: ${where}.selector requires ${misses.map((m) => m.want).join(" and ")}, but its pod template ${have}: the API server rejects it (selector does not match template labels); add ${misses.map((m) => (m.path[0] === "matchExpressions" ? `a label with ${m.want}` : m.want.replace("=", ": "))).join(", ")} under ${where}.template.metadata.labels, or fix the selector`;
    ctx.at(k.doc, [...base, "selector", ...(misses[0]?.path ?? [])], "selector-template-mismatch", message);
  }
}

// ------------------------------------------------------------------ single-node stores

interface Standalone {
  store: string;
  why: string;
  fix: string;
}

/** The container runs a store in a mode that only works as one node, or undefined. */
export function standaloneStore(c: Pick<ContainerRef, "image" | "argv" | "env">): Standalone | undefined {
  const image = normalizeImage(c.image ?? "");
  const argv = c.argv.join(" ");
  if (/^milvusdb\/milvus(:|$)/.test(image)) {
    const role = new RegExp(`\\bmilvus\\s+run\\s+(${MILVUS_ROLES.join("|")})\\b`).exec(argv)?.[1];
    const embedded = c.env.ETCD_USE_EMBED === "true" || c.env.COMMON_STORAGETYPE === "local";
    if (role !== undefined && role !== "standalone" && !embedded) return undefined;
    const how =
      role === "standalone"
        ? "`milvus run standalone` runs every coordinator and node in one process"
        : role === undefined
          ? "one workload of the Milvus image with no role can only be a standalone deployment (a Milvus cluster runs mixcoord, proxy, querynode, datanode and indexnode as separate workloads)"
          : `role ${role} with an embedded store`;
    // milvus-io/milvus-helm values.yaml: `standalone.replicas: 1`, "Run standalone mode with
    // replication disabled".
    const effect = embedded
      ? "with embedded etcd (ETCD_USE_EMBED) and local storage (COMMON_STORAGETYPE=local) each replica keeps its own metadata and segments: every replica is its own database, so writes land in one and reads in another"
      : "every replica starts its own root, data and query coordinators over the one etcd, where only one set can hold the sessions: the others fail or serve from a divergent view; standalone runs with replication disabled";
    return {
      store: "Milvus standalone",
      why: `${how}; ${effect}`,
      fix: "keep one replica, or deploy Milvus in cluster mode (its Helm chart with cluster.enabled=true, or the Milvus Operator)",
    };
  }
  if (/(^|\/)(elasticsearch|opensearch)(:|$)/.test(image)) {
    const single =
      c.env["discovery.type"] === "single-node" ||
      c.argv.some((a) => /^-Ediscovery\.type=single-node$/.test(a));
    if (!single) return undefined;
    return {
      store: "Elasticsearch with discovery.type=single-node",
      // elastic.co "Discovery settings": single-node "elects itself master and does not join a
      // cluster with any other node".
      why: "a single-node node elects itself master and never joins another node: the replicas are separate one-node clusters, each holding only what was written to it",
      fix: "keep one replica, or drop discovery.type and set discovery.seed_hosts and cluster.initial_master_nodes",
    };
  }
  return undefined;
}

function autoscaledMax(
  ctx: LintContext,
  kind: string,
  name: string,
  ns: string | undefined,
): { k: K8s; max: number; path: PathKey[] } | undefined {
  let best: { k: K8s; max: number; path: PathKey[] } | undefined;
  for (const a of ctx.k8s) {
    const ref = get(a.o, ["spec", "scaleTargetRef"]);
    if (!isPlain(ref) || str(ref.name) !== name || !sameNamespace(namespaceOf(a), ns)) continue;
    let max: number;
    let path: PathKey[];
    if (a.kind === "HorizontalPodAutoscaler" && str(ref.kind) === kind) {
      max = Number(get(a.o, ["spec", "maxReplicas"]) ?? 1);
      path = ["spec", "maxReplicas"];
    } else if (a.kind === "ScaledObject" && (str(ref.kind) ?? "Deployment") === kind) {
      // KEDA's default maxReplicaCount is 100 (keda.sh ScaledObject spec).
      max = Number(get(a.o, ["spec", "maxReplicaCount"]) ?? 100);
      path = ["spec", "maxReplicaCount"];
    } else continue;
    if (!best || max > best.max) best = { k: a, max, path };
  }
  return best;
}

function sameNamespace(a: string | undefined, b: string | undefined): boolean {
  return a === undefined || b === undefined || a === b;
}

/** A Kubernetes controller running a standalone store: more than one pod, on every node, or autoscaled. */
function standaloneK8s(
  ctx: LintContext,
  c: ContainerRef,
  k: NonNullable<ContainerRef["k8s"]>,
  s: Standalone,
) {
  if (!["Deployment", "StatefulSet", "ReplicaSet", "ReplicationController", "DaemonSet"].includes(k.kind))
    return;
  if (k.kind === "DaemonSet") {
    ctx.at(
      c.doc,
      ["kind"],
      "standalone-store-replicated",
      `${c.owner} runs ${s.store} on every node: ${s.why}; ${s.fix} (a StatefulSet or Deployment)`,
    );
    return;
  }
  const replicas = Number(get(k.o, ["spec", "replicas"]) ?? 1);
  const scaler = autoscaledMax(ctx, k.kind, k.name, namespaceOf(k));
  if (replicas > 1) {
    ctx.at(
      c.doc,
      ["spec", "replicas"],
      "standalone-store-replicated",
      `${c.owner} runs ${s.store} with replicas: ${replicas}: ${s.why}; ${s.fix}`,
    );
  } else if (scaler && scaler.max > 1) {
    ctx.at(
      scaler.k.doc,
      scaler.path,
      "standalone-store-replicated",
      `${scaler.k.kind} ${scaler.k.name} scales ${c.owner}, which runs ${s.store}, up to ${scaler.max} replicas: ${s.why}; ${s.fix} (remove the autoscaler)`,
    );
  }
}

/** A Compose service running a standalone store with deploy.replicas or scale over 1. */
function standaloneCompose(ctx: LintContext, c: ContainerRef, s: Standalone): void {
  const svc = c.service ?? {};
  const deployReplicas = get(svc, ["deploy", "replicas"]);
  const n = Number(deployReplicas ?? svc.scale ?? 1);
  if (n > 1) {
    ctx.at(
      c.doc,
      [...c.path, ...(deployReplicas !== undefined ? ["deploy", "replicas"] : ["scale"])],
      "standalone-store-replicated",
      `${c.owner} runs ${s.store} with ${n} replicas: ${s.why}; ${s.fix}`,
    );
  }
}

function standaloneRule(ctx: LintContext): void {
  for (const c of containers(ctx)) {
    const s = standaloneStore(c);
    if (!s) continue;
    if (c.k8s) standaloneK8s(ctx, c, c.k8s, s);
    else standaloneCompose(ctx, c, s);
  }
}

// ------------------------------------------------------------------ StatefulSet service

function serviceRule(ctx: LintContext): void {
  const services = ctx.k8s.filter((k) => k.kind === "Service");
  for (const sts of ctx.k8s.filter((k) => k.kind === "StatefulSet")) {
    const name = str(get(sts.o, ["spec", "serviceName"]));
    if (!name) continue;
    const ns = namespaceOf(sts);
    const near = services.filter((s) => sameNamespace(namespaceOf(s), ns));
    if (near.some((s) => s.name === name)) continue;
    const labels = stringMap(get(sts.o, ["spec", "template", "metadata", "labels"]));
    const sibling = near.find((s) => {
      const sel = stringMap(get(s.o, ["spec", "selector"]));
      return Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v);
    });
    // Peers that address each other as <pod>.<serviceName> (Elasticsearch seed hosts, etcd peers).
    const uses = containers({ ...ctx, k8s: [sts], compose: [] }).some(
      (c) =>
        Object.values(c.env).some((v) => v.includes(`.${name}`)) ||
        c.argv.some((a) => a.includes(`.${name}`)),
    );
    const effect = `its pods get no stable DNS names (${sts.name}-0.${name})${uses ? ", and they address each other by those names" : ""}`;
    if (sibling) {
      ctx.at(
        sts.doc,
        ["spec", "serviceName"],
        "statefulset-service-missing",
        `StatefulSet ${sts.name} names serviceName ${name}, but no Service ${name} is among the linted files while Service ${sibling.name} (${sibling.doc.file}) selects the same pods: ${effect}; add a headless Service ${name} (clusterIP: None) selecting them`,
      );
    } else {
      ctx.at(
        sts.doc,
        ["spec", "serviceName"],
        "statefulset-service-missing",
        `StatefulSet ${sts.name} names serviceName ${name}, and no Service of that name is among the linted files; if it is defined elsewhere, fine, otherwise ${effect}: add a headless Service ${name} (clusterIP: None)`,
        "note",
      );
    }
  }
}

export function workloadRules(ctx: LintContext): void {
  selectorRule(ctx);
  standaloneRule(ctx);
  serviceRule(ctx);
}
