import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { ERRORS, EXIT_STATUSES, InferplaneError } from "../src/errors.js";

it("every error code is documented in docs/errors.md with its status, type and exit code", () => {
  const doc = readFileSync(new URL("../docs/errors.md", import.meta.url), "utf8");
  const rows = new Map(
    doc
      .split("\n")
      .filter((l) => l.startsWith("| `"))
      .map((l) => {
        const cells = l.split("|").map((c) => c.trim());
        return [cells[1]?.replace(/`/g, ""), cells.slice(2, 5)] as const;
      }),
  );
  for (const [code, def] of Object.entries(ERRORS)) {
    assert.deepEqual(rows.get(code), [String(def.status), def.type, String(def.exit)], code);
  }
  assert.equal(rows.size, Object.keys(ERRORS).length, "docs list a code that does not exist");
});

it("serializes to the OpenAI error shape", () => {
  const err = new InferplaneError("spec_invalid", "bad");
  assert.deepEqual(err.toOpenAI(), {
    error: { message: "bad", type: "invalid_request_error", code: "spec_invalid", param: null },
  });
});

it("every exit status the CLI can return is documented in docs/errors.md", () => {
  const doc = readFileSync(new URL("../docs/errors.md", import.meta.url), "utf8");
  const section = doc.slice(doc.indexOf("## Exit statuses"));
  const rows = new Map(
    section
      .split("\n")
      .filter((l) => /^\| \d+ \|/.test(l))
      .map((l) => {
        const cells = l.split("|").map((c) => c.trim());
        return [Number(cells[1]), cells[2] ?? ""] as const;
      }),
  );
  const exits = new Set<number>([
    ...Object.values(ERRORS).map((d) => d.exit),
    ...Object.values(EXIT_STATUSES),
  ]);
  for (const exit of exits) assert.ok(rows.has(exit), `exit ${exit} is not documented`);
  assert.deepEqual([...rows.keys()].sort(), [...exits].sort(), "docs list an exit status nothing returns");
  for (const [name, exit] of Object.entries(EXIT_STATUSES))
    if (exit !== EXIT_STATUSES.ok)
      assert.match(rows.get(exit) ?? "", new RegExp(`\\b${name}\\b`), `exit ${exit}`);
});
