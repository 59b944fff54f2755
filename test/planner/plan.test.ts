import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isLegalMigLayout } from "../../src/catalog/index.js";
import { planSpec } from "../../src/planner/index.js";
import { binomialQuantile, percentile, roundUpR10 } from "../../src/planner/latency.js";
import type { Plan } from "../../src/planner/types.js";
import { guideCostScenarios, hundredSmallServices, scenarioSpec } from "./scenarios.js";

const placedTotal = (p: Plan) => p.models.reduce((s, m) => s + m.replicas.placed, 0);

describe("planner: the guide's 100 small services on 8 × A100-80GB", () => {
  it("with MIG: 56 of 100 fit (1g.10gb × 7 per GPU), the other 44 need 7 more GPUs", () => {
    const plan = planSpec(scenarioSpec({ type: "A100-80GB", count: 8, mode: "mig" }, hundredSmallServices()));
    const m = plan.models[0];
    assert.ok(m);
    assert.deepEqual(m.unit, { kind: "mig", profile: "1g.10gb", computeSlices: 1, memorySlices: 1 });
    assert.equal(m.resourceName, "nvidia.com/mig-1g.10gb");
    assert.equal(m.chosenBy, "planner");
    assert.ok(m.latency?.meetsSlo);
    assert.equal(placedTotal(plan), 56);
    assert.equal(plan.pools[0]?.gpusUsed, 8);
    assert.equal(plan.pools[0]?.packing, "exact");
    assert.equal(plan.feasible, false);
    const [problem] = plan.infeasible;
    assert.equal(problem?.code, "inventory-exhausted");
    assert.match(problem?.message ?? "", /holds 56 of the 100 replicas/);
    assert.match(problem?.message ?? "", /the other 44 .* need 7 more A100-80GB GPUs/);
    // every GPU: 7 × 1g.10gb at starts 0..6, one mig-parted config for all of them
    for (const node of plan.nodes) {
      assert.equal(node.migConfig, "all-1g.10gb-x7");
      assert.equal(node.labels["nvidia.com/mig.config"], "all-1g.10gb-x7");
      for (const g of node.gpus) {
        assert.equal(g.layout.mode, "mig");
        if (g.layout.mode === "mig")
          assert.deepEqual(
            g.layout.slices.map((s) => s.start),
            [0, 1, 2, 3, 4, 5, 6],
          );
      }
    }
    assert.deepEqual(plan.migConfigs, [
      {
        name: "all-1g.10gb-x7",
        devices: [{ devices: [0, 1, 2, 3, 4, 5, 6, 7], migEnabled: true, migDevices: { "1g.10gb": 7 } }],
      },
    ]);
  });

  it("with time slicing: memory, not the share count, bounds it (9 per GPU at 0.10 each: 72 of 100)", () => {
    const plan = planSpec(
      scenarioSpec({ type: "A100-80GB", count: 8, mode: "time-slicing", shares: 14 }, hundredSmallServices()),
    );
    const m = plan.models[0];
    assert.ok(m?.unit?.kind === "time-slice");
    assert.equal(m.gpuMemoryUtilization, 0.1);
    assert.equal(m.resourceName, "nvidia.com/gpu");
    assert.deepEqual(m.nodeSelector, { "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB-SHARED" });
    assert.equal(placedTotal(plan), 72);
    assert.match(plan.infeasible[0]?.message ?? "", /holds 72 of the 100 .* the other 28 .* need 4 more/);
    for (const g of plan.nodes.flatMap((n) => n.gpus)) {
      assert.equal(g.layout.mode, "time-slicing");
      if (g.layout.mode === "time-slicing") {
        assert.ok(g.layout.shares.reduce((s, x) => s + x.memoryFraction, 0) <= 0.95 + 1e-9);
      }
    }
    // With the guide's 4 replicas per GPU the share count binds: 32.
    const four = planSpec(
      scenarioSpec({ type: "A100-80GB", count: 8, mode: "time-slicing", shares: 4 }, hundredSmallServices()),
    );
    assert.equal(placedTotal(four), 32);
  });

  it("is deterministic: the same spec gives byte-identical JSON", () => {
    const spec = scenarioSpec(
      { type: "A100-80GB", count: 2, mode: "mig" },
      hundredSmallServices().slice(0, 10),
    );
    assert.equal(JSON.stringify(planSpec(spec)), JSON.stringify(planSpec(spec)));
  });
});

