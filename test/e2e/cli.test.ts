// Whole-CLI runs of the built binary, as a user types them.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

const root = new URL("../../", import.meta.url).pathname;
const EXAMPLE = join(root, "examples/inferplane.yaml");

function cli(args: string[], env: Record<string, string> = {}, cwd = root) {
  const r = spawnSync(process.execPath, [join(root, "bin/inferplane.js"), ...args], {
    cwd,
    env: { ...process.env, ...env },
    encoding: "utf8",
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tmpSpec(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "inferplane-")), "inferplane.yaml");
  writeFileSync(file, text);
  return file;
}

describe("inferplane validate", () => {
  it("exits 0 on the example with a summary of models, pools, routes and environments", () => {
    const r = cli(["validate", "examples/inferplane.yaml"]);
    assert.equal(r.code, 0, r.stderr);
    for (const heading of ["MODELS", "GPU POOLS", "ROUTES", "ENVIRONMENTS"])
      assert.match(r.stdout, new RegExp(heading));
    assert.match(r.stdout, /qwen-7b\s+chat\s+hf:\/\/Qwen\/Qwen2\.5-7B-Instruct-AWQ/);
    assert.match(r.stdout, /a100\s+A100-80GB\s+8/);
    assert.match(r.stdout, /production\s+ai-inference-production\s+valid/);
  });

  it('exits 2 on maxModelLen: "eight" and names models[0].maxModelLen with its line', () => {
    const text = readFileSync(EXAMPLE, "utf8").replace("maxModelLen: 8192", 'maxModelLen: "eight"');
    const line = text.split("\n").findIndex((l) => l.includes('"eight"')) + 1;
    const file = tmpSpec(text);
    const r = cli(["validate", "-c", file]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      new RegExp(
        `${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:${line}:18: models\\[0\\]\\.maxModelLen: .*expected number`,
      ),
    );
    assert.equal(r.stdout, "");
  });

  it("names YAML syntax errors by line and column", () => {
    const r = cli(["validate", tmpSpec("apiVersion: inferplane.dev/v1\nkind: [Platform\n")]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not valid YAML/);
    assert.match(r.stderr, /:\d+:\d+: \(root\): /);
  });

  it("applies --env before validating and reports that environment", () => {
    const r = cli(["validate", EXAMPLE, "--env", "production", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.valid, true);
    assert.equal(report.summary.namespace, "ai-inference-production");
    const qwen = report.summary.models.find((m: { name: string }) => m.name === "qwen-7b");
    assert.equal(qwen.replicas, "4–16 on num_requests_waiting > 5");
    assert.match(qwen.gpus, /^2 × A100-80GB/);
  });

  it("fails when one environment's overlay breaks, naming it", () => {
    const text = readFileSync(EXAMPLE, "utf8").replace("          replicas: 4\n", "          replicas: -4\n");
    const r = cli(["validate", tmpSpec(text)]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\(environment production\)/);
    assert.match(r.stderr, /models\[0\]\.replicas/);
    assert.match(r.stdout, /production\s+ai-inference-production\s+1 problem/);
  });

  it("reads INFERPLANE_CONFIG, then ./inferplane.yaml", () => {
    assert.equal(cli(["validate"], { INFERPLANE_CONFIG: EXAMPLE }).code, 0);
    const dir = join(tmpSpec(readFileSync(EXAMPLE, "utf8")), "..");
    assert.equal(cli(["validate"], {}, dir).code, 0);
    const missing = cli(["validate"], { INFERPLANE_CONFIG: "/nonexistent/x.yaml" });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read spec \/nonexistent\/x\.yaml: no such file \[spec_not_found\]/);
  });

  it("rejects an unknown environment and an unknown option with exit 2", () => {
    const env = cli(["validate", EXAMPLE, "--env", "qa"]);
    assert.equal(env.code, 2);
    assert.match(env.stderr, /environment "qa" is not defined; known: dev, staging, production/);
    assert.equal(cli(["validate", "--nope"]).code, 2);
  });
});

describe("inferplane schema", () => {
  it("prints the committed JSON Schema", () => {
    const r = cli(["schema"]);
    assert.equal(r.code, 0);
    assert.deepEqual(
      JSON.parse(r.stdout),
      JSON.parse(readFileSync(join(root, "schema/inferplane.schema.json"), "utf8")),
    );
  });
  it("--version and --help exit 0", () => {
    assert.equal(cli(["--version"]).code, 0);
    const help = cli(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /validate/);
  });
});
