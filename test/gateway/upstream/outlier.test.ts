import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type EndpointState, newEndpoint } from "../../../src/gateway/types.js";
import {
  DEFAULT_OUTLIER_CONFIG,
  decayEjections,
  ejectionDuration,
  isAvailable,
  isEjected,
  maxEjected,
  type OutlierConfig,
  recordFailure,
  recordSuccess,
  uneject,
} from "../../../src/gateway/upstream/outlier.js";
import { type GatewaySpec, PlatformShape } from "../../../src/spec/schema.js";

const CFG: OutlierConfig = DEFAULT_OUTLIER_CONFIG;

function pool(n: number): EndpointState[] {
  return Array.from({ length: n }, (_, i) => newEndpoint("p", `http://10.0.0.${i + 1}:8000`));
}

/** Fails `ep` `times` times at `now`; returns whether the last failure ejected it. */
function fail(
  ep: EndpointState,
  eps: readonly EndpointState[],
  now: number,
  times: number,
  cfg = CFG,
): boolean {
  let ejected = false;
  for (let i = 0; i < times; i++) ejected = recordFailure(ep, eps, now, cfg);
  return ejected;
}

describe("outlier detection: consecutive failures", () => {
  it("ejects on the 5th failure in a row (Envoy consecutive_5xx default), for 30 s", () => {
    const eps = pool(4);
    const ep = eps[0] as EndpointState;
    assert.equal(fail(ep, eps, 1000, 4), false);
    assert.equal(ep.consecutiveFailures, 4);
    assert.equal(isAvailable(ep, 1000), true);
    assert.equal(recordFailure(ep, eps, 1000, CFG), true);
    assert.equal(ep.ejectedUntil, 31_000);
    assert.equal(ep.ejections, 1);
    assert.equal(ep.consecutiveFailures, 0, "the streak resets after a detection");
    assert.equal(isAvailable(ep, 30_999), false);
    assert.equal(isEjected(ep, 30_999), true);
    assert.equal(isAvailable(ep, 31_000), true, "back in service once the time has passed");
  });

  it("a success breaks the streak", () => {
    const eps = pool(2);
    const ep = eps[0] as EndpointState;
    fail(ep, eps, 0, 4);
    recordSuccess(ep);
    assert.equal(ep.consecutiveFailures, 0);
    assert.equal(fail(ep, eps, 0, 4), false);
    assert.equal(recordFailure(ep, eps, 0, CFG), true);
  });

  it("failures of requests still in flight on an ejected endpoint are ignored", () => {
    const eps = pool(2);
    const ep = eps[0] as EndpointState;
    fail(ep, eps, 0, 5);
    const until = ep.ejectedUntil;
    assert.equal(fail(ep, eps, 10, 20), false);
    assert.equal(ep.ejectedUntil, until);
    assert.equal(ep.ejections, 1);
    assert.equal(ep.consecutiveFailures, 0);
  });

  it("an unhealthy endpoint is unavailable whatever its ejection state", () => {
    const [ep] = pool(1) as [EndpointState];
    ep.healthy = false;
    assert.equal(isAvailable(ep, 0), false);
  });
});

