import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { ERRORS, InferplaneError } from "../src/errors.js";

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
