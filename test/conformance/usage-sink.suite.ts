// The UsageSink contract (src/gateway/policy/usage.ts), run against each implementation.
import assert from "node:assert/strict";
import { it, type TestContext } from "node:test";
import type { UsageRow, UsageSink } from "../../src/gateway/policy/usage.js";
import { assertImplements, USAGE_SINK_METHODS } from "./methods.js";

export interface UsageSinkFixture {
  sink: UsageSink;
  /** A second sink over the same backing, as another replica or the CLI opens it. */
  reopen(): Promise<UsageSink>;
}

/** Opens a fresh, empty sink for one test (closed by the suite); undefined skips the test. */
export type UsageSinkFactory = (t: TestContext) => Promise<UsageSinkFixture | undefined>;

const H = Date.UTC(2026, 10, 3, 10) / 1000; // an hour bucket

function row(extra: Partial<UsageRow> = {}): UsageRow {
  return {
    hour: H,
    key: "k1",
    route: "chat",
    model: "llama",
    requests: 1,
    errors: 0,
    promptTokens: 10,
    completionTokens: 5,
    ...extra,
  };
}

const sorted = (rows: readonly UsageRow[]) =>
  [...rows].map((r) => ({ ...r })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

export function usageSinkConformance(open: UsageSinkFactory): void {
  const fixture = async (t: TestContext): Promise<UsageSinkFixture | undefined> => {
    const f = await open(t);
    if (f) t.after(() => f.sink.close());
    return f;
  };

  it("implements every UsageSink method", async (t) => {
    const f = await fixture(t);
    if (f) assertImplements(f.sink, USAGE_SINK_METHODS, f.sink.constructor.name);
  });

  it("an empty sink answers no rows", async (t) => {
    const f = await fixture(t);
    if (f) assert.deepEqual(await f.sink.query(0, H * 2), []);
  });

  it("a row added comes back with every count", async (t) => {
    const f = await fixture(t);
    if (!f) return;
    const r = row({ errors: 2, promptTokens: 123, completionTokens: 45 });
    await f.sink.add([r]);
    assert.deepEqual(sorted(await f.sink.query(H, H + 3600)), [r]);
  });

  it("rows of the same hour, key, route and model add up, across adds", async (t) => {
    const f = await fixture(t);
    if (!f) return;
    await f.sink.add([row()]);
    await f.sink.add([row({ errors: 1, promptTokens: 1, completionTokens: 0 })]);
    assert.deepEqual(await f.sink.query(H, H + 3600), [
      row({ requests: 2, errors: 1, promptTokens: 11, completionTokens: 5 }),
    ]);
  });

  it("rows differing in key, route, model or hour stay apart", async (t) => {
    const f = await fixture(t);
    if (!f) return;
    const rows = [
      row(),
      row({ key: "k2" }),
      row({ route: "embed" }),
      row({ model: "qwen" }),
      row({ hour: H + 3600 }),
    ];
    await f.sink.add(rows);
    assert.deepEqual(sorted(await f.sink.query(H, H + 7200)), sorted(rows));
  });

  it("a row with every count zero adds nothing", async (t) => {
    const f = await fixture(t);
    if (!f) return;
    await f.sink.add([row({ requests: 0, errors: 0, promptTokens: 0, completionTokens: 0 })]);
    assert.deepEqual(await f.sink.query(H, H + 3600), []);
  });

  it("a query covers hours from ≤ hour < to", async (t) => {
    const f = await fixture(t);
    if (!f) return;
    const before = row({ hour: H - 3600 });
    const first = row({ hour: H });
    const last = row({ hour: H + 3600 });
    const after = row({ hour: H + 7200 });
    await f.sink.add([before, first, last, after]);
    assert.deepEqual(sorted(await f.sink.query(H, H + 7200)), sorted([first, last]));
    assert.deepEqual(await f.sink.query(H + 1, H + 3600), []);
  });

  it("another sink over the same backing reads what was added and adds to it", async (t) => {
    const f = await fixture(t);
    if (!f) return;
    await f.sink.add([row()]);
    const other = await f.reopen();
    t.after(() => other.close());
    await other.add([row()]);
    assert.deepEqual(await f.sink.query(H, H + 3600), [
      row({ requests: 2, promptTokens: 20, completionTokens: 10 }),
    ]);
  });
}
