import { z } from "zod";

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `500ms`, `30s`, `2m`, `1h`; a bare number is milliseconds. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : undefined;
  const m = DURATION_RE.exec(value.trim());
  if (!m?.[1] || !m[2]) return undefined;
  return Number(m[1]) * (DURATION_MS[m[2]] ?? Number.NaN);
}

/** A duration field: `"30s"` or milliseconds; parsed to milliseconds. */
export function duration(doc: string) {
  return z
    .union([
      z.number().nonnegative(),
      z.string().regex(DURATION_RE, 'a duration such as "500ms", "30s" or "2m"'),
    ])
    .transform((v) => parseDuration(v) as number)
    .describe(`${doc} A duration: "500ms", "30s", "2m", "1h", or a number of milliseconds.`);
}

const QUANTITY_RE = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const QUANTITY_MULT: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** Parses a Kubernetes-style quantity (`8Gi`, `500M`, `1024`) into a plain number. */
export function parseQuantity(value: string | number): number | undefined {
  if (typeof value === "number") return value;
  const m = QUANTITY_RE.exec(value.trim());
  if (!m?.[1]) return undefined;
  return Number(m[1]) * (QUANTITY_MULT[m[2] ?? ""] ?? Number.NaN);
}

/** A Kubernetes quantity kept as written (it is emitted into manifests verbatim). */
export function quantity(doc: string) {
  return z
    .union([z.string().regex(QUANTITY_RE, 'a Kubernetes quantity such as "8Gi" or "16Gi"'), z.number()])
    .transform(String)
    .describe(`${doc} A Kubernetes quantity such as "8Gi".`);
}

/** DNS-1123 label: the names that become Kubernetes object names. */
export const DNS_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function dnsLabel(doc: string) {
  return z
    .string()
    .max(63)
    .regex(
      DNS_LABEL_RE,
      "a DNS-1123 label: lower-case letters, digits and '-', starting and ending alphanumeric",
    )
    .describe(doc);
}
