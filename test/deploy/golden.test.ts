// examples/inferplane.yaml renders byte-identical to the committed examples/rendered/.
// Regenerate after an intended change: node bin/inferplane.js render -c examples/inferplane.yaml -o examples/rendered
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { MANIFEST } from "../../src/deploy/write.js";
import { EXAMPLE_TEXT, ROOT, render, renderExample } from "./helpers.js";

const GOLDEN = join(ROOT, "examples/rendered");

function list(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? list(p) : [relative(GOLDEN, p)];
  });
}

describe("golden: examples/rendered", () => {
  it("holds exactly the files render writes, byte for byte", () => {
    const r = renderExample();
    const want = r.files.map((f) => f.path).sort();
    const got = list(GOLDEN)
      .filter((p) => p !== MANIFEST)
      .sort();
    assert.deepEqual(got, want, "file list differs: re-render the example");
    for (const f of r.files) {
      assert.equal(
        readFileSync(join(GOLDEN, f.path), "utf8"),
        f.content,
        `${f.path} differs: re-render the example`,
      );
    }
    assert.deepEqual(readFileSync(join(GOLDEN, MANIFEST), "utf8").trim().split("\n").sort(), want);
  });

  it("renders the same bytes twice (no clock, no randomness)", () => {
    assert.deepEqual(render(EXAMPLE_TEXT).files, renderExample().files);
  });
});
