/**
 * YAML text → plain value plus a map from field path to source position, so that every
 * schema problem can name its line and column.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { InferplaneError, type Problem } from "../errors.js";
import { redactSecrets } from "./secrets.js";

export type PathSegment = string | number;
export interface Position {
  line: number;
  column: number;
}
/** Field path (`models[0].maxModelLen`) → where it was written. */
export type PositionMap = Map<string, Position>;

export interface SourceDoc {
  value: unknown;
  positions: PositionMap;
}

const IDENT_RE = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `["models", 0, "maxModelLen"]` → `models[0].maxModelLen`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (typeof seg === "string" && IDENT_RE.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

/** Parses YAML; a syntax error throws `spec_yaml_syntax` with every error's line and column. */
export function parseYamlSource(text: string): SourceDoc {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems: Problem[] = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      return {
        path: "",
        message: redactSecrets(
          (e.message.split("\n")[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ""),
        ),
        ...(pos ? { line: pos.line, column: pos.col } : {}),
      };
    });
    throw new InferplaneError("spec_yaml_syntax", "the spec is not valid YAML", { problems });
  }
  const positions: PositionMap = new Map();
  const at = (offset: number | undefined): Position | undefined => {
    if (offset === undefined) return undefined;
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const walk = (node: unknown, path: PathSegment[], keyOffset: number | undefined) => {
    const n = node as Node | null | undefined;
    // Scalars point at their value; collections at their key (the value starts a line below).
    const own = isScalar(n) ? n.range?.[0] : (keyOffset ?? n?.range?.[0]);
    const pos = at(own);
    if (pos) positions.set(formatPath(path), pos);
    if (isMap(n)) {
      for (const pair of n.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const keyNode = pair.key as Node | null;
        walk(pair.value, [...path, key], keyNode?.range?.[0]);
      }
    } else if (isSeq(n)) {
      n.items.forEach((item, i) => {
        walk(item, [...path, i], undefined);
      });
    }
  };
  walk(doc.contents, [], undefined);
  if (!positions.has("")) positions.set("", { line: 1, column: 1 });
  return { value: doc.toJS({ maxAliasCount: 100 }), positions };
}

/** The position of a path, or of its nearest written ancestor (a missing field → its parent). */
export function positionOf(positions: PositionMap, path: readonly PropertyKey[]): Position | undefined {
  for (let n = path.length; n >= 0; n--) {
    const p = positions.get(formatPath(path.slice(0, n)));
    if (p) return p;
  }
  return undefined;
}