describe("planner: units, replicas and explanations", () => {
  it("more load needs more replicas for the same SLO", () => {
    const at = (rate: number) =>
      planSpec(
        scenarioSpec({ type: "H100-80GB", count: 8, mode: "exclusive" }, [
          {
            name: "chat",
            source: "hf://Qwen/Qwen2.5-7B-Instruct",
            rate,
            count: 1,
            ttft: "500ms",
            tpot: "30ms",
          },
        ]),
      ).models[0]?.replicas.forSlo ?? 0;
    const low = at(1);
    const high = at(40);
    assert.equal(low, 1);
    assert.ok(high > low, `40 req/s needs ${high} replicas, 1 req/s ${low}`);
  });

  it("explains a model that fits no unit, with the numbers", () => {
    const plan = planSpec(
      scenarioSpec({ type: "A100-80GB", count: 2, gpusPerNode: 2, mode: "exclusive" }, [
        { name: "big", source: "hf://Qwen/Qwen2.5-72B-Instruct", rate: 1, maxModelLen: 32768 },
      ]),
    );
    assert.equal(plan.feasible, false);
    const msg = plan.infeasible[0]?.message ?? "";
    assert.equal(plan.infeasible[0]?.code, "no-fitting-unit");
    assert.match(
      msg,
      /needs 145\.4 GB of weights and 327,680 B of KV cache per token at a 32,768-token context/,
    );
    assert.match(
      msg,
      /1 × A100-80GB: 145\.4 GB of weights .* above the 77\.3 GB vLLM may use \(0\.9 × 85\.9 GB\)/,
    );
    assert.match(
      msg,
      /2 × A100-80GB with TP 2: .* 72\.7 GB weights .* leaves 2\.6 GB per GPU for KV = 16,034 tokens .* fewer than one 32,768-token context/,
    );
    assert.equal(plan.models[0]?.unit, null);
  });

  it("rejects a TP size the attention heads do not divide, and an unreachable SLO", () => {
    const plan = planSpec(
      scenarioSpec({ type: "T4", count: 8, mode: "exclusive" }, [
        { name: "q", source: "hf://Qwen/Qwen2.5-7B-Instruct-AWQ", rate: 1, count: "auto", ttft: "10ms" },
      ]),
    );
    const reasons = plan.models[0]?.candidates.map((c) => c.reason) ?? [];
    assert.ok(
      reasons.some((r) => /28 attention heads to divide evenly by TP 8/.test(r)),
      reasons.join("\n"),
    );
    assert.equal(plan.infeasible[0]?.code, "slo-unreachable");
    assert.match(
      plan.infeasible[0]?.message ?? "",
      /even one request at a time sees TTFT p99 \d+ ms .* missing TTFT p99 ≤ 10 ms/,
    );
  });

  it("mixes MIG profiles on one GPU only in placeable geometries", () => {
    const plan = planSpec(
      scenarioSpec({ type: "A100-80GB", count: 2, mode: "mig" }, [
        {
          name: "a",
          source: "hf://Qwen/Qwen2.5-7B-Instruct-AWQ",
          rate: 0.1,
          migProfile: "3g.40gb",
          replicas: 2,
        },
        {
          name: "b",
          source: "hf://Qwen/Qwen2.5-7B-Instruct-AWQ",
          rate: 0.1,
          migProfile: "1g.10gb",
          replicas: 3,
        },
      ]),
    );
    assert.ok(plan.feasible, JSON.stringify(plan.infeasible));
    // 3g + 3g fill one GPU (3g + 3g + 1g is illegal), so the three 1g go to the second.
    assert.equal(plan.pools[0]?.gpusUsed, 2);
    for (const g of plan.nodes.flatMap((n) => n.gpus)) {
      if (g.layout.mode !== "mig") continue;
      assert.ok(
        isLegalMigLayout(
          "A100-80GB",
          g.layout.slices.map((s) => s.profile),
        ).ok,
      );
    }
  });
});

