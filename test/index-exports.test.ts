// src/index.ts exports what its header says: each CLI command's library function, or the
// command is named there as CLI-only with its reason.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { buildProgram } from "../src/cli/main.js";
import * as lib from "../src/index.js";

/** Top-level command → the exports that do its work (empty: CLI-only, explained in the header). */
const LIBRARY: Readonly<Record<string, readonly string[]>> = {
  validate: ["validateSpecFile"],
  schema: ["specJsonSchema"],
  serve: ["startGateway"],
  up: [],
  sim: ["startSimServer", "startSimFleet"],
  "embed-serve": ["startEmbeddingServer"],
  bench: ["runBench"],
  keys: [],
  usage: [],
  render: ["renderPlatform", "writeTree"],
  lint: ["lintPaths"],
  plan: ["planSpec", "renderPlanText", "renderPlanMarkdown", "renderPlanHtml"],
  rag: ["RagService"],
};

it("every CLI command has its library functions exported, or is named CLI-only in the header", () => {
  const commands = buildProgram({ out: () => {}, err: () => {}, isTTY: false }, () => {}).commands.map((c) =>
    c.name(),
  );
  assert.deepEqual([...commands].sort(), Object.keys(LIBRARY).sort(), "a command is missing from this list");
  const header = readFileSync(new URL("../src/index.ts", import.meta.url), "utf8").split("*/")[0] ?? "";
  const exports = lib as unknown as Record<string, unknown>;
  for (const [command, names] of Object.entries(LIBRARY)) {
    if (names.length === 0) {
      assert.match(header, new RegExp(`CLI-only[^]*\`${command}\``), `${command}: not named CLI-only`);
      continue;
    }
    for (const name of names) {
      assert.equal(typeof exports[name], "function", `${command}: ${name} is not exported`);
      assert.match(header, new RegExp(`\\b${name}\\b`), `${command}: the header does not name ${name}`);
    }
  }
});
