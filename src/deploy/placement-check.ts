/**
 * How many replicas of each engine a set of nodes holds: the nodes' allocatable GPU resources
 * (`nvidia.com/gpu`, `nvidia.com/mig-…`), the pods' node selectors and tolerations, and the
 * Deployment's spread (a hard topologySpreadConstraint keeps one engine's replicas at most one
 * apart over the nodes it may use). Engines are placed together, minimum replicas first, as the
 * scheduler would find them; each result says how many of the minimum and of the ceiling fit.
 * Pure: nodes and demands in, results out.
 */

export interface NodeCapacity {
  name: string;
  labels: Record<string, string>;
  taints: { key: string; value?: string; effect: string }[];
  /** Allocatable extended resources (`nvidia.com/…`), as numbers. */
  allocatable: Record<string, number>;
}

export interface EngineDemand {
  environment: string;
  /** Deployment name. */
  name: string;
  minReplicas: number;
  /** The autoscaler's ceiling (the fixed count without one). */
  maxReplicas: number;
  nodeSelector: Record<string, string>;
  tolerations: { key?: string; operator?: string; value?: string; effect?: string }[];
  /** Extended resources one replica requests. */
  requests: Record<string, number>;
  /** A DoNotSchedule spread over hostnames. */
  spreadHard: boolean;
}

export interface PlacementResult {
  environment: string;
  engine: string;
  /** Nodes the pods may use (selector and taints). */
  eligibleNodes: string[];
  minReplicas: number;
  maxReplicas: number;
  /** Replicas placed at the minimum, per node. */
  atMin: Record<string, number>;
  /** Replicas the nodes hold in all (every engine at its minimum first, then this one up to its ceiling). */
  holds: number;
  ok: boolean;
  /** Why not, in words with numbers. */
  reason?: string;
}

function tolerates(d: EngineDemand, taint: NodeCapacity["taints"][number]): boolean {
  if (taint.effect === "PreferNoSchedule") return true;
  return d.tolerations.some(
    (t) =>
      (t.key === undefined || t.key === taint.key) &&
      (t.operator === "Exists" || t.value === taint.value) &&
      (t.effect === undefined || t.effect === taint.effect),
  );
}

function eligible(d: EngineDemand, n: NodeCapacity): boolean {
  return (
    Object.entries(d.nodeSelector).every(([k, v]) => n.labels[k] === v) &&
    n.taints.every((t) => tolerates(d, t))
  );
}

export function placeEngines(
  nodes: readonly NodeCapacity[],
  demands: readonly EngineDemand[],
): PlacementResult[] {
  const free = new Map(nodes.map((n) => [n.name, { ...n.allocatable }]));
  const placed = new Map(demands.map((d) => [d.name, new Map<string, number>()]));
  const domains = new Map(
    demands.map((d) => [d.name, nodes.filter((n) => eligible(d, n)).map((n) => n.name)]),
  );
  const fits = (d: EngineDemand, node: string) =>
    Object.entries(d.requests).every(([r, q]) => (free.get(node)?.[r] ?? 0) >= q);
  const placeOne = (d: EngineDemand): boolean => {
    const counts = placed.get(d.name) ?? new Map<string, number>();
    const names = domains.get(d.name) ?? [];
    const least = Math.min(...names.map((n) => counts.get(n) ?? 0));
    let best: string | undefined;
    for (const n of names) {
      if (!fits(d, n)) continue;
      const c = counts.get(n) ?? 0;
      if (d.spreadHard && c + 1 - least > 1) continue;
      if (best === undefined || c < (counts.get(best) ?? 0)) best = n;
    }
    if (best === undefined) return false;
    const f = free.get(best) ?? {};
    for (const [r, q] of Object.entries(d.requests)) f[r] = (f[r] ?? 0) - q;
    counts.set(best, (counts.get(best) ?? 0) + 1);
    return true;
  };
  const total = (d: EngineDemand) => [...(placed.get(d.name)?.values() ?? [])].reduce((s, x) => s + x, 0);
  // Minimums first, one replica of each engine at a time (the largest requests first).
  const order = [...demands].sort(
    (a, b) =>
      Object.values(b.requests).reduce((s, x) => s + x, 0) -
        Object.values(a.requests).reduce((s, x) => s + x, 0) || (a.name < b.name ? -1 : 1),
  );
  let progressed = true;
  while (progressed) {
    progressed = false;
    for (const d of order) if (total(d) < d.minReplicas && placeOne(d)) progressed = true;
  }
  const atMin = new Map(demands.map((d) => [d.name, Object.fromEntries(placed.get(d.name) ?? [])]));
  const minPlaced = new Map(demands.map((d) => [d.name, total(d)]));
  // Then how far each can grow on what is left (in order; a ceiling others also need is shared).
  for (const d of order) while (total(d) < d.maxReplicas && placeOne(d)) {}
  return demands.map((d) => {
    const atMinimum = minPlaced.get(d.name) ?? 0;
    const holds = total(d);
    const names = domains.get(d.name) ?? [];
    const need = Object.entries(d.requests)
      .map(([r, q]) => `${q} ${r}`)
      .join(" + ");
    let reason: string | undefined;
    if (names.length === 0)
      reason = `no node matches ${JSON.stringify(d.nodeSelector)} and tolerates its taints`;
    else if (atMinimum < d.minReplicas)
      reason = `${atMinimum} of ${d.minReplicas} replicas (${need || "no GPU"} each) fit on ${names.join(", ")}`;
    else if (holds < d.maxReplicas)
      reason = `the ceiling is ${d.maxReplicas} but the nodes hold ${holds} (${need} each)`;
    return {
      environment: d.environment,
      engine: d.name,
      eligibleNodes: names,
      minReplicas: d.minReplicas,
      maxReplicas: d.maxReplicas,
      atMin: atMin.get(d.name) ?? {},
      holds,
      ok: atMinimum >= d.minReplicas && holds >= d.maxReplicas,
      ...(reason ? { reason } : {}),
    };
  });
}
