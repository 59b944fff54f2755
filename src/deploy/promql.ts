/**
 * Engine metric selectors for alerts and dashboards, from the catalog at each deployed engine's
 * version: vLLM's colon names, counters with `_total`, the KV-cache gauge as that version
 * names it. Several names for one signal (models on engine versions either side of a rename)
 * become one `__name__` regex, so a query never silently misses half the fleet.
 */
import { type MetricKey, metricNames } from "../catalog/engines.js";
import type { ModelSpec } from "../spec/schema.js";

export function engineSeriesNames(models: readonly ModelSpec[], key: MetricKey): string[] {
  const names = new Set<string>();
  for (const m of models) {
    const r = metricNames(m.engine, m.engineVersion)[key];
    for (const s of r?.exposed ?? []) if (s.labels === undefined) names.add(s.name);
  }
  return [...names].sort();
}

/** `name{matchers}` or `{__name__=~"a|b",matchers}`; `suffix` goes on every name (`_bucket`). */
export function selector(names: readonly string[], matchers: string, suffix = ""): string {
  const full = names.map((n) => `${n}${suffix}`);
  if (full.length === 1) return `${full[0]}{${matchers}}`;
  return `{__name__=~"${full.join("|")}"${matchers ? `,${matchers}` : ""}}`;
}
