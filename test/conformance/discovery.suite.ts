// The Discovery contract (src/gateway/upstream/discovery/types.ts), run against each driver with a
// real source behind it: the set reported once the first lookup answered, sorted; every change
// reported; nothing after stop; a restart reports the set again.
import assert from "node:assert/strict";
import { it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Discovery } from "../../src/gateway/upstream/discovery/index.js";
import { waitFor } from "../services/harness.js";
import { assertImplements, DISCOVERY_METHODS } from "./methods.js";

export interface DiscoveryFixture {
  discovery: Discovery;
  /** Makes the source answer `urls` from now on; absent for a source that never changes (static). */
  change?: (urls: readonly string[]) => Promise<void>;
  /** How long a change may take to show (re-resolution period, watch latency). */
  settleMs: number;
}

/** A driver over a source that answers `initial`, for one test; undefined skips the test. */
export type DiscoveryFactory = (
  t: TestContext,
  initial: readonly string[],
) => Promise<DiscoveryFixture | undefined>;

// Documentation addresses (RFC 5737): the Kubernetes API server refuses loopback endpoints.
const A = "http://192.0.2.10:8000";
const B = "http://192.0.2.11:8000";
const C = "http://192.0.2.12:8000";

function recorder() {
  const seen: string[][] = [];
  return {
    seen,
    onChange: (urls: string[]) => {
      seen.push(urls);
    },
    current: () => seen.at(-1),
  };
}

export function discoveryConformance(open: DiscoveryFactory): void {
  const fixture = async (t: TestContext, initial: readonly string[]) => {
    const f = await open(t, initial);
    if (f) t.after(() => f.discovery.stop());
    return f;
  };

  it("implements every Discovery method", async (t) => {
    const f = await fixture(t, [A]);
    if (f) assertImplements(f.discovery, DISCOVERY_METHODS, f.discovery.constructor.name);
  });

  it("start resolves once the first lookup answered, with the set reported sorted", async (t) => {
    const f = await fixture(t, [B, A]);
    if (!f) return;
    const r = recorder();
    await f.discovery.start(r.onChange);
    assert.deepEqual(r.seen, [[A, B]]);
  });

  it("a change of the source is reported as the full new set; a fixed source reports once", async (t) => {
    const f = await fixture(t, [A, B]);
    if (!f) return;
    if (!f.change) {
      // Nothing to change (static): the first set stays the only report.
      const r = recorder();
      await f.discovery.start(r.onChange);
      await sleep(200);
      assert.deepEqual(r.seen, [[A, B]]);
      return;
    }
    const r = recorder();
    await f.discovery.start(r.onChange);
    await f.change([C, A]);
    await waitFor(async () => (JSON.stringify(r.current()) === JSON.stringify([A, C]) ? true : undefined), {
      timeoutMs: f.settleMs,
      what: `the set [${A}, ${C}]; seen ${JSON.stringify(r.seen)}`,
    });
    assert.deepEqual(r.seen[0], [A, B]);
  });

  it("after stop nothing is reported; a restart reports the set as it is then", async (t) => {
    const f = await fixture(t, [A]);
    if (!f) return;
    const r = recorder();
    await f.discovery.start(r.onChange);
    f.discovery.stop();
    const stopped = r.seen.length;
    if (f.change) {
      await f.change([B]);
      await sleep(f.settleMs / 4);
      assert.equal(r.seen.length, stopped, `reported after stop: ${JSON.stringify(r.seen.slice(stopped))}`);
    }
    const again = recorder();
    await f.discovery.start(again.onChange);
    const want = f.change ? [B] : [A];
    await waitFor(async () => (JSON.stringify(again.current()) === JSON.stringify(want) ? true : undefined), {
      timeoutMs: Math.max(f.settleMs, 1),
      what: `the set ${JSON.stringify(want)} after the restart; seen ${JSON.stringify(again.seen)}`,
    });
  });

  it("a restart over an unchanged source reports the set again", async (t) => {
    const f = await fixture(t, [A, B]);
    if (!f) return;
    await f.discovery.start(() => {});
    f.discovery.stop();
    const again = recorder();
    await f.discovery.start(again.onChange);
    assert.deepEqual(again.seen, [[A, B]]);
  });
}
