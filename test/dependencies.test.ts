// package.json declares what the code imports, no more and no less: src/ imports only
// `dependencies`; test/, bench/ and scripts/ also `devDependencies`; every declared package is
// imported somewhere or is a tool named below with the reason it is declared.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";

const ROOT = new URL("..", import.meta.url).pathname;
const SELF = join("test", "dependencies.test.ts");

/** Declared for their command or their types, never imported. */
const TOOLS: Readonly<Record<string, string>> = {
  "@biomejs/biome": "the `biome` linter and formatter (npm run lint)",
  typescript: "the `tsc` type checker (npm run build, npm run typecheck)",
  tsx: "the TypeScript loader node --import tsx runs tests and benches with (scripts/run-tests.mjs)",
  "@types/node": "types of the node: built-ins",
  "@types/better-sqlite3": "types of better-sqlite3",
};

/** Dev packages src/ names only on a path that runs from source, never from the build. */
const SOURCE_ONLY_IN_SRC: Readonly<Record<string, string>> = {
  tsx: "src/rag/ingest/isolate.ts registers tsx's loader in a worker thread when running from .ts (tests)",
};

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : files(path);
    // This file's own samples of import forms are not imports.
    return /\.(ts|mts|mjs|js|cjs)$/.test(e.name) && path !== SELF ? [path] : [];
  });
}

// Static and dynamic imports, side-effect imports and require/require.resolve of a bare specifier.
const IMPORT =
  /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+|\brequire(?:\.resolve)?\s*\(\s*)["']([@a-z0-9][\w@./-]*)["']/g;

/** Package names a file imports (`@scope/name/sub` → `@scope/name`; node: built-ins left out). */
export function importedPackages(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] as string;
    if (spec.startsWith("node:")) continue;
    const parts = spec.split("/");
    out.add(spec.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] as string));
  }
  return out;
}

function importsOf(dirs: string[]): Map<string, string> {
  const seen = new Map<string, string>();
  for (const dir of dirs)
    for (const f of files(dir))
      for (const p of importedPackages(readFileSync(join(ROOT, f), "utf8"))) if (!seen.has(p)) seen.set(p, f);
  return seen;
}

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const deps = new Set(Object.keys(pkg.dependencies));
const devDeps = new Set(Object.keys(pkg.devDependencies));

it("reads package names out of every import form", () => {
  const text = [
    `import a from "pkg-a";`,
    `import { b } from '@scope/b/sub/path.js';`,
    `import "side-effect";`,
    `const c = await import("dyn");`,
    `const d = require("req"); require.resolve("res/package.json");`,
    `import { e } from "node:fs"; import f from "./local.js";`,
    `const g = x.from; call(y.to, "not-an-import");`,
  ].join("\n");
  assert.deepEqual([...importedPackages(text)].sort(), [
    "@scope/b",
    "dyn",
    "pkg-a",
    "req",
    "res",
    "side-effect",
  ]);
});

it("src/ and bin/ import only declared dependencies", () => {
  const bad = [...importsOf(["src", "bin"])]
    .filter(([p]) => !deps.has(p) && !(devDeps.has(p) && SOURCE_ONLY_IN_SRC[p] !== undefined))
    .map(([p, f]) => `${p} (${f})`);
  assert.deepEqual(bad, [], "imported by src/ but not in dependencies");
});

it("test/, bench/ and scripts/ import only declared packages", () => {
  const bad = [...importsOf(["test", "bench", "scripts"])]
    .filter(([p]) => !deps.has(p) && !devDeps.has(p))
    .map(([p, f]) => `${p} (${f})`);
  assert.deepEqual(bad, [], "imported but not declared");
});

it("every declared package is imported, or is a tool with its reason", () => {
  const used = importsOf(["src", "bin", "test", "bench", "scripts"]);
  const unused = [...deps, ...devDeps].filter((p) => !used.has(p) && TOOLS[p] === undefined);
  assert.deepEqual(unused, [], "declared in package.json but imported nowhere");
  for (const tool of Object.keys(TOOLS))
    assert.ok(devDeps.has(tool), `${tool} is listed as a tool but not declared`);
  const devOnlyInSrc = [...importsOf(["src", "bin"]).keys()].filter(
    (p) => devDeps.has(p) && SOURCE_ONLY_IN_SRC[p] === undefined,
  );
  assert.deepEqual(devOnlyInSrc, [], "src/ needs these at run time: move them to dependencies");
});
