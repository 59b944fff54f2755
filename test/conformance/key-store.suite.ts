// The KeyStore contract (src/gateway/policy/key-store.ts), run against each implementation.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it, type TestContext } from "node:test";
import type { KeyRecord, KeyStore } from "../../src/gateway/policy/key-store.js";
import { assertImplements, KEY_STORE_METHODS } from "./methods.js";

export interface KeyStoreFixture {
  store: KeyStore;
  /** A second store over the same backing (file, Redis prefix), as another process opens it. */
  reopen(): Promise<KeyStore>;
}

/** Opens a fresh, empty store for one test (closed by the suite); undefined skips the test. */
export type KeyStoreFactory = (t: TestContext) => Promise<KeyStoreFixture | undefined>;

function record(id: string, extra: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id,
    name: `key ${id}`,
    hash: `v1$${id}$salt$hash`,
    models: ["chat-*"],
    collections: ["docs"],
    paths: ["/v1/*"],
    rpm: 60,
    tpm: 10_000,
    budgetTokens: 1_000_000,
    createdAt: "2026-11-01T00:00:00.000Z",
    source: "store",
    ...extra,
  };
}

export function keyStoreConformance(open: KeyStoreFactory): void {
  const fixture = async (t: TestContext): Promise<KeyStoreFixture | undefined> => {
    const f = await open(t);
    if (f) t.after(() => f.store.close());
    return f;
  };

  it("implements every KeyStore method", async (t) => {
    const f = await fixture(t);
    if (f) assertImplements(f.store, KEY_STORE_METHODS, f.store.constructor.name);
  });

  it("an unknown id is undefined, an empty store lists nothing", async (t) => {
    const f = await fixture(t);
    if (!f) return;
    assert.equal(await f.store.get(randomUUID()), undefined);
    assert.deepEqual(await f.store.list(), []);
  });

  it("a record put comes back whole, every field as put", async (t) => {
    const f = await fixture(t);
    if (!f) return;
    const rec = record("k1", { rotatedAt: "2026-11-02T00:00:00.000Z" });
    await f.store.put(rec);
    assert.deepEqual(await f.store.get("k1"), rec);
  });

  it("putting an existing id replaces the record (revoke, rotate)", async (t) => {
    const f = await fixture(t);
    if (!f) return;
    await f.store.put(record("k1"));
    const revoked = record("k1", { revokedAt: "2026-11-03T00:00:00.000Z", rpm: 5 });
    await f.store.put(revoked);
    assert.deepEqual(await f.store.get("k1"), revoked);
    assert.equal((await f.store.list()).length, 1);
  });

  it("list holds every record, sorted by id", async (t) => {
    const f = await fixture(t);
    if (!f) return;
    for (const id of ["kc", "ka", "kb"]) await f.store.put(record(id));
    assert.deepEqual(
      (await f.store.list()).map((r) => r.id),
      ["ka", "kb", "kc"],
    );
  });

  it("another store over the same backing sees what was put (the CLI and a gateway share it)", async (t) => {
    const f = await fixture(t);
    if (!f) return;
    await f.store.put(record("shared"));
    const other = await f.reopen();
    t.after(() => other.close());
    assert.deepEqual(await other.get("shared"), record("shared"));
    await other.put(record("from-other"));
    assert.deepEqual(
      (await f.store.list()).map((r) => r.id),
      ["from-other", "shared"],
    );
  });
}
