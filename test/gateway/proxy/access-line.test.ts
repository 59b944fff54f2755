import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { it } from "node:test";
import { writeAccessLine } from "../../../src/gateway/proxy/access-line.js";
import { createLogger } from "../../../src/telemetry/logger.js";

function capture(level: "info" | "warn" = "info") {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  return { lines, logger: createLogger({ level, component: "gateway", destination }) };
}

it("writes the line pino would write for the same fields", async () => {
  const fields = {
    request_id: "r-1",
    route: "llama",
    pool: null,
    status: 200,
    stream: false,
    latency_ms: 1.25,
    note: 'quote " and ✓',
  };
  const direct = capture();
  writeAccessLine(direct.logger, fields, "request");
  const viaPino = capture();
  viaPino.logger.info(fields, "request");
  await new Promise((r) => setImmediate(r));
  assert.equal(direct.lines.length, 1);
  const a = JSON.parse(direct.lines[0] as string) as Record<string, unknown>;
  const b = JSON.parse(viaPino.lines[0] as string) as Record<string, unknown>;
  assert.match(String(a.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(Math.abs(Date.parse(String(a.time)) - Date.parse(String(b.time))) < 1000);
  delete a.time;
  delete b.time;
  assert.deepEqual(a, b);
  assert.deepEqual(Object.keys(a).slice(0, 2), ["level", "component"]);
});

it("writes nothing when info is off", async () => {
  const quiet = capture("warn");
  writeAccessLine(quiet.logger, { status: 200 }, "request");
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(quiet.lines, []);
});
