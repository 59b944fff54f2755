import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  findGpu,
  findGpuByProductName,
  GPU_IDS,
  getGpu,
  isGpuId,
  listGpus,
  peak16BitFlops,
  priceMidpoint,
} from "../../src/catalog/index.js";
import { InferplaneError } from "../../src/errors.js";

describe("catalog: GPUs", () => {
  it("has exactly the promised ids, in order", () => {
    assert.deepEqual(
      listGpus().map((g) => g.id),
      [
        "A100-40GB",
        "A100-80GB",
        "H100-80GB",
        "H100-NVL-94GB",
        "H200-141GB",
        "L40S",
        "L4",
        "T4",
        "A10G",
        "A30",
      ],
    );
    assert.deepEqual([...GPU_IDS], [...listGpus().map((g) => g.id)]);
  });

  it("every GPU has positive memory, bandwidth and throughput", () => {
    for (const g of listGpus()) {
      assert.ok(g.memoryBytes > 0, g.id);
      assert.ok(g.memoryGB > 0, g.id);
      assert.equal(g.memoryGiB, Math.round((g.memoryBytes / 2 ** 30) * 100) / 100, g.id);
      assert.ok(g.memoryBandwidthBytesPerSec > 1e11, g.id);
      assert.ok(g.fp16Flops > 1e13, g.id);
      assert.ok(peak16BitFlops(g) > 0, g.id);
      assert.ok(g.source.length > 0, g.id);
    }
  });

  it("reported memory is within 10% of the nominal size", () => {
    for (const g of listGpus()) {
      const ratio = g.memoryBytes / (g.memoryGB * 1e9);
      assert.ok(ratio > 0.9 && ratio < 1.1, `${g.id}: ${ratio}`);
    }
  });

  it("throughput is dense: FP8/INT8 exactly twice 16-bit where both exist", () => {
    for (const g of listGpus()) {
      if (g.bf16Flops !== null) assert.equal(g.bf16Flops, g.fp16Flops, g.id);
      if (g.fp8Flops !== null) assert.ok(Math.abs(g.fp8Flops / g.fp16Flops - 2) < 0.03, g.id);
      if (g.int8Ops !== null) assert.ok(Math.abs(g.int8Ops / g.fp16Flops - 2) < 0.03, g.id);
    }
    // Dense, not sparse: H100 SXM is 989.5 TF BF16 (1,979 with sparsity).
    assert.equal(getGpu("H100-80GB").bf16Flops, 989.5e12);
    assert.equal(getGpu("A100-80GB").bf16Flops, 312e12);
    assert.equal(getGpu("A100-80GB").memoryBandwidthBytesPerSec, 2039e9);
  });

  it("FP8 exists only on Ada and Hopper; T4 has no BF16", () => {
    for (const g of listGpus()) {
      const hasFp8 = g.architecture === "Hopper" || g.architecture === "Ada Lovelace";
      assert.equal(g.fp8Flops !== null, hasFp8, g.id);
    }
    const t4 = getGpu("T4");
    assert.equal(t4.bf16Flops, null);
    assert.equal(peak16BitFlops(t4), t4.fp16Flops);
  });

  it("price ranges are positive with low ≤ high and a source note", () => {
    for (const g of listGpus()) {
      assert.ok(g.price.low > 0, g.id);
      assert.ok(g.price.low <= g.price.high, g.id);
      assert.ok(g.price.note.length > 10, g.id);
      const mid = priceMidpoint(g);
      assert.ok(mid >= g.price.low && mid <= g.price.high, g.id);
    }
  });

  it("product-name labels are GFD style and unique", () => {
    const names = listGpus().flatMap((g) => [g.nvidiaProductName, ...g.nvidiaProductNameAliases]);
    assert.equal(new Set(names).size, names.length);
    for (const n of names) assert.match(n, /^[A-Za-z0-9-]+$/);
    assert.equal(getGpu("A100-80GB").nvidiaProductName, "NVIDIA-A100-SXM4-80GB");
    assert.equal(findGpuByProductName("NVIDIA A100-SXM4-80GB")?.id, "A100-80GB");
    assert.equal(findGpuByProductName("NVIDIA-A100-80GB-PCIe")?.id, "A100-80GB");
    assert.equal(findGpuByProductName("NVIDIA H100 80GB HBM3")?.id, "H100-80GB");
    assert.equal(findGpuByProductName("NVIDIA-B200"), undefined);
  });

  it("MIG: only A100, H100, H200 and A30 have profiles; others an empty list", () => {
    const withMig = listGpus()
      .filter((g) => g.migProfiles.length > 0)
      .map((g) => g.id);
    assert.deepEqual(withMig, ["A100-40GB", "A100-80GB", "H100-80GB", "H100-NVL-94GB", "H200-141GB", "A30"]);
    for (const g of listGpus()) assert.equal(g.migSlices === null, g.migProfiles.length === 0, g.id);
  });

  it("MIG profiles are internally consistent", () => {
    for (const g of listGpus()) {
      const slices = g.migSlices;
      if (slices === null) continue;
      const deviceMiB = g.memoryBytes / 2 ** 20;
      for (const p of g.migProfiles) {
        const where = `${g.id} ${p.name}`;
        // Name: <compute>g.<GB>gb, compute matching the field.
        const m = /^(\d)g\.(\d+)gb$/.exec(p.name);
        assert.ok(m, where);
        assert.equal(Number(m?.[1]), p.computeSlices, where);
        // Max instances fit the memory and compute axes.
        assert.ok(p.maxInstances * p.memorySlices <= slices.memory, where);
        assert.ok(p.maxInstances * p.computeSlices <= slices.compute, where);
        // Every legal start leaves room for the instance; enough starts for max instances.
        assert.ok(p.starts.length >= p.maxInstances, where);
        for (const s of p.starts) assert.ok(s >= 0 && s + p.memorySlices <= slices.memory, where);
        // Usable memory is a bit below the proportional share of the device.
        const share = (deviceMiB * p.memorySlices) / slices.memory;
        assert.ok(
          p.memoryMiB <= share && p.memoryMiB >= 0.85 * share,
          `${where}: ${p.memoryMiB} vs ${share}`,
        );
      }
    }
  });

  it("A100-80GB has the promised profiles and instance limits", () => {
    const a100 = getGpu("A100-80GB");
    assert.deepEqual(
      a100.migProfiles.map((p) => [p.name, p.maxInstances, p.memorySlices, [...p.starts]]),
      [
        ["1g.10gb", 7, 1, [0, 1, 2, 3, 4, 5, 6]],
        ["1g.20gb", 4, 2, [0, 2, 4, 6]],
        ["2g.20gb", 3, 2, [0, 2, 4]],
        ["3g.40gb", 2, 4, [0, 4]],
        ["4g.40gb", 1, 4, [0]],
        ["7g.80gb", 1, 8, [0]],
      ],
    );
    assert.deepEqual(a100.migSlices, { compute: 7, memory: 8 });
    assert.equal(a100.migProfiles[0]?.memoryMiB, 9856);
    assert.deepEqual(
      getGpu("A30").migProfiles.map((p) => [p.name, p.maxInstances]),
      [
        ["1g.6gb", 4],
        ["2g.12gb", 2],
        ["4g.24gb", 1],
      ],
    );
    assert.deepEqual(
      getGpu("A100-40GB").migProfiles.map((p) => p.name),
      ["1g.5gb", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"],
    );
  });

  it("lookups: exact, case-insensitive, and unknown ids throw catalog_unknown_gpu listing the ids", () => {
    assert.equal(getGpu("L40S").id, "L40S");
    assert.equal(findGpu("a100-80gb")?.id, "A100-80GB");
    assert.equal(findGpu("B200"), undefined);
    assert.ok(isGpuId("T4"));
    assert.ok(!isGpuId("t4"));
    assert.throws(
      () => getGpu("B200"),
      (err: unknown) =>
        err instanceof InferplaneError &&
        err.code === "catalog_unknown_gpu" &&
        err.message.includes("B200") &&
        GPU_IDS.every((id) => err.message.includes(id)),
    );
  });
});
