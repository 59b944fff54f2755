/**
 * Service-level objectives for goodput: `ttft=500ms,tpot=50ms` (also `itl`, `e2e`). A request
 * meets the SLO when it succeeded and each named figure is at or under its bound; for `itl`
 * every gap of the request must be. Goodput is the rate of such requests, as in DistServe and
 * vLLM's `--goodput`.
 */
import { InferplaneError } from "../errors.js";

export const SLO_METRICS = ["ttft", "tpot", "itl", "e2e"] as const;
export type SloMetric = (typeof SLO_METRICS)[number];
export type Slo = Partial<Record<SloMetric, number>>;

/** `ttft=500ms,tpot=50ms` → bounds in ms. Units: ms (default) or s. */
export function parseSlo(text: string): Slo {
  const slo: Slo = {};
  for (const part of text.split(",")) {
    const item = part.trim();
    if (item === "") continue;
    const m = /^([a-z0-9]+)\s*[=:]\s*(\d+(?:\.\d+)?)\s*(ms|s)?$/i.exec(item);
    const name = m?.[1]?.toLowerCase();
    if (!m || !name || !(SLO_METRICS as readonly string[]).includes(name))
      throw new InferplaneError(
        "usage",
        `--slo: "${item}" is not METRIC=DURATION with METRIC one of ${SLO_METRICS.join(", ")} (e.g. ttft=500ms,tpot=50ms)`,
      );
    slo[name as SloMetric] = Number(m[2]) * (m[3]?.toLowerCase() === "s" ? 1000 : 1);
  }
  if (Object.keys(slo).length === 0) throw new InferplaneError("usage", "--slo names no objective");
  return slo;
}

export function formatSlo(slo: Slo): string {
  return Object.entries(slo)
    .map(([k, v]) => `${k}≤${v}ms`)
    .join(", ");
}

/** The figures of one request that an SLO looks at (ms; NaN when not measured). */
export interface SloInput {
  ok: boolean;
  ttftMs: number;
  tpotMs: number;
  e2eMs: number;
  itlMs: readonly number[];
}

export function meetsSlo(r: SloInput, slo: Slo): boolean {
  if (!r.ok) return false;
  if (slo.ttft !== undefined && !(r.ttftMs <= slo.ttft)) return false;
  // A one-token reply has no TPOT: nothing to miss.
  if (slo.tpot !== undefined && Number.isFinite(r.tpotMs) && !(r.tpotMs <= slo.tpot)) return false;
  if (slo.e2e !== undefined && !(r.e2eMs <= slo.e2e)) return false;
  if (slo.itl !== undefined && r.itlMs.some((g) => !(g <= (slo.itl as number)))) return false;
  return true;
}
