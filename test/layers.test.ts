// src/cli is the top layer: nothing under src/ imports it (statically or dynamically), so every
// command's work stays callable as a library (src/index.ts) and the CLI stays thin.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { it } from "node:test";

const SRC = new URL("../src", import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return files(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}

const RELATIVE_IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g;

it("nothing outside src/cli imports from src/cli", () => {
  const upward: string[] = [];
  for (const file of files(SRC)) {
    const from = relative(SRC, file);
    if (from.startsWith("cli/")) continue;
    for (const m of readFileSync(file, "utf8").matchAll(RELATIVE_IMPORT)) {
      const target = relative(SRC, resolve(dirname(file), m[1] as string));
      if (target.startsWith("cli/")) upward.push(`${from} → ${target}`);
    }
  }
  assert.deepEqual(upward, []);
});
