/**
 * Process metrics (event-loop lag, heap, GC, CPU) from prom-client's default collectors, in one
 * registry per process that every server appends to its own exposition. The event-loop lag
 * percentiles reset at each scrape, so a scrape reads the lag since the previous one.
 */
import { collectDefaultMetrics, Registry } from "prom-client";

let registry: Registry | undefined;

const LINT_FAILING = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

export function processRegistry(): Registry {
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 5 });
    // Gauges named like counters, which promtool's linter rejects; the per-type gauges without the
    // suffix (nodejs_active_handles{type}, …) carry the same numbers: sum() them for the total.
    for (const name of LINT_FAILING) registry.removeSingleMetric(name);
  }
  return registry;
}

/** A server's own exposition followed by the process metrics. */
export async function withProcessMetrics(own: Registry): Promise<string> {
  const [a, b] = await Promise.all([own.metrics(), processRegistry().metrics()]);
  return `${a.trimEnd()}\n${b}`;
}
