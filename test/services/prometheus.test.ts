import assert from "node:assert/strict";
import { rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { HOST, makeDataDir, requireService, waitFor } from "./harness.js";
import { promtool, startPrometheus } from "./prometheus.js";

const GOOD = `# HELP inferplane_test_requests_total Requests seen by the test target.
# TYPE inferplane_test_requests_total counter
inferplane_test_requests_total{route="chat"} 42
`;
// Lint problem: a counter without the _total suffix.
const LINT = `# HELP inferplane_test_requests Requests.
# TYPE inferplane_test_requests counter
inferplane_test_requests 42
`;
// Not parseable at all.
const BROKEN = "inferplane_test_requests{route= 42\n";

const RULES = `groups:
  - name: inferplane-test
    rules:
      - record: route:inferplane_test_requests:sum
        expr: sum by (route) (inferplane_test_requests_total)
`;

test("prometheus: scrapes a node /metrics target and evaluates a recording rule", async (t) => {
  // Tiny scrape target on a free loopback port.
  const target = createServer((req, res) => {
    if (req.url !== "/metrics") return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(GOOD);
  });
  await new Promise<void>((ok) => target.listen(0, HOST, ok));
  t.after(() => new Promise<void>((ok) => target.close(() => ok())));
  const { port } = target.address() as AddressInfo;

  const prom = await requireService(t, "prometheus", () =>
    startPrometheus({ scrapeTargets: [`${HOST}:${port}`], rules: RULES }),
  );
  if (!prom) return;

  const [sample] = await waitFor(
    async () => {
      const r = await prom.query('inferplane_test_requests_total{job="test"}');
      return r.length > 0 ? r : undefined;
    },
    { timeoutMs: 30_000, what: "the scraped counter to appear in Prometheus" },
  );
  assert.equal(sample?.value[1], "42");
  assert.equal(sample?.metric.route, "chat");
  assert.equal(sample?.metric.instance, `${HOST}:${port}`);

  const [recorded] = await waitFor(
    async () => {
      const r = await prom.query("route:inferplane_test_requests:sum");
      return r.length > 0 ? r : undefined;
    },
    { timeoutMs: 30_000, what: "the recording rule to produce a sample" },
  );
  assert.equal(recorded?.value[1], "42");
});

test("promtool: check metrics tells good, lint-failing and broken exposition text apart", async (t) => {
  const good = await requireService(t, "promtool", () => promtool(["check", "metrics"], { stdin: GOOD }));
  if (!good) return;
  assert.equal(good.code, 0, good.stdout + good.stderr);

  const lint = await promtool(["check", "metrics"], { stdin: LINT });
  assert.notEqual(lint.code, 0);
  assert.match(lint.stdout + lint.stderr, /_total/);

  const broken = await promtool(["check", "metrics"], { stdin: BROKEN });
  assert.notEqual(broken.code, 0);
  assert.notEqual(broken.code, lint.code, "a parse error should be reported differently from a lint warning");
});

test("promtool: check rules accepts a valid rule file and rejects a bad expression", async (t) => {
  const version = await requireService(t, "promtool", () => promtool(["--version"]));
  if (!version) return;
  const dir = await makeDataDir("promtool");
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ok = join(dir, "ok.yml");
  const bad = join(dir, "bad.yml");
  await writeFile(ok, RULES);
  await writeFile(bad, RULES.replace("(inferplane_test_requests_total)", "(inferplane_test_requests_total"));

  const good = await promtool(["check", "rules", ok]);
  assert.equal(good.code, 0, good.stdout + good.stderr);
  assert.match(good.stdout, /SUCCESS: 1 rules found/);
  const failed = await promtool(["check", "rules", bad]);
  assert.notEqual(failed.code, 0);
  assert.match(failed.stdout + failed.stderr, /parse error/);
});
