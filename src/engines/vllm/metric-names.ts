/**
 * vLLM metric names in PromQL and autoscaler metric names, checked against the catalog: the
 * colon spelling vLLM exposes, `_total` on counters, names renamed or removed by version. The
 * deploy linter asks the engines (`metricNameProblems` in src/engines/index.ts); this is vLLM's.
 */
import { knownMetricNames, metricFacts } from "../../catalog/engines.js";
import type { NameProblem } from "../engine.js";

const FACTS = metricFacts("vllm");
const KNOWN = new Set(knownMetricNames("vllm"));

/** Current name of a renamed metric (same key, no `until`). */
function successor(name: string): string | undefined {
  const fact = FACTS.find((f) => f.name === name);
  if (!fact) return undefined;
  return FACTS.find((f) => f.key === fact.key && f.until === undefined && f.name !== name)?.name;
}

function stripSuffix(name: string): string {
  for (const s of ["_bucket", "_sum", "_count"]) {
    if (name.endsWith(s) && KNOWN.has(name.slice(0, -s.length))) return name.slice(0, -s.length);
  }
  return name;
}

/** Problems of one metric name as written (`vllm_num_requests_waiting`, `vllm:num_preemptions`). */
export function checkVllmName(token: string, opts: { allowUnderscore?: boolean } = {}): NameProblem[] {
  const out: NameProblem[] = [];
  let name = token;
  if (name.startsWith("vllm_")) {
    name = `vllm:${name.slice(5)}`;
    if (!opts.allowUnderscore) {
      out.push({
        rule: "vllm-metric-underscore",
        token,
        message: `${token} does not exist: vLLM exposes ${stripSuffix(name)} (colon names); underscore names are only what prometheus-adapter may expose`,
      });
    }
  }
  const base = stripSuffix(name);
  const fact = FACTS.find((f) => f.name === base);
  if (fact) {
    if (fact.until !== undefined || fact.deprecated !== undefined) {
      const next = successor(base);
      out.push({
        rule: "vllm-metric-renamed",
        token,
        message: `${base} was deprecated in vLLM ${fact.deprecated ?? "?"}${fact.removed ? ` and removed in ${fact.removed}` : ""}${next ? `; use ${next}` : ""}`,
      });
    }
    return out;
  }
  if (KNOWN.has(`${base}_total`)) {
    out.push({
      rule: "vllm-counter-without-total",
      token,
      message: `${base} is a counter: it is exposed as ${base}_total`,
    });
    const fTotal = FACTS.find((f) => f.name === `${base}_total`);
    if (fTotal?.until !== undefined) {
      const next = successor(`${base}_total`);
      out.push({
        rule: "vllm-metric-renamed",
        token,
        message: `${base}_total was deprecated in vLLM ${fTotal.deprecated ?? "?"}${next ? `; use ${next}` : ""}`,
      });
    }
    return out;
  }
  out.push({
    rule: "vllm-metric-unknown",
    token,
    message: `${base} is not a metric any vLLM version exposes (known: ${
      [...KNOWN]
        .filter((n) => n.includes(base.split(":")[1]?.split("_")[0] ?? ""))
        .slice(0, 3)
        .join(", ") || "see the catalog"
    })`,
  });
  return out;
}

/** vLLM metric tokens in a PromQL expression (strings and label values removed first). */
export function vllmTokens(expr: string): string[] {
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  return [...new Set(bare.match(/\bvllm[:_][A-Za-z0-9_:]*/g) ?? [])];
}

/** Whether a metric name is vLLM's (either spelling): the names this checker owns. */
export function isVllmName(name: string): boolean {
  return /^vllm[:_]/.test(name);
}
