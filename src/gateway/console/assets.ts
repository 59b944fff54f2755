/**
 * The console's static files, built by `npm run build` (scripts/build-console.mjs) into
 * `dist/console/`. Read once into memory: the page is small (see BUDGET_BYTES) and the
 * gateway then serves it without touching the disk.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Size budget for the whole page (HTML + CSS + JS, uncompressed): a test holds it. */
export const BUDGET_BYTES = 64 * 1024;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
};

export interface ConsoleAsset {
  body: Buffer;
  type: string;
}

/** dist/gateway/console → dist/console; from source (tsx), src/gateway/console → dist/console. */
export function assetDirs(): string[] {
  return [
    fileURLToPath(new URL("../../console/", import.meta.url)),
    fileURLToPath(new URL("../../../dist/console/", import.meta.url)),
  ];
}

/** The built files by name (`index.html`, `app.js`, …), or undefined when no build is found. */
export function loadAssets(dirs = assetDirs()): Map<string, ConsoleAsset> | undefined {
  for (const dir of dirs) {
    if (!existsSync(join(dir, "index.html")) || !existsSync(join(dir, "app.js"))) continue;
    const files = new Map<string, ConsoleAsset>();
    for (const name of readdirSync(dir)) {
      const type = TYPES[extname(name)];
      if (type) files.set(name, { body: readFileSync(join(dir, name)), type });
    }
    return files;
  }
  return undefined;
}
