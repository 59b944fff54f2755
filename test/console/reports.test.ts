// The console's report helpers: spec redaction, the bench sweep file and the report links.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BENCH_ENV, ReportLinks, readBench, redactSpec } from "../../src/gateway/console/reports.js";

describe("console reports", () => {
  it("redacts key hashes and URL credentials from the spec, keeps env var names", () => {
    const out = redactSpec({
      gateway: {
        auth: { keyHashesEnv: "INFERPLANE_KEY_HASHES", keys: [{ name: "ci", hash: "v1$abc$def$123" }] },
      },
      models: [{ endpoints: ["http://user:pw@10.0.0.1:8000", "http://10.0.0.2:8000"] }],
    });
    assert.deepEqual(out, {
      gateway: {
        auth: { keyHashesEnv: "INFERPLANE_KEY_HASHES", keys: [{ name: "ci", hash: "[redacted]" }] },
      },
      models: [{ endpoints: ["http://10.0.0.1:8000", "http://10.0.0.2:8000"] }],
    });
  });

  it("says why there is no sweep: not configured, unreadable, not a sweep", () => {
    const dir = mkdtempSync(join(tmpdir(), "console-bench-"));
    const missing = (env: NodeJS.ProcessEnv) => {
      const r = readBench(env);
      assert.ok("missing" in r);
      return r.missing;
    };
    assert.match(missing({}), /bench --sweep .* --json FILE.*INFERPLANE_CONSOLE_BENCH=FILE/);
    assert.match(missing({ [BENCH_ENV]: join(dir, "none.json") }), /cannot read .*none\.json/);
    writeFileSync(join(dir, "bad.json"), "{not json");
    assert.match(missing({ [BENCH_ENV]: join(dir, "bad.json") }), /cannot read .*bad\.json/);
    writeFileSync(
      join(dir, "single.json"),
      JSON.stringify({ tool: "inferplane bench", settings: {}, targets: [] }),
    );
    assert.match(
      missing({ [BENCH_ENV]: join(dir, "single.json") }),
      /not the --json output of `inferplane bench --sweep`/,
    );
  });

  it("report links are random, expire, and only the newest are kept", () => {
    const links = new ReportLinks(1_000, 2);
    const a = links.mint(0);
    assert.match(a, /^[A-Za-z0-9_-]{32}$/);
    assert.ok(links.valid(a, 999));
    assert.ok(!links.valid(a, 1_000), "expired");
    const b = links.mint(0);
    const c = links.mint(0);
    const d = links.mint(0);
    assert.ok(!links.valid(b, 1) && links.valid(c, 1) && links.valid(d, 1), "the oldest is dropped beyond 2");
    assert.ok(!links.valid("guess", 1));
  });
});
