// Small functions in the gateway: none over 80 lines (policy/ is held to its own rules).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { it } from "node:test";
import ts from "typescript";

const root = new URL("../../", import.meta.url).pathname;
const MAX_LINES = 80;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === "policy" ? [] : files(p);
    return e.name.endsWith(".ts") ? [p] : [];
  });
}

it("no function in src/gateway is longer than 80 lines", () => {
  const long: string[] = [];
  for (const file of files(join(root, "src/gateway"))) {
    const src = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && "body" in node && node.body) {
        const start = src.getLineAndCharacterOfPosition(node.getStart()).line;
        const end = src.getLineAndCharacterOfPosition(node.getEnd()).line;
        if (end - start + 1 > MAX_LINES)
          long.push(`${relative(root, file)}:${start + 1} (${end - start + 1} lines)`);
      }
      ts.forEachChild(node, visit);
    };
    visit(src);
  }
  assert.deepEqual(long, []);
});
