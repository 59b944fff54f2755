// Every exit status the CLI documents (EXIT_STATUSES, docs/errors.md) produced by a real command
// run in-process through `main`: a status added without a command that returns it fails here.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { main } from "../src/cli/main.js";
import { ERRORS, EXIT_STATUSES } from "../src/errors.js";
import { type SimServerHandle, startSimServer } from "../src/sim/server.js";
import { specText } from "./planner/scenarios.js";

const EXAMPLE = new URL("../examples/inferplane.yaml", import.meta.url).pathname;

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(["node", "inferplane", ...args], {
    out: (t) => {
      out += `${t}\n`;
    },
    err: (t) => {
      err += `${t}\n`;
    },
    isTTY: false,
  });
  return { code, out, err };
}

let sim: SimServerHandle;
const dir = mkdtempSync(join(tmpdir(), "inferplane-exit-"));
before(async () => {
  sim = await startSimServer({
    model: "llama-3.1-8b",
    servedModelName: "m",
    constantLatency: { ttftMs: 20, itlMs: 20 },
  });
});
after(() => sim?.stop());

const BENCH = [
  "--model",
  "m",
  "--api",
  "completions",
  "--ignore-eos",
  "--input-tokens",
  "16",
  "--output-tokens",
  "10",
];

/** One command per documented status, with what its output must show. */
const CASES: Record<keyof typeof EXIT_STATUSES, () => Promise<{ code: number; out: string; err: string }>> = {
  ok: () => run(["validate", "-c", EXAMPLE]),
  failures_found: async () => {
    const dead = await startSimServer({ model: "llama-3.1-8b", constantLatency: { ttftMs: 0, itlMs: 0 } });
    await dead.stop();
    const r = await run(["bench", "--url", dead.url, ...BENCH, "--requests", "2"]);
    assert.match(r.err, /every request failed/);
    return r;
  },
  spec_invalid: async () => {
    const file = join(dir, "invalid.yaml");
    writeFileSync(file, "apiVersion: inferplane.dev/v1\nkind: Platform\nmetadata: {name: t}\nmodels: []\n");
    const r = await run(["validate", "-c", file]);
    assert.match(r.err, /models/);
    return r;
  },
  plan_infeasible: async () => {
    const file = join(dir, "big.yaml");
    const big = [{ name: "big", source: "hf://Qwen/Qwen2.5-72B-Instruct", rate: 1, count: "auto" as const }];
    writeFileSync(file, specText({ type: "L4", count: 2, mode: "exclusive" }, big));
    const r = await run(["plan", "-c", file]);
    assert.match(r.out, /no-fitting-unit/);
    return r;
  },
  interrupted: async () => {
    // Ctrl+C a minute-long run once it is under way: the requests in flight finish, the report covers them.
    const running = run([
      "bench",
      "--url",
      sim.url,
      ...BENCH,
      "--duration",
      "60s",
      "--concurrency",
      "2",
      "--warmup",
      "0",
      "--json",
    ]);
    await new Promise((r) => setTimeout(r, 1_500));
    process.emit("SIGINT");
    const r = await running;
    const report = JSON.parse(r.out) as { targets: { requests: { ok: number } }[] };
    assert.ok((report.targets[0]?.requests.ok ?? 0) > 0, r.out);
    return r;
  },
};

for (const [name, status] of Object.entries(EXIT_STATUSES)) {
  it(`exit ${status} (${name}) comes from a real command`, async () => {
    const make = CASES[name as keyof typeof EXIT_STATUSES];
    assert.ok(make, `no command here returns ${name}`);
    const r = await make();
    assert.equal(r.code, status, r.err);
  });
}

it("a wrong command line exits with the usage code's status", async () => {
  const r = await run(["plan", "--no-such-flag"]);
  assert.equal(r.code, ERRORS.usage.exit);
});
