import { readFileSync } from "node:fs";
import { join } from "node:path";
import { makePlanner } from "../../src/deploy/plan.js";
import { type RenderResult, renderPlatform } from "../../src/deploy/render.js";

export const ROOT = new URL("../../", import.meta.url).pathname;
export const EXAMPLE = join(ROOT, "examples/inferplane.yaml");
export const EXAMPLE_TEXT = readFileSync(EXAMPLE, "utf8");
export const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string })
  .version;

let cached: RenderResult | undefined;

/** The example rendered as `inferplane render` renders it (same version and planner). */
export function renderExample(): RenderResult {
  cached ??= renderPlatform(EXAMPLE_TEXT, {
    version: VERSION,
    plan: makePlanner(),
    file: "examples/inferplane.yaml",
  });
  return cached;
}

export function render(text: string): RenderResult {
  return renderPlatform(text, { version: VERSION, plan: makePlanner() });
}

/** The example with a YAML fragment replaced (fails loudly when the fragment is not there). */
export function exampleWith(from: string | RegExp, to: string): string {
  const out = EXAMPLE_TEXT.replace(from, to);
  if (out === EXAMPLE_TEXT) throw new Error(`example has no ${String(from)}`);
  return out;
}
