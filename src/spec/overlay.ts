/**
 * Environment overlays: `environments.<env>.overrides` merged over the base spec, keeping
 * source positions so that a problem an override introduces points at the override's line.
 *
 * Merge rules (documented in the schema): maps merge key by key; lists whose items all carry
 * a `name` merge item by item on `name` (new names are appended); other lists and scalars
 * replace; `null` removes the key; a map whose `kind` differs from the base's replaces it
 * whole (switching a store from sqlite to milvus must not inherit sqlite's fields).
 */
import { InferplaneError } from "../errors.js";
import { formatPath, type PathSegment, type PositionMap, type SourceDoc } from "./source.js";

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);
const isNamedList = (v: unknown): v is Plain[] =>
  Array.isArray(v) && v.every((x) => isPlain(x) && typeof x.name === "string");

const FORBIDDEN = ["apiVersion", "kind", "environments"];

function underPath(key: string, prefix: string): string | undefined {
  if (key === prefix) return "";
  if (prefix === "") return key;
  if (key.startsWith(prefix) && (key[prefix.length] === "." || key[prefix.length] === "[")) {
    return key.slice(prefix.length);
  }
  return undefined;
}

/** Moves the positions under `from` (in `src`) to `to` (in `out`), replacing what `out` had there. */
function movePositions(src: PositionMap, from: PathSegment[], to: PathSegment[], out: PositionMap): void {
  const fromKey = formatPath(from);
  const toKey = formatPath(to);
  for (const key of [...out.keys()]) if (underPath(key, toKey) !== undefined) out.delete(key);
  for (const [key, pos] of src) {
    const rest = underPath(key, fromKey);
    if (rest === undefined) continue;
    const joined = toKey === "" && rest.startsWith(".") ? rest.slice(1) : toKey + rest;
    out.set(joined, pos);
  }
}

function merge(
  base: unknown,
  over: unknown,
  overPath: PathSegment[],
  outPath: PathSegment[],
  src: PositionMap,
  out: PositionMap,
): unknown {
  if (isPlain(base) && isPlain(over) && (over.kind === undefined || over.kind === base.kind)) {
    const result: Plain = { ...base };
    for (const [k, v] of Object.entries(over)) {
      if (v === null) {
        delete result[k];
        movePositions(new Map(), [], [...outPath, k], out);
        continue;
      }
      result[k] = merge(base[k], v, [...overPath, k], [...outPath, k], src, out);
    }
    return result;
  }
  if (isNamedList(base) && isNamedList(over)) {
    const result: unknown[] = [...base];
    over.forEach((item, j) => {
      const i = base.findIndex((b) => b.name === item.name);
      if (i >= 0) {
        result[i] = merge(base[i], item, [...overPath, j], [...outPath, i], src, out);
      } else {
        movePositions(src, [...overPath, j], [...outPath, result.length], out);
        result.push(item);
      }
    });
    return result;
  }
  movePositions(src, overPath, outPath, out);
  return over;
}

/** Applies one environment's overrides; throws `spec_unknown_environment` for an unknown name. */
export function applyEnvironment(doc: SourceDoc, env: string): SourceDoc {
  const root = isPlain(doc.value) ? doc.value : {};
  const envs = isPlain(root.environments) ? root.environments : {};
  const entry = envs[env];
  if (!isPlain(entry)) {
    const known = Object.keys(envs);
    throw new InferplaneError(
      "spec_unknown_environment",
      `environment "${env}" is not defined; ${known.length ? `known: ${known.join(", ")}` : "the spec defines no environments"}`,
    );
  }
  const overrides = entry.overrides ?? {};
  const overPath: PathSegment[] = ["environments", env, "overrides"];
  if (!isPlain(overrides)) return doc; // the schema reports the wrong type at its line
  for (const key of FORBIDDEN) {
    if (key in overrides) {
      const path = formatPath([...overPath, key]);
      throw new InferplaneError("spec_invalid", `an environment cannot override \`${key}\``, {
        problems: [{ path, message: `\`${key}\` cannot be overridden`, ...doc.positions.get(path) }],
      });
    }
  }
  const positions: PositionMap = new Map(doc.positions);
  const merged = merge(root, overrides, overPath, [], doc.positions, positions) as Plain;
  // The environment's namespace (default `<namespace>-<env>`) becomes the platform's.
  const meta = isPlain(merged.metadata) ? merged.metadata : {};
  const baseNs = typeof meta.namespace === "string" ? meta.namespace : "ai-inference";
  const overMeta = isPlain(overrides.metadata) ? overrides.metadata : {};
  const namespace =
    typeof entry.namespace === "string"
      ? entry.namespace
      : typeof overMeta.namespace === "string"
        ? overMeta.namespace
        : `${baseNs}-${env}`;
  merged.metadata = { ...meta, namespace };
  return { value: merged, positions };
}
