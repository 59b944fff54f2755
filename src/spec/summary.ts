/** A compact, JSON-friendly view of a validated platform, for `validate` and other reports. */
import type { Platform } from "./schema.js";

export interface PlatformSummary {
  name: string;
  namespace: string;
  models: {
    name: string;
    source: string;
    kind: string;
    engine: string;
    quantization: string;
    gpus: string;
    replicas: string;
    endpoints: number;
  }[];
  gpuPools: { name: string; type: string; count: number; sharing: string; spot: boolean }[];
  routes: { name: string; aliases: string[]; targets: string; balancer: string; fallbacks: string[] }[];
  environments: { name: string; namespace: string }[];
}

export function summarize(p: Platform): PlatformSummary {
  const pools = new Map(p.gpus.map((g) => [g.name, g]));
  return {
    name: p.metadata.name,
    namespace: p.metadata.namespace,
    models: p.models.map((m) => {
      const pool = m.gpu ? pools.get(m.gpu.pool) : undefined;
      const gpus = !m.gpu
        ? "none"
        : m.gpu.migProfile
          ? `MIG ${m.gpu.migProfile} (${m.gpu.pool})`
          : `${m.gpu.count} × ${pool?.type ?? "?"} (${m.gpu.pool})`;
      const a = m.autoscaling;
      const replicas =
        a?.enabled === true
          ? `${a.minReplicas}–${a.maxReplicas} on ${a.metric} > ${a.target}`
          : String(m.replicas);
      return {
        name: m.name,
        source: m.source,
        kind: m.kind ?? "chat",
        engine: m.engineVersion ? `${m.engine} ${m.engineVersion}` : m.engine,
        quantization: m.quantization ?? "none",
        gpus,
        replicas,
        endpoints: m.endpoints.length,
      };
    }),
    gpuPools: p.gpus.map((g) => {
      const s = g.sharing;
      const sharing =
        s.mode === "mig"
          ? `mig/${s.mig?.strategy ?? "mixed"}: ${(s.mig?.layouts ?? []).map((l) => `${l.gpus}×[${l.profiles.join("+")}]`).join(", ")}`
          : s.mode === "exclusive"
            ? "exclusive"
            : `${s.mode} ×${s.replicas ?? "?"}`;
      return { name: g.name, type: g.type, count: g.count, sharing, spot: g.spot };
    }),
    routes: p.routes.map((r) => {
      const total = r.targets.reduce((s, t) => s + t.weight, 0) || 1;
      const targets =
        r.targets.length === 1
          ? (r.targets[0]?.model ?? "")
          : r.targets.map((t) => `${t.model} ${Math.round((100 * t.weight) / total)}%`).join(", ");
      return { name: r.name, aliases: r.aliases, targets, balancer: r.balancer, fallbacks: r.fallbacks };
    }),
    environments: Object.entries(p.environments).map(([name, e]) => ({
      name,
      namespace: e.namespace ?? `${p.metadata.namespace}-${name}`,
    })),
  };
}
