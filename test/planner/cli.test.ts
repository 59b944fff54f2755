import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { main } from "../../src/cli/main.js";
import type { Plan } from "../../src/planner/types.js";
import { specText } from "./scenarios.js";

const root = new URL("../../", import.meta.url).pathname;
const EXAMPLE = join(root, "examples/inferplane.yaml");

async function run(args: string[]) {
  let out = "";
  let err = "";
  const code = await main(["node", "inferplane", ...args], {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += `${t}\n`;
    },
    isTTY: false,
  });
  return { code, out, err };
}

const dir = () => mkdtempSync(join(tmpdir(), "inferplane-plan-"));

describe("inferplane plan", () => {
  it("prints the terminal tables for the example", async () => {
    const r = await run(["plan", "-c", EXAMPLE]);
    assert.equal(r.code, 0, r.err);
    for (const h of ["MODELS", "POOLS", "GPUS", "MONTHLY COST"])
      assert.match(r.out, new RegExp(`^${h}$`, "m"));
    assert.match(r.out, /qwen-7b\s+qwen2\.5-7b awq\s+1 GPU\s+nvidia\.com\/gpu: 1/);
    assert.match(r.out, /bge-m3\s+bge-m3 fp16\s+MIG 2g\.20gb\s+nvidia\.com\/mig-2g\.20gb: 1/);
    assert.match(
      r.out,
      /a100-0\/0\s+a100-mixed-0\s+mig\s+2g\.20gb@0=bge-m3#0 2g\.20gb@2=bge-reranker#0 3g\.40gb@4=free/,
    );
  });

  it("--json is the Plan; --md is Markdown; the environment is recorded", async () => {
    const j = await run(["plan", "-c", EXAMPLE, "--env", "production", "--json"]);
    assert.equal(j.code, 0, j.err);
    const plan = JSON.parse(j.out) as Plan;
    assert.equal(plan.version, 1);
    assert.equal(plan.env, "production");
    assert.deepEqual(
      plan.models.map((m) => m.name),
      ["qwen-7b", "bge-m3", "bge-reranker"],
    );
    assert.equal(plan.nodes[0]?.labels["nvidia.com/mig.config"], plan.nodes[0]?.migConfig);
    const md = await run(["plan", "-c", EXAMPLE, "--md"]);
    assert.equal(md.code, 0, md.err);
    assert.match(md.out, /^# Plan for ai-inference-platform/);
    assert.match(md.out, /^\| NAME \| MODEL \| UNIT \|/m);
  });

  it("--html writes one self-contained page, atomically", async () => {
    const d = dir();
    const file = join(d, "plan.html");
    const r = await run(["plan", "-c", EXAMPLE, "--html", file]);
    assert.equal(r.code, 0, r.err);
    const html = readFileSync(file, "utf8");
    assert.match(html, /<svg id="gpus"/);
    assert.equal(html.match(/<g class="gpu"/g)?.length, 8);
    assert.doesNotMatch(html, /<script|<link /);
    assert.deepEqual(readdirSync(d), ["plan.html"]); // no temporary file left behind
  });

  it("bad input exits 2 with a clear message and writes nothing", async () => {
    const d = dir();
    const missing = await run(["plan", "-c", join(d, "nope.yaml")]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /cannot read spec .*nope\.yaml: no such file/);

    const bad = join(d, "bad.yaml");
    writeFileSync(bad, readFileSync(EXAMPLE, "utf8").replace("count: 8", "count: -8"));
    const invalid = await run(["plan", "-c", bad, "--html", join(d, "x.html")]);
    assert.equal(invalid.code, 2);
    assert.match(invalid.err, /gpus\[0\]\.count/);
    assert.equal(existsSync(join(d, "x.html")), false);

    const env = await run(["plan", "-c", EXAMPLE, "--env", "nowhere"]);
    assert.equal(env.code, 2);
    assert.match(env.err, /nowhere/);

    const both = await run(["plan", "-c", EXAMPLE, "--json", "--md"]);
    assert.equal(both.code, 2);
    assert.match(both.err, /either --json or --md/);

    const nodir = await run(["plan", "-c", EXAMPLE, "--html", join(d, "no", "such", "dir", "p.html")]);
    assert.equal(nodir.code, 2);
    assert.match(nodir.err, /cannot write --html/);
  });

  it("an infeasible plan exits 3 and explains every problem with numbers", async () => {
    const file = join(dir(), "big.yaml");
    writeFileSync(
      file,
      specText({ type: "L4", count: 2, mode: "exclusive" }, [
        { name: "big", source: "hf://Qwen/Qwen2.5-72B-Instruct", rate: 1, count: "auto" },
      ]),
    );
    const r = await run(["plan", "-c", file]);
    assert.equal(r.code, 3, r.err);
    assert.match(r.out, /^INFEASIBLE$/m);
    assert.match(
      r.out,
      /\[no-fitting-unit\] big \(Qwen2\.5-72B-Instruct in bf16\) needs 145\.4 GB of weights/,
    );
    assert.match(r.out, /2 × L4 with TP 2: 72\.7 GB of weights per GPU/);
  });
});
