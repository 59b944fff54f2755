/** Reading parsed YAML without trusting its shape: plain maps, strings, and Kubernetes objects. */
import type { LoadedDoc, LoadedDockerfile, PathKey } from "./load.js";
import type { RuleId, Severity } from "./types.js";

export type Plain = Record<string, unknown>;

export const isPlain = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);

export const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** A Kubernetes object among the linted documents. */
export interface K8s {
  doc: LoadedDoc;
  o: Plain;
  kind: string;
  name: string;
}

/** The object's namespace, or undefined when the manifest leaves it to the applier. */
export function namespaceOf(k: K8s): string | undefined {
  return isPlain(k.o.metadata) ? str(k.o.metadata.namespace) : undefined;
}

/** String map of a YAML map (label values may be written unquoted as numbers or booleans). */
export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isPlain(v))
    for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = String(x);
  return out;
}

/** What a rule module sees of the linter: the objects it classified and how to report. */
export interface LintContext {
  readonly k8s: readonly K8s[];
  /** Docker Compose files (a top-level `services` map of image/build entries). */
  readonly compose: readonly LoadedDoc[];
  readonly dockerfiles: readonly LoadedDockerfile[];
  at(doc: LoadedDoc, path: readonly PathKey[], rule: RuleId, message: string, severity?: Severity): void;
  add(rule: RuleId, message: string, file: string, line: number, column?: number, severity?: Severity): void;
}

/** The value at `path`, or undefined. */
export function get(v: unknown, path: readonly PathKey[]): unknown {
  let cur = v;
  for (const k of path) {
    if (typeof k === "number") cur = Array.isArray(cur) ? cur[k] : undefined;
    else cur = isPlain(cur) ? cur[k] : undefined;
  }
  return cur;
}
