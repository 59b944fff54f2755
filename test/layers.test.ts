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

/** The packages that stand beside each other: none reaches into another's internals, nor up into cli or gateway. */
const PACKAGES = ["planner", "deploy", "rag", "engines"];

/** Imports that still break the rule, by their owners' issues; the list may only shrink (empty now). */
const KNOWN = new Set<string>([]);

function imports(): { from: string; target: string }[] {
  return files(SRC).flatMap((file) =>
    [...readFileSync(file, "utf8").matchAll(RELATIVE_IMPORT)].map((m) => ({
      from: relative(SRC, file),
      target: relative(SRC, resolve(dirname(file), (m[1] as string).replace(/\.js$/, ".ts"))),
    })),
  );
}

const packageOf = (path: string) => path.split("/")[0] as string;

it("planner, deploy, rag and engines import nothing from cli or gateway, nor each other's internals but their index", () => {
  const found = imports()
    .filter(({ from, target }) => {
      const [a, b] = [packageOf(from), packageOf(target)];
      if (!PACKAGES.includes(a) || a === b) return false;
      if (b === "cli" || b === "gateway") return true;
      return PACKAGES.includes(b) && target !== `${b}/index.ts`;
    })
    .map(({ from, target }) => `${from} → ${target}`);
  assert.deepEqual(
    found.filter((x) => !KNOWN.has(x)),
    [],
  );
  assert.deepEqual(
    [...KNOWN].filter((x) => !found.includes(x)),
    [],
    "fixed: take these off KNOWN",
  );
});

it("the gateway reaches RAG only through its public index", () => {
  const found = imports()
    .filter(({ from, target }) => packageOf(from) === "gateway" && packageOf(target) === "rag")
    .map(({ from, target }) => `${from} → ${target}`);
  assert.deepEqual(
    found.filter((x) => !x.endsWith("→ rag/index.ts")),
    [],
  );
  assert.ok(found.length > 0, "the gateway mounts the RAG routes");
});
