/**
 * File loaders: .txt, .md, .html (readable text), .pdf (pdf.js text layer) and .jsonl in the
 * BEIR corpus format (`_id`, `title`, `text`). A document's id is stable: the file's path
 * relative to the ingest root, or the BEIR `_id`. Each loader is bounded (linear HTML, PDF
 * expansion and pages, JSON nesting); uploads run them in a worker (isolate.ts).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, extname, join, relative, resolve, sep } from "node:path";
import { Parser } from "htmlparser2";
import { InferplaneError } from "../../errors.js";
import { MAX_JSON_DEPTH, parseJsonBody } from "../../json-body.js";
import type { SourceDocument } from "../types.js";
import { checkPdfExpansion, DEFAULT_PARSE_LIMITS, type ParseLimits } from "./limits.js";

export const LOADABLE = [".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".jsonl"] as const;

/** Elements whose content is not readable text. */
const SKIPPED = new Set(["script", "style", "noscript", "template", "svg", "head", "iframe", "object"]);
const BLOCK = new Set([
  "p",
  "div",
  "section",
  "article",
  "header",
  "footer",
  "main",
  "aside",
  "nav",
  "ul",
  "ol",
  "table",
  "tr",
  "blockquote",
  "pre",
  "dl",
  "dt",
  "dd",
  "figure",
  "form",
]);

/**
 * Readable text of an HTML page: no scripts, styles or markup; blocks become paragraphs. One
 * pass of htmlparser2's tokenizer (a state machine: linear in the input, whatever is left
 * unclosed — `<!--`, `<script`, an attribute quote).
 */
export function htmlToText(html: string): { title?: string; text: string } {
  const out: string[] = [];
  let title = "";
  let inTitle = 0;
  let skip = 0;
  const parser = new Parser(
    {
      onopentag(name) {
        if (SKIPPED.has(name)) skip++;
        if (name === "title") inTitle++;
        if (skip > 0) return;
        const h = /^h([1-6])$/.exec(name)?.[1];
        if (h) out.push(`\n\n${"#".repeat(Number(h))} `);
        else if (name === "li") out.push("\n- ");
        else if (BLOCK.has(name)) out.push("\n\n");
        else if (name === "br") out.push("\n");
        else out.push(" ");
      },
      onclosetag(name) {
        if (name === "title" && inTitle > 0) inTitle--;
        if (SKIPPED.has(name)) {
          if (skip > 0) skip--;
          return;
        }
        if (skip > 0) return;
        if (BLOCK.has(name) || /^h[1-6]$/.test(name)) out.push("\n\n");
        else if (name === "td" || name === "th") out.push("\n");
        else out.push(" ");
      },
      ontext(text) {
        if (inTitle > 0) title += text;
        else if (skip === 0) out.push(text);
      },
    },
    { decodeEntities: true, lowerCaseTags: true, recognizeSelfClosing: true },
  );
  parser.write(html);
  parser.end();
  const text = out
    .join("")
    .split("\n")
    .map((l) => l.replace(/[ \t\f\v\r\u00a0]+/g, " ").trim())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
  const t = title.replace(/\s+/g, " ").trim();
  return t ? { title: t, text } : { text };
}

export async function pdfToText(
  data: Uint8Array,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
): Promise<string> {
  // pdf.js inflates streams as it reads them: a 1 MB file may hold gigabytes. Measure first, bounded.
  checkPdfExpansion(data, limits.maxExpandedBytes);
  const pdfjs = await import("pdfjs-dist/legacy/build/pdf.mjs");
  const doc = await pdfjs.getDocument({ data, useSystemFonts: false, isEvalSupported: false, verbosity: 0 })
    .promise;
  const pages: string[] = [];
  let size = 0;
  try {
    if (doc.numPages > limits.maxPdfPages) {
      throw new Error(`${doc.numPages} pages, more than rag.ingest.maxPdfPages (${limits.maxPdfPages})`);
    }
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
      const text = lines.join("\n").trim();
      size += text.length;
      if (size > limits.maxExpandedBytes) {
        throw new Error(`its text exceeds rag.ingest.maxExpandedBytes (${limits.maxExpandedBytes})`);
      }
      pages.push(text);
      page.cleanup();
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
      // The request bodies' rules: UTF-8, at most MAX_JSON_DEPTH levels, errors that echo nothing.
      d = parseJsonBody(Buffer.from(line), MAX_JSON_DEPTH) as typeof d;
    } catch (err) {
      throw new InferplaneError(
        "rag_unsupported_file",
        `${file}:${i + 1}: ${(err as Error).message.replace("the request body is", "the line is")}`,
      );
    }
    if (typeof d !== "object" || d === null || Array.isArray(d)) {
      throw new InferplaneError("rag_unsupported_file", `${file}:${i + 1}: a line must be a JSON object`);
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
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
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
        return one(await pdfToText(new Uint8Array(data), limits));
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
