/**
 * File loaders: .txt, .md, .html (readable text), .pdf (pdf.js text layer) and .jsonl in the
 * BEIR corpus format (`_id`, `title`, `text`). A document's id is stable: the file's path
 * relative to the ingest root, or the BEIR `_id`.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, extname, join, relative, resolve, sep } from "node:path";
import { InferplaneError } from "../../errors.js";
import type { SourceDocument } from "../types.js";

export const LOADABLE = [".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".jsonl"] as const;

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === "#") {
      const code = e[1] === "x" || e[1] === "X" ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1));
      return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** Readable text of an HTML page: no scripts, styles or markup; blocks become paragraphs. */
export function htmlToText(html: string): { title?: string; text: string } {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1];
  const body = html
    .replace(/<!--[\s\S]*?-->/g, " ")
    .replace(/<(script|style|noscript|template|svg|head)\b[\s\S]*?<\/\1\s*>/gi, " ")
    .replace(/<h([1-6])\b[^>]*>/gi, (_m, n: string) => `\n\n${"#".repeat(Number(n))} `)
    .replace(/<li\b[^>]*>/gi, "\n- ")
    .replace(
      /<\/?(p|div|section|article|header|footer|main|aside|nav|ul|ol|table|tr|blockquote|pre|h[1-6]|dl|dt|dd|figure|form)\b[^>]*>/gi,
      "\n\n",
    )
    .replace(/<br\s*\/?>|<\/t[dh]>/gi, "\n")
    .replace(/<[^>]+>/g, " ");
  const text = decodeEntities(body)
    .split("\n")
    .map((l) => l.replace(/[ \t\f\v\u00a0]+/g, " ").trim())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
  const t = title ? decodeEntities(title).replace(/\s+/g, " ").trim() : undefined;
  return t ? { title: t, text } : { text };
}

export async function pdfToText(data: Uint8Array): Promise<string> {
  const pdfjs = await import("pdfjs-dist/legacy/build/pdf.mjs");
  const doc = await pdfjs.getDocument({ data, useSystemFonts: false, isEvalSupported: false, verbosity: 0 })
    .promise;
  const pages: string[] = [];
  try {
    for (let i = 1; i <= doc.numPages; i++) {
      const page = await doc.getPage(i);
      const content = await page.getTextContent();
      let line = "";
      const lines: string[] = [];
      for (const item of content.items) {
        if (!("str" in item)) continue;
        line += item.str;
        if (item.hasEOL) {
          lines.push(line);
          line = "";
        }
      }
      if (line) lines.push(line);
      pages.push(lines.join("\n").trim());
    }
  } finally {
    await doc.destroy();
  }
  return pages.filter((p) => p.length > 0).join("\n\n");
}

/** BEIR corpus lines → documents; a bad line is an error naming the file and line. */
export function parseBeirCorpus(content: string, file: string, timestamp: number): SourceDocument[] {
  const docs: SourceDocument[] = [];
  content.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    let d: { _id?: unknown; title?: unknown; text?: unknown; metadata?: unknown };
    try {
      d = JSON.parse(line) as typeof d;
    } catch (err) {
      throw new InferplaneError(
        "rag_unsupported_file",
        `${file}:${i + 1}: not JSON: ${(err as Error).message}`,
      );
    }
    if (d._id === undefined || d._id === null || typeof d.text !== "string") {
      throw new InferplaneError(
        "rag_unsupported_file",
        `${file}:${i + 1}: a BEIR document needs "_id" and "text"`,
      );
    }
    docs.push({
      id: String(d._id),
      ...(typeof d.title === "string" && d.title ? { title: d.title } : {}),
      text: d.text,
      source: basename(file),
      timestamp,
      ...(d.metadata && typeof d.metadata === "object"
        ? { metadata: d.metadata as Record<string, unknown> }
        : {}),
    });
  });
  return docs;
}

function markdownTitle(text: string): string | undefined {
  return /^#\s+(.+)$/m.exec(text)?.[1]?.trim();
}

/** Loads one file's documents. `id` is the stable id for single-document files. */
export async function loadBuffer(
  data: Buffer,
  name: string,
  id: string,
  source: string,
  timestamp: number,
): Promise<SourceDocument[]> {
  const ext = extname(name).toLowerCase();
  const one = (text: string, title?: string): SourceDocument[] => [
    { id, ...(title ? { title } : {}), text, source, timestamp },
  ];
  switch (ext) {
    case ".txt":
      return one(data.toString("utf8"));
    case ".md":
    case ".markdown": {
      const text = data.toString("utf8");
      return one(text, markdownTitle(text));
    }
    case ".html":
    case ".htm": {
      const { title, text } = htmlToText(data.toString("utf8"));
      return one(text, title);
    }
    case ".pdf":
      try {
        return one(await pdfToText(new Uint8Array(data)));
      } catch (err) {
        throw new InferplaneError(
          "rag_unsupported_file",
          `${name}: cannot read the PDF: ${(err as Error).message}`,
        );
      }
    case ".jsonl":
      return parseBeirCorpus(data.toString("utf8"), name, timestamp);
    default:
      throw new InferplaneError(
        "rag_unsupported_file",
        `${name}: no loader for "${ext || "(no extension)"}" (known: ${LOADABLE.join(", ")})`,
      );
  }
}

export async function loadFile(file: string, root: string): Promise<SourceDocument[]> {
  const st = statSync(file);
  const rel = relative(root, file).split(sep).join("/") || basename(file);
  return loadBuffer(readFileSync(file), file, rel, rel, st.mtimeMs);
}

function globRegex(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === "*" && pattern[i + 1] === "*") {
      re += pattern[i + 2] === "/" ? "(?:.*/)?" : ".*";
      i += pattern[i + 2] === "/" ? 2 : 1;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

function walk(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith(".") || e.name === "node_modules") continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
}

/**
 * Files named by a path, a directory (every loadable file below it) or a glob (`docs/**\/*.md`).
 * Returns the files, sorted, and the root their ids are relative to.
 */
export function expandPaths(spec: string): { root: string; files: string[] } {
  const wild = spec.search(/[*?]/);
  if (wild < 0) {
    const abs = resolve(spec);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(abs);
    } catch {
      throw new InferplaneError("invalid_request", `${spec}: no such file or directory`);
    }
    if (st.isFile()) return { root: resolve(abs, ".."), files: [abs] };
    const files: string[] = [];
    walk(abs, files);
    return {
      root: abs,
      files: files.filter((f) => (LOADABLE as readonly string[]).includes(extname(f).toLowerCase())),
    };
  }
  const baseEnd = spec.lastIndexOf("/", wild);
  const base = resolve(baseEnd < 0 ? "." : spec.slice(0, baseEnd) || "/");
  const rest = baseEnd < 0 ? spec : spec.slice(baseEnd + 1);
  const re = globRegex(rest);
  const all: string[] = [];
  walk(base, all);
  return { root: base, files: all.filter((f) => re.test(relative(base, f).split(sep).join("/"))) };
}