describe("outlier detection: ejection time", () => {
  it("base × ejection count, capped at maxEjectionTime (30, 60, 90 … 300 s)", () => {
    assert.deepEqual(
      [1, 2, 3, 9, 10, 11, 50].map((n) => ejectionDuration(n, CFG)),
      [30_000, 60_000, 90_000, 270_000, 300_000, 300_000, 300_000],
    );
  });

  it("a cap below the base time means the base time (Envoy: whichever is larger)", () => {
    assert.equal(ejectionDuration(3, { ...CFG, baseEjectionTime: 10_000, maxEjectionTime: 5_000 }), 10_000);
  });

  it("repeated ejections last longer; the count stops growing at the cap", () => {
    const eps = pool(2);
    const ep = eps[0] as EndpointState;
    let now = 0;
    const durations: number[] = [];
    for (let i = 0; i < 13; i++) {
      assert.equal(fail(ep, eps, now, 5), true);
      durations.push(ep.ejectedUntil - now);
      now = ep.ejectedUntil;
    }
    assert.deepEqual(durations.slice(0, 4), [30_000, 60_000, 90_000, 120_000]);
    assert.deepEqual(durations.slice(9), [300_000, 300_000, 300_000, 300_000]);
    assert.equal(ep.ejections, 10, "capped at ceil(300 / 30)");
  });

  it("the count decays by one per interval in service (Envoy's backoff decay)", () => {
    const eps = pool(2);
    const ep = eps[0] as EndpointState;
    fail(ep, eps, 0, 5);
    fail(ep, eps, 30_000, 5);
    assert.equal(ep.ejections, 2);
    decayEjections(ep, 60_000); // still ejected until 90 s: no decay
    assert.equal(ep.ejections, 2);
    decayEjections(ep, 90_000);
    decayEjections(ep, 100_000);
    assert.equal(ep.ejections, 0);
    decayEjections(ep, 110_000);
    assert.equal(ep.ejections, 0);
    assert.equal(fail(ep, eps, 120_000, 5), true);
    assert.equal(ep.ejectedUntil - 120_000, 30_000, "back to the base time");
  });

  it("uneject returns the endpoint at once with a clean streak and keeps the count", () => {
    const eps = pool(2);
    const ep = eps[0] as EndpointState;
    fail(ep, eps, 0, 5);
    ep.consecutiveFailures = 2;
    uneject(ep);
    assert.equal(ep.ejectedUntil, 0);
    assert.equal(ep.consecutiveFailures, 0);
    assert.equal(ep.ejections, 1);
    assert.equal(isAvailable(ep, 1), true);
  });
});

describe("outlier detection: max ejection percent (decision: at least one of a pool of ≥ 2)", () => {
  it("maxEjected: one of any pool of 2 or more at 10 %, more only within the percentage", () => {
    assert.equal(maxEjected(1, 10), 0, "never the only endpoint");
    assert.equal(maxEjected(2, 10), 1);
    assert.equal(maxEjected(4, 10), 1, "strict Envoy (no always_eject_one_host) would allow 0");
    assert.equal(maxEjected(9, 10), 1);
    assert.equal(maxEjected(20, 10), 2);
    assert.equal(maxEjected(10, 30), 3);
    assert.equal(maxEjected(3, 100), 3);
    assert.equal(maxEjected(4, 50), 2);
    assert.equal(maxEjected(5, 0), 0, "0 % turns ejection off");
  });

  it("a pool of 4 at the default 10 % ejects one endpoint, then no second", () => {
    const eps = pool(4);
    const [a, b] = eps as [EndpointState, EndpointState];
    assert.equal(fail(a, eps, 0, 5), true);
    assert.equal(fail(b, eps, 0, 5), false, "a second ejection would exceed the budget");
    assert.equal(b.ejectedUntil, 0);
    assert.equal(b.consecutiveFailures, 0, "the streak resets even when the ejection is refused");
    // Once the first is back, the second can go.
    assert.equal(fail(b, eps, 30_000, 5), true);
  });

  it("a pool of one never ejects its endpoint", () => {
    const eps = pool(1);
    assert.equal(fail(eps[0] as EndpointState, eps, 0, 50), false);
    assert.equal(eps[0]?.ejectedUntil, 0);
  });

  it("at 50 % a pool of 4 ejects two", () => {
    const cfg = { ...CFG, maxEjectionPercent: 50 };
    const eps = pool(4);
    assert.equal(fail(eps[0] as EndpointState, eps, 0, 5, cfg), true);
    assert.equal(fail(eps[1] as EndpointState, eps, 0, 5, cfg), true);
    assert.equal(fail(eps[2] as EndpointState, eps, 0, 5, cfg), false);
  });

  it("expired ejections do not count against the budget", () => {
    const eps = pool(3);
    fail(eps[0] as EndpointState, eps, 0, 5);
    assert.ok((eps[0] as EndpointState).ejectedUntil > 0);
    assert.equal(fail(eps[1] as EndpointState, eps, 31_000, 5), true);
  });
});

describe("outlier detection: configuration", () => {
  it("the spec's gateway.outlierDetection (defaults) is an OutlierConfig equal to Envoy's defaults", () => {
    const gateway = PlatformShape.shape.gateway.parse({});
    const od: OutlierConfig = gateway.outlierDetection satisfies GatewaySpec["outlierDetection"];
    assert.deepEqual({ ...od }, { ...DEFAULT_OUTLIER_CONFIG });
  });
});
