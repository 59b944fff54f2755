/**
 * Conventions every Inferplane server follows for its Prometheus metrics (docs/metrics.md):
 *
 * - Our own series are `inferplane_<component>_<what>_<unit>` (`inferplane_rag_stage_duration_seconds`);
 *   counters end in `_total`, durations are seconds, sizes bytes — what `promtool check metrics`
 *   lints for.
 * - Where the OpenTelemetry GenAI semantic conventions define an instrument, we expose it under
 *   the name OpenTelemetry's Prometheus translation gives it (dots → underscores, the unit `s` →
 *   `_seconds`, annotations such as `{token}` dropped), with the convention's attributes as labels
 *   (`gen_ai_operation_name`, `gen_ai_request_model`, `gen_ai_token_type`), and the convention's
 *   advised bucket boundaries. Source: https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-metrics/
 * - Labels are low-cardinality: names from the spec (route, pool, stage), status codes and
 *   endpoints of a pool. Never user ids, keys, prompts or free text.
 * - One Registry per server instance (tests run several in one process); process metrics come from
 *   `withProcessMetrics` (process-metrics.ts) appended to the server's own exposition.
 */
import { Registry } from "prom-client";

// Advised boundaries from the GenAI metrics conventions (semconv 1.37, gen-ai-metrics.md).
/** `gen_ai.client.token.usage`: powers of 4 from 1 to 4^11 tokens. */
export const GENAI_TOKEN_BUCKETS = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];
/** `gen_ai.client.operation.duration`, `gen_ai.server.request.duration`. */
export const GENAI_DURATION_BUCKETS = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/** `gen_ai.server.time_to_first_token`. */
export const GENAI_TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
/** `gen_ai.server.time_per_output_token`. */
export const GENAI_TPOT_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5];
/** Work inside one of our servers (pipeline stages, gateway overhead): sub-millisecond to seconds. */
export const STAGE_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const NAME = /^[a-z][a-z0-9_]*$/;

/**
 * `inferplane_<component>_<name>`, checked: lower-case snake case, no colons, and counters must be
 * named `..._total` by the caller. Throws on a bad name so a typo fails at start-up, not in a lint.
 */
export function metricName(component: string, name: string): string {
  const full = `inferplane_${component}_${name}`;
  if (!NAME.test(full)) throw new Error(`metric name ${full} is not lower-case snake case`);
  return full;
}

/** A fresh registry for one server instance. */
export function createRegistry(): Registry {
  return new Registry();
}

/**
 * Children of a labelled metric cached per label tuple: `labels()` in prom-client hashes the
 * label values on every call; a nested Map lookup is several times cheaper on a hot path.
 */
export class ChildCache<C> {
  private readonly outer = new Map<string, Map<string, C>>();
  constructor(private readonly make: (a: string, b: string) => C) {}

  get(a: string, b: string): C {
    let inner = this.outer.get(a);
    if (!inner) {
      inner = new Map();
      this.outer.set(a, inner);
    }
    let child = inner.get(b);
    if (!child) {
      child = this.make(a, b);
      inner.set(b, child);
    }
    return child;
  }

  clear(): void {
    this.outer.clear();
  }
}
