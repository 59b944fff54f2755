/**
 * Containers wherever the linted files declare them — Kubernetes pod templates and Compose
 * services — in one shape: image, command words, environment, replicas, health check, and the
 * path of each in its document.
 */
import type { LoadedDoc, PathKey } from "./load.js";
import { get, isPlain, type K8s, type LintContext, type Plain, str } from "./objects.js";

/** A health check command: exec form (argv) or shell form (run by /bin/sh -c). */
export type ProbeCommand = { form: "exec"; argv: string[] } | { form: "shell"; script: string };

export interface ContainerRef {
  doc: LoadedDoc;
  /** "Deployment vllm", "compose service milvus". */
  owner: string;
  /** The Kubernetes object, when it is one. */
  k8s?: K8s;
  /** Compose: the service's map. */
  service?: Plain;
  image?: string;
  /** Path of the container (Kubernetes) or the service (Compose). */
  path: PathKey[];
  /** ENTRYPOINT/command then CMD/args overrides, as words; empty when neither is set. */
  argv: string[];
  env: Record<string, string>;
  probes: { name: string; command: ProbeCommand; path: PathKey[] }[];
}

/** Pod template locations by workload kind (CronJob's sits under its job template). */
export const POD_TEMPLATE_OWNERS: Readonly<Record<string, PathKey[]>> = {
  Deployment: ["spec"],
  StatefulSet: ["spec"],
  DaemonSet: ["spec"],
  ReplicaSet: ["spec"],
  ReplicationController: ["spec"],
  Job: ["spec"],
  CronJob: ["spec", "jobTemplate", "spec"],
};

function words(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  // Compose's string form is split like a shell would, closely enough for matching words.
  if (typeof v === "string")
    return v.match(/"[^"]*"|'[^']*'|\S+/g)?.map((w) => w.replace(/^["']|["']$/g, "")) ?? [];
  return [];
}

function k8sEnv(c: Plain): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of Array.isArray(c.env) ? c.env : []) {
    if (isPlain(e) && typeof e.name === "string" && e.value !== undefined && e.value !== null)
      out[e.name] = String(e.value);
  }
  return out;
}

function composeEnv(s: Plain): Record<string, string> {
  const out: Record<string, string> = {};
  const env = s.environment;
  if (Array.isArray(env)) {
    for (const e of env) {
      const m = /^([^=]+)=(.*)$/.exec(String(e));
      if (m?.[1]) out[m[1]] = m[2] ?? "";
    }
  } else if (isPlain(env)) {
    for (const [k, v] of Object.entries(env)) if (v !== null && v !== undefined) out[k] = String(v);
  }
  return out;
}

function composeProbe(s: Plain): ProbeCommand | undefined {
  const h = s.healthcheck;
  if (!isPlain(h) || h.disable === true) return undefined;
  const t = h.test;
  if (typeof t === "string") return { form: "shell", script: t };
  if (!Array.isArray(t) || t.length === 0) return undefined;
  const [kind, ...rest] = t.map(String);
  if (kind === "CMD") return { form: "exec", argv: rest };
  if (kind === "CMD-SHELL") return { form: "shell", script: rest.join(" ") };
  return undefined;
}

/** The pod spec of a workload or Pod, with its path. */
export function podSpecOf(k: K8s): { spec: Plain; path: PathKey[] } | undefined {
  if (k.kind === "Pod") return isPlain(k.o.spec) ? { spec: k.o.spec, path: ["spec"] } : undefined;
  const base = POD_TEMPLATE_OWNERS[k.kind];
  if (!base) return undefined;
  const spec = get(k.o, [...base, "template", "spec"]);
  return isPlain(spec) ? { spec, path: [...base, "template", "spec"] } : undefined;
}

export function containers(ctx: LintContext): ContainerRef[] {
  const out: ContainerRef[] = [];
  for (const k of ctx.k8s) {
    const pod = podSpecOf(k);
    if (!pod) continue;
    const list = Array.isArray(pod.spec.containers) ? pod.spec.containers : [];
    list.forEach((c, i) => {
      if (!isPlain(c)) return;
      const path = [...pod.path, "containers", i];
      const probes: ContainerRef["probes"] = [];
      for (const name of ["livenessProbe", "readinessProbe", "startupProbe"]) {
        const cmd = get(c, [name, "exec", "command"]);
        if (Array.isArray(cmd) && cmd.length > 0)
          probes.push({
            name,
            command: { form: "exec", argv: cmd.map(String) },
            path: [...path, name, "exec", "command"],
          });
      }
      const image = str(c.image);
      out.push({
        doc: k.doc,
        owner: `${k.kind} ${k.name}`,
        k8s: k,
        ...(image ? { image } : {}),
        path,
        argv: [...words(c.command), ...words(c.args)],
        env: k8sEnv(c),
        probes,
      });
    });
  }
  for (const doc of ctx.compose) {
    const services = get(doc.value, ["services"]);
    if (!isPlain(services)) continue;
    for (const [name, s] of Object.entries(services)) {
      if (!isPlain(s)) continue;
      const path: PathKey[] = ["services", name];
      const probe = composeProbe(s);
      const image = s.build === undefined ? str(s.image) : undefined;
      out.push({
        doc,
        owner: `compose service ${name}`,
        service: s,
        ...(image ? { image } : {}),
        path,
        argv: [...words(s.entrypoint), ...words(s.command)],
        env: composeEnv(s),
        probes: probe
          ? [{ name: "healthcheck", command: probe, path: [...path, "healthcheck", "test"] }]
          : [],
      });
    }
  }
  return out;
}

/** Does this document look like a Compose file? */
export function isCompose(v: unknown): boolean {
  if (!isPlain(v) || "kind" in v || "apiVersion" in v || !isPlain(v.services)) return false;
  return Object.values(v.services).some((s) => isPlain(s) && ("image" in s || "build" in s));
}
