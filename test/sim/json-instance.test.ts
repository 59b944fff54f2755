// Schema-valid instances for the simulator's structured output, checked with ajv over many seeds.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Ajv } from "ajv";
import { jsonInstance } from "../../src/sim/json-instance.js";
import { rng } from "../../src/sim/model/workload.js";
import { tokenPieces } from "../../src/sim/structured.js";

const ajv = new Ajv({ strict: false, validateFormats: false });

const SCHEMAS: Record<string, object> = {
  "nested objects and arrays": {
    type: "object",
    properties: {
      id: { type: "integer", minimum: 10, maximum: 12 },
      price: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
      qty: { type: "integer", multipleOf: 5, minimum: 1, maximum: 40 },
      name: { type: "string", minLength: 12, maxLength: 14 },
      code: { type: "string", maxLength: 2 },
      items: {
        type: "array",
        minItems: 2,
        maxItems: 4,
        items: { type: "object", properties: { k: { type: "boolean" } }, required: ["k"] },
      },
      tuple: { type: "array", prefixItems: [{ type: "string" }, { type: "integer" }] },
    },
    required: ["id", "price", "qty", "name", "code", "items", "tuple"],
    additionalProperties: false,
  },
  "enum, const, nullable and type lists": {
    type: "object",
    properties: {
      kind: { enum: ["a", "b", 3] },
      fixed: { const: { x: 1 } },
      maybe: { anyOf: [{ type: "string" }, { type: "null" }] },
      either: { type: ["integer", "null"], minimum: 2, maximum: 2 },
      one: {
        oneOf: [{ type: "object", properties: { t: { const: "one" } }, required: ["t"] }, { type: "string" }],
      },
    },
    required: ["kind", "fixed", "maybe", "either", "one"],
  },
  "$ref, $defs and allOf": {
    $defs: {
      point: {
        type: "object",
        properties: { x: { type: "number" }, y: { type: "number" } },
        required: ["x", "y"],
        additionalProperties: false,
      },
      node: {
        type: "object",
        properties: {
          value: { type: "integer" },
          next: { anyOf: [{ $ref: "#/$defs/node" }, { type: "null" }] },
        },
        required: ["value", "next"],
      },
    },
    type: "object",
    properties: {
      at: { $ref: "#/$defs/point" },
      list: { $ref: "#/$defs/node" },
      both: {
        allOf: [
          { type: "object", properties: { a: { type: "string" } }, required: ["a"] },
          { properties: { b: { type: "integer" } }, required: ["b"] },
        ],
      },
    },
    required: ["at", "list", "both"],
  },
  formats: {
    type: "object",
    properties: {
      when: { type: "string", format: "date-time" },
      day: { type: "string", format: "date" },
      mail: { type: "string", format: "email" },
      id: { type: "string", format: "uuid" },
    },
    required: ["when", "day", "mail", "id"],
  },
  "a top-level array": { type: "array", items: { type: "integer", minimum: -3, maximum: -1 }, minItems: 1 },
};

describe("jsonInstance", () => {
  for (const [name, schema] of Object.entries(SCHEMAS))
    it(`${name}: valid for 50 seeds`, () => {
      const validate = ajv.compile(schema);
      for (let seed = 1; seed <= 50; seed++) {
        const v = jsonInstance(schema, rng(seed));
        assert.ok(validate(v), `seed ${seed}: ${JSON.stringify(v)}: ${ajv.errorsText(validate.errors)}`);
      }
    });

  it("formats look like their format", () => {
    const v = jsonInstance(SCHEMAS.formats, rng(3)) as Record<string, string>;
    assert.ok(!Number.isNaN(Date.parse(v.when as string)));
    assert.match(v.day as string, /^\d{4}-\d{2}-\d{2}$/);
    assert.match(v.mail as string, /^[^@]+@[^@]+$/);
    assert.match(v.id as string, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("deterministic for a seed; no schema gives a non-empty object", () => {
    const s = SCHEMAS["nested objects and arrays"];
    assert.deepEqual(jsonInstance(s, rng(9)), jsonInstance(s, rng(9)));
    const free = jsonInstance(undefined, rng(1));
    assert.equal(typeof free, "object");
    assert.ok(Object.keys(free as object).length > 0);
    assert.deepEqual(jsonInstance({ type: "object", properties: {} }, rng(1)), {});
  });

  it("tokenPieces: one piece per cl100k token, joining back to the text (multi-byte characters too)", () => {
    for (const text of ['{"city":"Oslo","n":3}', '{"name":"Zoë 東京 🚀"}']) {
      const pieces = tokenPieces(text);
      assert.equal(pieces.join(""), text);
      assert.ok(pieces.length > 1);
    }
  });
});
