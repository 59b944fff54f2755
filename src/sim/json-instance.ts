/**
 * A JSON value that validates against a JSON Schema, drawn from a seeded random source: what the
 * simulator answers for `response_format: json_schema` and for tool-call arguments, where a real
 * engine's guided decoding guarantees schema-valid output. Covers the subset structured-output
 * engines accept (vLLM's xgrammar/guidance backends, OpenAI strict mode): type (and type lists),
 * properties / required / additionalProperties, items / prefixItems / minItems / maxItems, enum,
 * const, anyOf / oneOf / allOf, $ref into $defs / definitions, string length and common formats,
 * number bounds and multipleOf. `pattern` is not generated for (a fixed word is used).
 */

type Schema = Record<string, unknown>;

const isSchema = (v: unknown): v is Schema => v !== null && typeof v === "object" && !Array.isArray(v);

const WORDS = ["alpha", "bravo", "delta", "echo", "lima", "nova", "orbit", "pixel", "river", "sierra"];
const MAX_DEPTH = 8;

/** The type to generate: the first non-null of a type list, else what the keywords imply. */
function typeOf(s: Schema, depth: number): unknown {
  const type = s.type;
  if (Array.isArray(type)) {
    const nonNull = type.filter((t) => t !== "null");
    return nonNull.length > 0 ? nonNull[0] : "null";
  }
  if (type !== undefined) return type;
  if (isSchema(s.properties) || Array.isArray(s.required)) return "object";
  if (s.items !== undefined || Array.isArray(s.prefixItems)) return "array";
  return depth === 0 ? "object" : "string";
}

