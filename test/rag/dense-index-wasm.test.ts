// The WebAssembly kNN module shipped as base64 in src/rag/stores/dense-index.ts is the WAT written
// above it: the test assembles that WAT with wabt (the version the comment names) and compares bytes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import wabt from "wabt";

const SOURCE = readFileSync(new URL("../../src/rag/stores/dense-index.ts", import.meta.url), "utf8");

function watFromComment(): string {
  const start = SOURCE.indexOf(" * The module is this WAT");
  const end = SOURCE.indexOf(" */", start);
  assert.ok(start >= 0 && end > start, "the WAT comment is missing");
  return SOURCE.slice(start, end)
    .split("\n")
    .slice(1)
    .map((l) => l.replace(/^ \* ?/, ""))
    .join("\n");
}

function shippedBytes(): Buffer {
  const m = /const WASM = Buffer\.from\(\s*"([A-Za-z0-9+/=]+)",\s*"base64",?\s*\)/.exec(SOURCE);
  assert.ok(m?.[1], "the base64 module is missing");
  return Buffer.from(m[1], "base64");
}

it("the base64 module is the WAT in its comment, assembled by wabt 1.0.37 with SIMD", async () => {
  assert.match(SOURCE, /compiled with wabt 1\.0\.37 \(simd enabled\)/);
  const w = await wabt();
  const mod = w.parseWat("dense-index.wat", watFromComment(), { simd: true });
  try {
    mod.validate();
    const { buffer } = mod.toBinary({ write_debug_names: false });
    assert.equal(Buffer.from(buffer).toString("base64"), shippedBytes().toString("base64"));
  } finally {
    mod.destroy();
  }
});
