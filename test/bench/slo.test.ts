import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RequestRecord } from "../../src/bench/load.js";
import { targetReport } from "../../src/bench/report.js";
import { meetsSlo, parseSlo } from "../../src/bench/slo.js";
import { isInferplaneError } from "../../src/errors.js";

function rec(over: Partial<RequestRecord>): RequestRecord {
  return {
    ok: true,
    status: 200,
    ttftMs: 100,
    e2eMs: 590,
    itlMs: Array.from({ length: 49 }, () => 10),
    promptTokens: 10,
    outputTokens: 50,
    cachedTokens: 0,
    target: 0,
    session: "s",
    turn: 0,
    measured: true,
    startMs: 0,
    inputTokens: 10,
    ...over,
  };
}

describe("SLO and goodput", () => {
  it("parses ttft=500ms,tpot=50ms (ms by default, s allowed)", () => {
    assert.deepEqual(parseSlo("ttft=500ms,tpot=50ms"), { ttft: 500, tpot: 50 });
    assert.deepEqual(parseSlo("e2e=2s, itl=40"), { e2e: 2000, itl: 40 });
  });

  it("rejects unknown metrics and bad values with a usage error naming the item", () => {
    for (const bad of ["ttfb=5ms", "ttft=fast", "ttft", ""]) {
      assert.throws(
        () => parseSlo(bad),
        (e: unknown) => isInferplaneError(e) && e.code === "usage" && /--slo/.test(e.message),
        bad,
      );
    }
  });

  it("a request meets the SLO only when it succeeded and every bound holds", () => {
    const slo = { ttft: 150, tpot: 12 };
    assert.equal(meetsSlo({ ...rec({}), tpotMs: 10 }, slo), true);
    assert.equal(meetsSlo({ ...rec({ ttftMs: 151 }), tpotMs: 10 }, slo), false);
    assert.equal(meetsSlo({ ...rec({}), tpotMs: 12.5 }, slo), false);
    assert.equal(meetsSlo({ ...rec({ ok: false }), tpotMs: 10 }, slo), false);
    assert.equal(meetsSlo({ ...rec({ itlMs: [10, 41] }), tpotMs: 10 }, { itl: 40 }), false);
  });

  it("goodput counts the requests meeting the SLO over the measured window", () => {
    // 10 requests in 2 s: 6 fast, 3 with a slow first token, 1 failed.
    const records = [
      ...Array.from({ length: 6 }, () => rec({})),
      ...Array.from({ length: 3 }, () => rec({ ttftMs: 700, e2eMs: 1190 })),
      rec({ ok: false, errorType: "http_500", error: "boom" }),
      rec({ measured: false }), // warm-up: not counted
    ];
    const r = targetReport(records, 0, 2000, { url: "u", model: "m", stream: true }, { ttft: 500, tpot: 50 });
    assert.equal(r.requests.sent, 10);
    assert.equal(r.requests.ok, 9);
    assert.deepEqual(r.requests.errors, { http_500: 1 });
    assert.equal(r.goodput?.requestsPerS, 3);
    assert.equal(r.goodput?.share, 0.6);
    assert.equal(r.requestThroughput, 4.5);
    assert.equal(r.outputTokenThroughput, 225);
    // TPOT of each request: (590 - 100) / 49 = 10 ms and (1190 - 700) / 49 = 10 ms.
    assert.equal(r.tpotMs.p50, 10);
    assert.equal(r.itlMs.count, 9 * 49);
  });
});