class Generator {
  constructor(
    private readonly root: Schema,
    private readonly rand: () => number,
  ) {}

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.rand() * list.length)] as T;
  }

  private resolve(s: Schema): Schema {
    let cur = s;
    for (let hops = 0; typeof cur.$ref === "string" && hops < 32; hops++) {
      const ref = cur.$ref as string;
      if (ref === "#") {
        cur = this.root;
        continue;
      }
      const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
      const defs = m ? this.root[m[1] as string] : undefined;
      const target =
        m && isSchema(defs)
          ? defs[
              decodeURIComponent(m[2] as string)
                .replace(/~1/g, "/")
                .replace(/~0/g, "~")
            ]
          : undefined;
      if (!isSchema(target)) return {};
      const { $ref: _drop, ...rest } = cur;
      cur = { ...target, ...rest };
    }
    return cur;
  }

  value(schemaIn: unknown, depth: number): unknown {
    if (schemaIn === true || schemaIn === undefined || !isSchema(schemaIn)) return depth > 0 ? "value" : {};
    const s = this.withAllOf(this.resolve(schemaIn));
    if ("const" in s) return s.const;
    if (Array.isArray(s.enum) && s.enum.length > 0) return this.pick(s.enum);
    const branches = Array.isArray(s.anyOf) ? s.anyOf : Array.isArray(s.oneOf) ? s.oneOf : null;
    if (branches !== null && branches.length > 0) return this.branchValue(s, branches, depth);
    return this.typed(typeOf(s, depth), s, depth);
  }

  /** The schema with its `allOf` parts merged in. */
  private withAllOf(s: Schema): Schema {
    if (!Array.isArray(s.allOf)) return s;
    let merged: Schema = { ...s };
    delete merged.allOf;
    for (const part of s.allOf) if (isSchema(part)) merged = mergeSchemas(merged, this.resolve(part));
    return merged;
  }

  /** A value of one `anyOf` / `oneOf` branch, merged with the schema around it. */
  private branchValue(s: Schema, branches: unknown[], depth: number): unknown {
    // Prefer a branch that is not null, so optional fields carry a value; deep down, prefer null to stop recursion.
    const nonNull = branches.filter((b) => !(isSchema(b) && b.type === "null"));
    const nullOne = branches.find((b) => isSchema(b) && b.type === "null");
    if (depth >= MAX_DEPTH && nullOne !== undefined) return null;
    const { anyOf: _a, oneOf: _o, ...outer } = s;
    const chosen = nonNull.length > 0 ? nonNull[0] : branches[0];
    return this.value(isSchema(chosen) ? mergeSchemas(outer, this.resolve(chosen)) : chosen, depth);
  }

  private typed(type: unknown, s: Schema, depth: number): unknown {
    switch (type) {
      case "object":
        return this.object(s, depth);
      case "array":
        return this.array(s, depth);
      case "string":
        return this.string(s);
      case "integer":
        return this.number(s, true);
      case "number":
        return this.number(s, false);
      case "boolean":
        return this.rand() < 0.5;
      case "null":
        return null;
      default:
        return null;
    }
  }

  private object(s: Schema, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const props = isSchema(s.properties) ? s.properties : {};
    const required = new Set(
      Array.isArray(s.required) ? s.required.filter((r): r is string => typeof r === "string") : [],
    );
    for (const [key, sub] of Object.entries(props)) {
      // Optional properties appear too (a fuller example), unless the object is getting deep.
      if (required.has(key) || depth < 3) out[key] = this.value(sub, depth + 1);
    }
    // Required keys without a property schema: any value.
    for (const key of required)
      if (!(key in out))
        out[key] = this.value(isSchema(s.additionalProperties) ? s.additionalProperties : {}, depth + 1);
    const min = typeof s.minProperties === "number" ? s.minProperties : 0;
    for (let i = 0; Object.keys(out).length < min && s.additionalProperties !== false; i++)
      out[`key${i}`] = this.value(
        isSchema(s.additionalProperties) ? s.additionalProperties : { type: "string" },
        depth + 1,
      );
    if (
      depth === 0 &&
      Object.keys(out).length === 0 &&
      s.additionalProperties !== false &&
      !isSchema(s.properties)
    )
      out.answer = this.pick(WORDS); // JSON mode without a schema: a small object, not {}
    return out;
  }

  private array(s: Schema, depth: number): unknown[] {
    const prefix = Array.isArray(s.prefixItems) ? s.prefixItems : [];
    const min = Math.max(typeof s.minItems === "number" ? s.minItems : 0, prefix.length);
    const max = typeof s.maxItems === "number" ? s.maxItems : Math.max(min, 3);
    const want = depth >= MAX_DEPTH ? min : Math.min(max, Math.max(min, 1 + Math.floor(this.rand() * 3)));
    const out: unknown[] = [];
    for (let i = 0; i < want; i++)
      out.push(this.value(i < prefix.length ? prefix[i] : (s.items ?? {}), depth + 1));
    if (s.uniqueItems === true) {
      const seen = new Set<string>();
      return out.filter((v) => {
        const k = JSON.stringify(v);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
    }
    return out;
  }

  private string(s: Schema): string {
    const min = typeof s.minLength === "number" ? s.minLength : 0;
    const max = typeof s.maxLength === "number" ? s.maxLength : Number.POSITIVE_INFINITY;
    let v: string;
    switch (s.format) {
      case "date-time":
        v = new Date(Date.UTC(2025, Math.floor(this.rand() * 12), 1 + Math.floor(this.rand() * 28), 12))
          .toISOString()
          .replace(".000Z", "Z");
        break;
      case "date":
        v = `2025-0${1 + Math.floor(this.rand() * 9)}-1${Math.floor(this.rand() * 9)}`;
        break;
      case "time":
        v = "12:00:00Z";
        break;
      case "email":
        v = `${this.pick(WORDS)}@example.com`;
        break;
      case "uri":
      case "url":
        v = `https://example.com/${this.pick(WORDS)}`;
        break;
      case "uuid":
        v = "00000000-0000-4000-8000-".concat(
          Math.floor(this.rand() * 0xffffffffffff)
            .toString(16)
            .padStart(12, "0"),
        );
        break;
      case "ipv4":
        v = `10.0.0.${1 + Math.floor(this.rand() * 254)}`;
        break;
      default:
        v = this.pick(WORDS);
    }
    while (v.length < min) v += "x";
    if (v.length > max) v = v.slice(0, max);
    return v;
  }

  private number(s: Schema, integer: boolean): number {
    const num = (k: string) => (typeof s[k] === "number" ? (s[k] as number) : undefined);
    const exMin = num("exclusiveMinimum");
    const exMax = num("exclusiveMaximum");
    let lo = num("minimum") ?? (exMin !== undefined ? exMin + (integer ? 1 : 1e-6) : undefined);
    let hi = num("maximum") ?? (exMax !== undefined ? exMax - (integer ? 1 : 1e-6) : undefined);
    if (lo === undefined && hi === undefined) {
      lo = 0;
      hi = 100;
    } else if (lo === undefined) lo = (hi as number) - 100;
    else if (hi === undefined) hi = lo + 100;
    if (integer) {
      lo = Math.ceil(lo as number);
      hi = Math.floor(hi as number);
    }
    const step = num("multipleOf");
    if (step !== undefined && step > 0) {
      const first = Math.ceil((lo as number) / step);
      const last = Math.floor((hi as number) / step);
      const k = last >= first ? first + Math.floor(this.rand() * (last - first + 1)) : first;
      return Number((k * step).toPrecision(12));
    }
    const x = (lo as number) + this.rand() * ((hi as number) - (lo as number));
    if (integer) return Math.round(x);
    // Two decimals read better, unless rounding steps over a bound.
    const short = Math.round(x * 100) / 100;
    return short >= (lo as number) && short <= (hi as number) ? short : x;
  }
}

/** `a` and `b` both hold: keywords of `b` win, properties and required are united. */
function mergeSchemas(a: Schema, b: Schema): Schema {
  const out: Schema = { ...a, ...b };
  if (isSchema(a.properties) || isSchema(b.properties))
    out.properties = {
      ...(isSchema(a.properties) ? a.properties : {}),
      ...(isSchema(b.properties) ? b.properties : {}),
    };
  if (Array.isArray(a.required) || Array.isArray(b.required))
    out.required = [
      ...new Set([
        ...(Array.isArray(a.required) ? a.required : []),
        ...(Array.isArray(b.required) ? b.required : []),
      ]),
    ];
  return out;
}

/** A value valid against `schema` (undefined or `{}`: a small object), deterministic for `rand`'s sequence. */
export function jsonInstance(schema: unknown, rand: () => number): unknown {
  const root = isSchema(schema) ? schema : {};
  return new Generator(root, rand).value(root, 0);
}
