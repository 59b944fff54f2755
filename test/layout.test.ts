// Rooms a newcomer can find their way in: no file in src/ over 600 lines and no function over 120
// without a one-line reason at its top ("Over 600 lines: …" in the file's first lines, "Over 120
// lines" in the function's doc comment).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { it } from "node:test";
import ts from "typescript";

const SRC = new URL("../src", import.meta.url).pathname;
const MAX_FILE_LINES = 600;
const MAX_FUNCTION_LINES = 120;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return files(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}

type FunctionNode = ts.FunctionLikeDeclaration & { body: ts.Node };

function functionName(n: FunctionNode): string {
  if (n.name !== undefined) return n.name.getText();
  const parent = n.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyDeclaration(parent) || ts.isPropertyAssignment(parent))
    return parent.name.getText();
  return "(anonymous)";
}

/** Every file and function over its limit without its reason, as `path` or `path name`. */
function unexplained(): string[] {
  const out: string[] = [];
  for (const file of files(SRC)) {
    const path = `src/${relative(SRC, file)}`;
    const text = readFileSync(file, "utf8");
    const lines = text.split("\n");
    if (
      lines.length > MAX_FILE_LINES &&
      !lines.slice(0, 3).some((l) => l.includes(`Over ${MAX_FILE_LINES} lines:`))
    )
      out.push(path);
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (n: ts.Node): void => {
      if (ts.isFunctionLike(n) && "body" in n && n.body !== undefined) {
        const f = n as FunctionNode;
        const first = sf.getLineAndCharacterOfPosition(f.getStart()).line;
        const last = sf.getLineAndCharacterOfPosition(f.end).line;
        if (last - first + 1 > MAX_FUNCTION_LINES) {
          const doc = ts
            .getLeadingCommentRanges(text, f.getFullStart())
            ?.map((r) => text.slice(r.pos, r.end))
            .join("\n");
          if (!doc?.includes(`Over ${MAX_FUNCTION_LINES} lines`)) out.push(`${path} ${functionName(f)}`);
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return out;
}

it(`no file over ${MAX_FILE_LINES} lines and no function over ${MAX_FUNCTION_LINES} without a reason at its top`, () => {
  assert.deepEqual(unexplained(), [], "split these, or give each a one-line reason");
});
