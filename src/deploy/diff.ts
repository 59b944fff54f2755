/**
 * JSON Patch (RFC 6902) from one object to another: what an overlay needs to turn a base object
 * into the environment's. Maps are diffed key by key; lists and scalars that differ are
 * replaced whole (Kubernetes lists are rarely safe to patch by index).
 */

export type PatchOp =
  | { op: "add"; path: string; value: unknown }
  | { op: "replace"; path: string; value: unknown }
  | { op: "remove"; path: string };

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);

function escapeKey(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isPlain(a) && isPlain(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

export function jsonPatch(from: unknown, to: unknown, path = ""): PatchOp[] {
  if (deepEqual(from, to)) return [];
  if (isPlain(from) && isPlain(to)) {
    const ops: PatchOp[] = [];
    for (const k of Object.keys(from)) {
      if (!Object.hasOwn(to, k)) ops.push({ op: "remove", path: `${path}/${escapeKey(k)}` });
    }
    for (const k of Object.keys(to)) {
      const p = `${path}/${escapeKey(k)}`;
      if (Object.hasOwn(from, k)) ops.push(...jsonPatch(from[k], to[k], p));
      else ops.push({ op: "add", path: p, value: to[k] });
    }
    return ops;
  }
  return [{ op: "replace", path, value: to }];
}

/** Applies ops made by jsonPatch (for tests and the overlay self-check). */
export function applyPatch(doc: unknown, ops: readonly PatchOp[]): unknown {
  const root = { v: structuredClone(doc) } as Plain;
  for (const op of ops) {
    const parts = `/v${op.path}`
      .split("/")
      .slice(1)
      .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    const last = parts.pop() as string;
    let cur: Plain = root;
    for (const p of parts) cur = cur[p] as Plain;
    if (op.op === "remove") delete cur[last];
    else cur[last] = structuredClone(op.value);
  }
  return root.v;
}
