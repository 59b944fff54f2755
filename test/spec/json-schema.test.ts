import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "yaml";
import { specJsonSchema } from "../../src/spec/json-schema.js";
import { applyEnvironment } from "../../src/spec/overlay.js";
import { specReferenceMarkdown } from "../../src/spec/reference.js";
import { parseYamlSource } from "../../src/spec/source.js";

const root = new URL("../../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");
const EXAMPLE = read("examples/inferplane.yaml");

function compile() {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  ajv.addFormat("uri", (s: string) => URL.canParse(s));
  return ajv.compile(specJsonSchema());
}

describe("JSON Schema export", () => {
  it("is a valid draft 2020-12 schema that accepts the example and each environment of it", () => {
    const schema = specJsonSchema();
    assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
    const validate = compile();
    assert.equal(validate(parse(EXAMPLE)), true, JSON.stringify(validate.errors));
    for (const env of ["dev", "staging", "production"]) {
      const merged = applyEnvironment(parseYamlSource(EXAMPLE), env).value;
      assert.equal(validate(merged), true, `${env}: ${JSON.stringify(validate.errors)}`);
    }
  });

  it("rejects what the validator rejects: a string maxModelLen, an unknown key, a bad enum", () => {
    const validate = compile();
    const cases: [string, string][] = [
      [EXAMPLE.replace("maxModelLen: 8192", 'maxModelLen: "eight"'), "/models/0/maxModelLen"],
      [EXAMPLE.replace("\n  replicas: 1\n", "\n  replicas: 1\n  replicaz: 1\n"), "/gateway"],
      [EXAMPLE.replace("engine: vllm", "engine: vllmm"), "/models/0/engine"],
    ];
    for (const [text, path] of cases) {
      assert.equal(validate(parse(text)), false);
      assert.ok(
        validate.errors?.some((e) => e.instancePath === path),
        `${path} not in ${JSON.stringify(validate.errors?.map((e) => e.instancePath))}`,
      );
    }
  });

  it("describes every field", () => {
    const missing: string[] = [];
    const visit = (node: unknown, path: string) => {
      if (!node || typeof node !== "object") return;
      const n = node as Record<string, unknown>;
      const props = n.properties as Record<string, Record<string, unknown>> | undefined;
      for (const [k, v] of Object.entries(props ?? {})) {
        if (typeof v.description !== "string" || v.description === "") missing.push(`${path}.${k}`);
        visit(v, `${path}.${k}`);
      }
      for (const key of ["items", "additionalProperties"]) visit(n[key], `${path}[]`);
      for (const alt of [...((n.oneOf as unknown[]) ?? []), ...((n.anyOf as unknown[]) ?? [])])
        visit(alt, path);
    };
    visit(specJsonSchema(), "");
    assert.deepEqual(missing, []);
  });

  it("the committed schema and reference are up to date (regenerate with `npm run gen`)", () => {
    assert.deepEqual(JSON.parse(read("schema/inferplane.schema.json")), specJsonSchema());
    assert.equal(read("docs/spec-reference.md"), specReferenceMarkdown());
  });
});
