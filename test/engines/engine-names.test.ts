// Engines know themselves: outside src/engines and src/catalog no source file names an engine
// (`"vllm"`, `=== "tgi"`, `case "ollama":`); it asks the engine registry instead. The one
// exception is the spec's `engine` enum line, whose values come from the one engine list.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { it } from "node:test";
import { ENGINE_IDS } from "../../src/catalog/engines.js";
import { engineDefinition } from "../../src/engines/index.js";
import { ENGINES } from "../../src/spec/schema.js";

const SRC = new URL("../../src", import.meta.url).pathname;

/** Engines that are served models (`openai` is a provider and `embedded` our own; both too generic a word). */
const NAMED = ["vllm", "tgi", "triton", "ollama", "llamacpp"];
const QUOTED = new RegExp(`["'\`](${NAMED.join("|")})["'\`]`);

/** Lines allowed to name an engine: the spec's enum (its default). */
const ALLOWED = [/^src\/spec\/schema\.ts: +engine: z\.enum\(ENGINES\)/];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return files(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}

it("no engine name in quotes outside src/engines and src/catalog, but the spec's enum", () => {
  const hits: string[] = [];
  for (const file of files(SRC)) {
    const path = `src/${relative(SRC, file)}`;
    if (path.startsWith("src/engines/") || path.startsWith("src/catalog/")) continue;
    readFileSync(file, "utf8")
      .split("\n")
      .forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, "");
        if (!QUOTED.test(code)) return;
        const at = `${path}: ${line}`;
        if (!ALLOWED.some((re) => re.test(at))) hits.push(`${path}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(hits, []);
});

it("the spec's enum is the one engine list, and every engine has a definition of its own", () => {
  assert.deepEqual([...ENGINES], [...ENGINE_IDS]);
  for (const id of ENGINE_IDS) assert.equal(engineDefinition(id).id, id);
});
