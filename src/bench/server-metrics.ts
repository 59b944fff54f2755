/**
 * Queueing as the server reports it: engines expose the time requests wait before they are
 * scheduled as a Prometheus histogram (vLLM `vllm:request_queue_time_seconds`, TGI
 * `tgi_request_queue_duration`; names from src/catalog/engines.ts). Scraped before and after a
 * run, the difference of `_sum` over the difference of `_count` is the mean queue time of the
 * requests the server finished in between. Servers without such a histogram (a gateway, most
 * proxies) report nothing.
 */
import { ENGINE_IDS, metricNames } from "../catalog/engines.js";
import { forEachSample } from "../engines/prometheus-text.js";

/** Histogram base names (seconds) of queue time, from the engine catalog: every engine that has one. */
const QUEUE_HISTOGRAMS: readonly string[] = [
  ...new Set(
    ENGINE_IDS.flatMap((e) => {
      const q = metricNames(e).queueTime;
      return q?.type === "histogram" && q.unit === "seconds" ? q.exposed.map((s) => s.name) : [];
    }),
  ),
];

export interface QueueSnapshot {
  name: string;
  sum: number;
  count: number;
}

/** The queue-time histogram's sum and count at `url`/metrics, or undefined when it has none. */
export async function scrapeQueue(
  url: string,
  headers: Record<string, string>,
): Promise<QueueSnapshot | undefined> {
  const base = url.replace(/\/+$/, "").replace(/\/v1$/, "");
  let text: string;
  try {
    const res = await fetch(`${base}/metrics`, { headers, signal: AbortSignal.timeout(3_000) });
    if (!res.ok) return undefined;
    text = await res.text();
  } catch {
    return undefined;
  }
  for (const name of QUEUE_HISTOGRAMS) {
    let sum = 0;
    let count = 0;
    let seen = false;
    forEachSample(text, new Set([`${name}_sum`, `${name}_count`]), (s) => {
      seen = true;
      if (s.name.endsWith("_sum")) sum += s.value;
      else count += s.value;
    });
    if (seen) return { name, sum, count };
  }
  return undefined;
}

/** Mean queue time (ms) of the requests finished between two snapshots. */
export function queueBetween(
  before: QueueSnapshot | undefined,
  after: QueueSnapshot | undefined,
): { meanMs: number; requests: number; metric: string } | undefined {
  if (!before || !after || before.name !== after.name) return undefined;
  const n = after.count - before.count;
  if (!(n > 0)) return undefined;
  return { meanMs: ((after.sum - before.sum) / n) * 1000, requests: n, metric: after.name };
}
