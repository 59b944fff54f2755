/**
 * Reading what `lint` looks at: YAML documents with the line of every node (also inside
 * YAML embedded in ConfigMap data and HelmChart values), Dockerfiles, dashboard JSON, and
 * Inferplane specs. Directories are walked (node_modules and dot-directories skipped).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from "yaml";

export type PathKey = string | number;

/** A YAML (or JSON) document and a way to find the line of any path in it. */
export interface LoadedDoc {
  file: string;
  value: unknown;
  /** The whole text of the file the document came from. */
  source: string;
  /** 1-based line/column of the node at `path` (the nearest existing ancestor). */
  where(path: readonly PathKey[]): { line: number; column: number };
}

export interface LoadedDockerfile {
  file: string;
  lines: string[];
}

export interface LintInput {
  docs: LoadedDoc[];
  dockerfiles: LoadedDockerfile[];
  /** Files that could not be parsed, with the reason. */
  broken: { file: string; line: number; message: string }[];
}

function nodeAt(root: Node | null | undefined, path: readonly PathKey[]): Node | undefined {
  let cur: unknown = root;
  let last: Node | undefined = (root ?? undefined) as Node | undefined;
  for (const [i, k] of path.entries()) {
    if (isMap(cur)) {
      const pair = cur.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === k);
      if (!pair) break;
      // The last step points at the key: a block value starts on the line after it.
      if (i === path.length - 1 && isScalar(pair.key)) return pair.key;
      cur = pair.value;
    } else if (isSeq(cur) && typeof k === "number") {
      cur = cur.items[k];
    } else break;
    if (cur && typeof cur === "object" && "range" in (cur as object)) last = cur as Node;
  }
  return last;
}

/** Documents of a YAML text; `lineOffset` places embedded YAML at its line in the outer file. */
export function loadYamlDocs(
  file: string,
  text: string,
  lineOffset = 0,
  columnOffset = 0,
): { docs: LoadedDoc[]; error?: { line: number; message: string } } {
  const counter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter: counter, uniqueKeys: false });
  const list = Array.isArray(parsed) ? parsed : [];
  const docs: LoadedDoc[] = [];
  for (const d of list) {
    if (d.errors.length > 0) {
      const e = d.errors[0];
      return {
        docs,
        error: { line: (e?.linePos?.[0]?.line ?? 1) + lineOffset, message: e?.message ?? "invalid YAML" },
      };
    }
    const value = d.toJS({ maxAliasCount: 100 }) as unknown;
    if (value === null || value === undefined) continue;
    docs.push({
      file,
      value,
      source: text,
      where(path) {
        const node = nodeAt(d.contents, path);
        const pos = counter.linePos(node?.range?.[0] ?? 0);
        return { line: pos.line + lineOffset, column: pos.col + (pos.line === 1 ? columnOffset : 0) };
      },
    });
  }
  return { docs };
}

/**
 * YAML embedded in a block scalar of `doc` at `path` (a ConfigMap's `config.yaml`, a HelmChart's
 * `valuesContent`), with lines mapped into the outer file.
 */
export function embeddedDocs(doc: LoadedDoc, path: readonly PathKey[], text: string): LoadedDoc[] {
  const at = doc.where(path);
  // A block scalar's content starts on the line after its key.
  return loadYamlDocs(doc.file, text, at.line, 0).docs;
}

function isDockerfile(name: string): boolean {
  return /^(Dockerfile|Containerfile)(\..+)?$|\.dockerfile$/i.test(name);
}

function walk(path: string, out: string[]): void {
  const st = statSync(path);
  if (st.isFile()) {
    out.push(path);
    return;
  }
  for (const e of readdirSync(path, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name === "node_modules" || (e.name.startsWith(".") && e.isDirectory())) continue;
    const p = join(path, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (/\.(ya?ml|json)$/i.test(e.name) || isDockerfile(e.name)) out.push(p);
  }
}

export function loadPaths(paths: readonly string[]): LintInput {
  const input: LintInput = { docs: [], dockerfiles: [], broken: [] };
  const files: string[] = [];
  for (const p of paths) walk(p, files);
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      input.broken.push({ file, line: 1, message: `cannot read: ${(err as Error).message}` });
      continue;
    }
    if (isDockerfile(basename(file))) {
      input.dockerfiles.push({ file, lines: text.split(/\r?\n/) });
      continue;
    }
    // JSON is YAML: dashboards get line numbers the same way.
    const { docs, error } = loadYamlDocs(file, text);
    input.docs.push(...docs);
    if (error) input.broken.push({ file, ...error });
  }
  return input;
}
