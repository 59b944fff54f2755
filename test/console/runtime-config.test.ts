// The console in rendered environments: the production overlay's runtime config turns it off
// unless the spec says otherwise; every other environment keeps the gateway's default (on).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { runtimeConfig } from "../../src/deploy/runtime-config.js";
import { parseSpec } from "../../src/spec/load.js";

const EXAMPLE = readFileSync(new URL("../../examples/inferplane.yaml", import.meta.url), "utf8");

/** `gateway.console.enabled` in the runtime config rendered for `env`, after the gateway's defaults. */
function consoleIn(text: string, env: string | null): { written: unknown; effective: boolean } {
  const p = parseSpec(text, env === null ? { deploy: true } : { env, deploy: true }).platform;
  const rendered = runtimeConfig(text, env, p);
  const written = (parse(rendered) as { gateway?: { console?: { enabled?: unknown } } }).gateway?.console
    ?.enabled;
  return { written, effective: parseSpec(rendered).platform.gateway.console.enabled };
}

describe("console in rendered runtime configs", () => {
  it("is off in production, on elsewhere (the example spec says nothing)", () => {
    assert.deepEqual(consoleIn(EXAMPLE, "production"), { written: false, effective: false });
    for (const env of [null, "dev", "staging"]) {
      assert.deepEqual(consoleIn(EXAMPLE, env), { written: undefined, effective: true }, String(env));
    }
  });

  it("follows the spec where it says otherwise, in the production overlay or the base", () => {
    const overlayOn = EXAMPLE.replace(
      "      gateway:\n        replicas: 3\n",
      "      gateway:\n        replicas: 3\n        console: {enabled: true}\n",
    );
    assert.notEqual(overlayOn, EXAMPLE);
    assert.deepEqual(consoleIn(overlayOn, "production"), { written: true, effective: true });
    const baseOff = EXAMPLE.replace(/\ngateway:\n/, "\ngateway:\n  console: {enabled: false}\n");
    assert.notEqual(baseOff, EXAMPLE);
    assert.deepEqual(consoleIn(baseOff, "dev"), { written: false, effective: false });
  });
});
