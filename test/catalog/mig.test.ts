import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getGpu, isLegalMigLayout, type MigLayoutResult, migProfile } from "../../src/catalog/index.js";
import { InferplaneError } from "../../src/errors.js";

function ok(r: MigLayoutResult): Extract<MigLayoutResult, { ok: true }> {
  assert.ok(r.ok, r.ok ? "" : r.reason);
  return r;
}

function notOk(r: MigLayoutResult): string {
  assert.ok(!r.ok, "expected an illegal layout");
  return r.reason;
}

describe("catalog: MIG placement", () => {
  it("4g + 3g is legal on A100-80GB and fills the card", () => {
    const r = ok(isLegalMigLayout("A100-80GB", ["4g.40gb", "3g.40gb"]));
    assert.deepEqual(r.placement, [
      { profile: "4g.40gb", start: 0, size: 4 },
      { profile: "3g.40gb", start: 4, size: 4 },
    ]);
  });

  it("3g + 2g + 2g is legal: the 3g must start at 4", () => {
    const r = ok(isLegalMigLayout("A100-80GB", ["3g.40gb", "2g.20gb", "2g.20gb"]));
    assert.deepEqual(r.placement, [
      { profile: "2g.20gb", start: 0, size: 2 },
      { profile: "2g.20gb", start: 2, size: 2 },
      { profile: "3g.40gb", start: 4, size: 4 },
    ]);
  });

  it("3g + 3g + 1g is illegal although compute slices sum to 7 (3g takes 4 memory slices)", () => {
    const reason = notOk(isLegalMigLayout("A100-80GB", ["3g.40gb", "3g.40gb", "1g.10gb"]));
    assert.match(reason, /9 memory slices/);
    assert.match(reason, /3g\.40gb takes 4/);
  });

  it("8 × 1g.10gb exceeds the 7-instance limit (the guide's 14 × 1g.5gb likewise)", () => {
    assert.match(notOk(isLegalMigLayout("A100-80GB", Array(8).fill("1g.10gb"))), /exceeds the 7 instances/);
    assert.match(notOk(isLegalMigLayout("A100-40GB", Array(14).fill("1g.5gb"))), /exceeds the 7 instances/);
    ok(isLegalMigLayout("A100-80GB", Array(7).fill("1g.10gb")));
  });

  it("1g.5gb does not exist on A100-80GB", () => {
    const reason = notOk(isLegalMigLayout("A100-80GB", ["1g.5gb"]));
    assert.match(reason, /1g\.5gb/);
    assert.match(reason, /1g\.10gb/);
    assert.equal(migProfile("A100-80GB", "1g.5gb"), undefined);
    assert.equal(migProfile("A100-40GB", "1g.5gb")?.memoryMiB, 4864);
  });

  it("compute slices are capped at 7 (4 on A30)", () => {
    assert.match(notOk(isLegalMigLayout("A100-80GB", ["4g.40gb", "2g.20gb", "2g.20gb"])), /compute slices/);
    assert.match(notOk(isLegalMigLayout("A30", ["2g.12gb", "2g.12gb", "1g.6gb"])), /compute slices/);
    ok(isLegalMigLayout("A30", ["2g.12gb", "1g.6gb", "1g.6gb"]));
    ok(isLegalMigLayout("A30", ["4g.24gb"]));
  });

  it("a 1g can never take the eighth memory slice", () => {
    // 4g at 0-3, 2g at 4-5, leaving 6-7: one 1g fits at 6, a second one would need slot 7.
    ok(isLegalMigLayout("H100-80GB", ["4g.40gb", "2g.20gb", "1g.10gb"]));
    ok(isLegalMigLayout("H100-80GB", ["3g.40gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb"]));
    ok(isLegalMigLayout("A100-80GB", ["2g.20gb", "2g.20gb", "2g.20gb", "1g.10gb"]));
    ok(isLegalMigLayout("A100-80GB", ["1g.20gb", "1g.20gb", "1g.20gb", "1g.10gb", "1g.10gb"]));
  });

  it("every layout the search accepts is non-overlapping and uses legal starts", () => {
    for (const gpuId of ["A100-80GB", "A30", "H200-141GB"]) {
      const gpu = getGpu(gpuId);
      const names = gpu.migProfiles.map((p) => p.name);
      // All multisets up to 4 instances.
      const layouts: string[][] = [[]];
      for (let n = 0; n < 4; n++) {
        for (const l of [...layouts])
          if (l.length === n) for (const name of names) layouts.push([...l, name]);
      }
      for (const layout of layouts) {
        const r = isLegalMigLayout(gpuId, layout);
        if (!r.ok) continue;
        const used = new Set<number>();
        for (const p of r.placement) {
          const profile = migProfile(gpuId, p.profile);
          assert.ok(profile?.starts.includes(p.start), `${gpuId} ${layout.join("+")}`);
          for (let s = p.start; s < p.start + p.size; s++) {
            assert.ok(!used.has(s), `${gpuId} ${layout.join("+")} overlaps at ${s}`);
            used.add(s);
          }
        }
      }
    }
  });

  it("accepts device-plugin spellings of profile names", () => {
    ok(isLegalMigLayout("A100-80GB", ["nvidia.com/mig-3g.40gb", "MIG 4g.40gb"]));
    assert.equal(migProfile("A100-80GB", "mig-1g.10gb")?.name, "1g.10gb");
  });

  it("GPUs without MIG and unknown GPUs", () => {
    assert.match(notOk(isLegalMigLayout("L4", ["1g.6gb"])), /does not support MIG/);
    assert.ok(isLegalMigLayout("A100-80GB", []).ok);
    assert.throws(
      () => isLegalMigLayout("A200", ["1g.10gb"]),
      (e: unknown) => e instanceof InferplaneError && e.code === "catalog_unknown_gpu",
    );
  });
});
