#!/usr/bin/env node
// Runs the node:test suite through tsx. Node 20's --test takes no globs, so files are found
// here; arguments narrow the run to paths containing them (`npm test -- spec catalog`).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : find(path);
    return e.name.endsWith(".test.ts") ? [relative(root, path)] : [];
  });
}
const filters = process.argv.slice(2);
const files = find(join(root, "test"))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(1);
}
// One file at a time: service tests start real servers and this machine has 2 cores.
const args = ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files];
const run = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
process.exit(run.status ?? 1);
