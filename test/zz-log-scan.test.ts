// Runs last (test files run in path order; zz sorts after every directory): reads every log the suite wrote under the log
// directory (test/gateway/policy/test-logs.ts) and finds no API key, authorization header, admin token or prompt text.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { CREDENTIAL_HEADERS } from "../src/telemetry/redaction.js";
import { ADMIN_TOKEN, PROMPT_CANARY, testLogDir } from "./gateway/policy/test-logs.js";

/** What must never appear in a log line, each with a name for the failure message. */
export const LEAKS: [string, RegExp][] = [
  ["an API key", /ipk_[A-Za-z0-9]{8,32}_[A-Za-z0-9_-]{43}/],
  ["an authorization header value", /\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/i],
  // The credential headers of the shared redaction list, present with a value other than the censor's.
  [
    "an authorization field",
    new RegExp(`"(?:${CREDENTIAL_HEADERS.join("|")})"\\s*:\\s*"(?!\\[redacted\\])`, "i"),
  ],
  ["the admin token", new RegExp(ADMIN_TOKEN)],
  ["prompt text", new RegExp(PROMPT_CANARY)],
];

export function findLeaks(text: string): string[] {
  const out: string[] = [];
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    for (const [what, re] of LEAKS) if (re.test(line)) out.push(`line ${i + 1}: ${what}`);
  });
  return out;
}

it("the detector catches each kind of leak (so a clean scan means something)", () => {
  const key = `ipk_abcdEFGH1234_${"x".repeat(43)}`;
  assert.equal(findLeaks(`{"msg":"x","k":"${key}"}`).length, 1);
  assert.deepEqual(findLeaks('{"headers":{"authorization":"Bearer sk-abcdefgh12345"}}').length, 2);
  assert.equal(findLeaks('{"headers":{"authorization":"[redacted]"}}').length, 0);
  assert.equal(findLeaks(`{"t":"${ADMIN_TOKEN}"}`).length, 1);
  assert.equal(findLeaks(`{"content":"hello ${PROMPT_CANARY}"}`).length, 1);
  assert.equal(
    findLeaks('{"msg":"policy store unreachable; failing open","key":"ipk_abcdEFGH1234"}').length,
    0,
  );
});

it("no log written during the suite holds a key, an authorization header or prompt text", (t) => {
  const dir = testLogDir();
  const dayAgo = Date.now() - 24 * 3600_000;
  const files = readdirSync(dir)
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
  for (const f of files) if (statSync(f).mtimeMs < dayAgo) rmSync(f); // older runs' logs
  const fresh = files.filter((f) => statSync(f, { throwIfNoEntry: false }) !== undefined);
  let bytes = 0;
  let lines = 0;
  const leaks: string[] = [];
  for (const f of fresh) {
    const text = readFileSync(f, "utf8");
    bytes += text.length;
    lines += text.split("\n").length - 1;
    for (const l of findLeaks(text)) leaks.push(`${f} ${l}`);
  }
  t.diagnostic(`scanned ${fresh.length} log files, ${lines} lines, ${bytes} bytes in ${dir}`);
  assert.deepEqual(leaks.slice(0, 20), [], `${leaks.length} leaks`);
  // Alone (outside CI) there may be nothing to scan yet; in CI the whole suite ran first.
  if (fresh.length === 0) {
    assert.notEqual(process.env.CI, "true", `no logs in ${dir}: the suite wrote none`);
    t.diagnostic("no logs yet: run the suite (or the policy tests) first");
  }
});
