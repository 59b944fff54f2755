/** Metric facts the deploy linter needs beyond names (names are checked by their engines). */

/** Whether a metric name is a 0–1 fraction (vLLM `*_usage_perc`, under any spelling). */
export function isFractionMetric(name: string): boolean {
  return /(_|:)(gpu_|kv_|cpu_)?cache_usage_perc$/.test(name) || /kv_cache_usage/.test(name);
}