describe("planner: cost", () => {
  it("reproduces the guide's cost table where its premises hold, and says where they do not", () => {
    const rows = guideCostScenarios().map((s) => ({ s, plan: planSpec(s.spec) }));
    const [fp16, int4, mig, hpa, spot] = rows;
    // GPUs × $2,100: the first three rows hold.
    assert.equal(fp16?.plan.cost.onDemandMonthly, 8400);
    assert.equal(int4?.plan.cost.onDemandMonthly, 4200);
    assert.equal(mig?.plan.cost.onDemandMonthly, 2100);
    // HPA: one replica on one MIG slice cannot release its GPU, so nothing is saved (guide: $1,400).
    assert.equal(hpa?.plan.cost.scaledMonthly, 2100);
    // Spot at 70% off what is really paid: $630 (guide: $420 = 30% of its $1,400).
    assert.equal(spot?.plan.cost.spotMonthly, 630);
    // The FP16 row's TP 2 is the spec's choice; the planner alone puts a 15 GB model on one GPU.
    assert.equal(fp16?.plan.models[0]?.unit?.kind, "gpu");
  });

  it("scales cost hour by hour when replicas can go to zero", () => {
    const idleHalf = Array.from({ length: 24 }, (_, h) => (h >= 8 && h < 20 ? 1 : 0));
    const plan = planSpec(
      scenarioSpec({ type: "A100-80GB", count: 1, mode: "mig", price: 2100 / 730 }, [
        {
          name: "q",
          source: "hf://Qwen/Qwen2.5-7B-Instruct-AWQ",
          rate: 1,
          migProfile: "1g.10gb",
          minReplicas: 0,
          replicas: 1,
          dailyProfile: idleHalf,
        },
      ]),
    );
    assert.deepEqual(plan.models[0]?.hourlyReplicas, idleHalf);
    assert.equal(plan.cost.onDemandMonthly, 2100);
    assert.equal(plan.cost.scaledMonthly, 1050);
  });
});

describe("planner: small formulas and the heuristic above 16 GPUs", () => {
  it("rounds rates up to the R10 series, takes nearest-rank percentiles and binomial quantiles", () => {
    assert.deepEqual(
      [0.05, 0.051, 0.07, 1, 1.1, 12, 99].map(roundUpR10),
      [0.05, 0.063, 0.08, 1, 1.25, 12.5, 100],
    );
    assert.equal(percentile([5, 1, 4, 2, 3], 50), 3);
    assert.equal(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        99,
      ),
      99,
    );
    assert.equal(binomialQuantile(8, 0, 0.99), 0);
    assert.equal(binomialQuantile(8, 1, 0.99), 8);
    // Binomial(8, 0.25): P(X ≤ 5) = 0.9958 ≥ 0.99 > P(X ≤ 4) = 0.9727
    assert.equal(binomialQuantile(8, 0.25, 0.99), 5);
  });

  it("packs a 24-GPU pool with the documented heuristic and says so", () => {
    const services = Array.from({ length: 30 }, (_, i) => ({
      name: `s${i}`,
      source: "hf://Qwen/Qwen2.5-7B-Instruct-AWQ",
      rate: 0.05,
      migProfile: i % 3 === 0 ? "3g.40gb" : "1g.10gb",
    }));
    const plan = planSpec(scenarioSpec({ type: "H100-80GB", count: 24, mode: "mig" }, services));
    assert.ok(plan.feasible, JSON.stringify(plan.infeasible));
    assert.equal(plan.pools[0]?.packing, "heuristic");
    // 10 × 3g (2 per GPU) and 20 × 1g: 3g + 3g fill a GPU, so at least 5 + 3 GPUs.
    assert.ok((plan.pools[0]?.gpusUsed ?? 0) >= 8);
    assert.ok((plan.pools[0]?.gpusUsed ?? 0) <= 9);
  });
});
