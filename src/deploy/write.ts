/**
 * Writing a rendered tree: every file to a temp path then renamed into place, and files a
 * previous render wrote that this one no longer produces removed (listed in a manifest), so
 * the directory always equals the render and nothing the user added is touched.
 */
import { mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { RenderedFile } from "./types.js";

export const MANIFEST = ".inferplane-rendered";

export function writeTree(
  outDir: string,
  files: readonly RenderedFile[],
): { written: number; removed: string[] } {
  let previous: string[] = [];
  try {
    previous = readFileSync(join(outDir, MANIFEST), "utf8").split("\n").filter(Boolean);
  } catch {
    // first render into this directory
  }
  const now = new Set(files.map((f) => f.path));
  for (const f of files) {
    const target = join(outDir, f.path);
    mkdirSync(dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}`;
    writeFileSync(tmp, f.content);
    renameSync(tmp, target);
  }
  const removed = previous.filter((p) => !now.has(p) && !p.includes(".."));
  for (const p of removed) {
    rmSync(join(outDir, p), { force: true });
    // Drop directories the removal emptied (never above outDir).
    for (let d = dirname(p); d !== "." && d !== "/"; d = dirname(d)) {
      try {
        rmdirSync(join(outDir, d));
      } catch {
        break; // not empty
      }
    }
  }
  const manifest = join(outDir, MANIFEST);
  writeFileSync(`${manifest}.tmp-${process.pid}`, `${[...now].join("\n")}\n`);
  renameSync(`${manifest}.tmp-${process.pid}`, manifest);
  return { written: files.length, removed };
}
