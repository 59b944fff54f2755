// Assembles the console (src/console) into dist/console after `tsc -p src/console/tsconfig.json`:
// the page, its stylesheet and the compiled modules; fails when the page outgrows its budget.
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const BUDGET_BYTES = 64 * 1024; // kept equal to src/gateway/console/assets.ts
const out = "dist/console";
const compiled = "dist/.console-tsc/console";
rmSync(out, { recursive: true, force: true }); // no module left over from an older build
mkdirSync(out, { recursive: true });
copyFileSync("src/console/index.html", join(out, "index.html"));
copyFileSync("src/console/console.css", join(out, "console.css"));
for (const f of readdirSync(compiled)) if (f.endsWith(".js")) copyFileSync(join(compiled, f), join(out, f));
const total = readdirSync(out).reduce((n, f) => n + statSync(join(out, f)).size, 0);
if (total > BUDGET_BYTES) {
  console.error(`dist/console is ${total} bytes, over its ${BUDGET_BYTES}-byte budget`);
  process.exit(1);
}
console.log(`console: ${total} bytes (budget ${BUDGET_BYTES})`);
