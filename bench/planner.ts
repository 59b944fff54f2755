/**
 * How long `planSpec` takes for 100 services on 16 GPUs (target: ≤ 2 s), and the guide's
 * scenarios: 100 small Qwen2.5-7B-AWQ services on 8 × A100-80GB with MIG and with time
 * slicing, and its cost table. Every plan is computed from scratch (a fresh simulation cache
 * per call); the first run of each case warms the JIT and is not counted.
 *
 *   flock /tmp/bench.lock node --import tsx bench/planner.ts [--runs 5]
 */
import { parseArgs } from "node:util";
import { planSpec } from "../src/planner/index.js";
import { type PackItem, packPool } from "../src/planner/packing.js";
import type { Plan } from "../src/planner/types.js";
import { rng } from "../src/sim/model/workload.js";
import {
  guideCostScenarios,
  hundredSmallServices,
  type ServiceShape,
  scenarioSpec,
} from "../test/planner/scenarios.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const runs = Number(values.runs);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function time<T>(f: () => T): { ms: number; value: T } {
  f(); // warm-up
  const ms: number[] = [];
  let value = f();
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    value = f();
    ms.push(performance.now() - t);
  }
  return { ms: median(ms), value };
}

/** 100 services over four 7–14B models, five rates, three prompt lengths (seeded). */
function mixedServices(): ServiceShape[] {
  const rand = rng(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const sources = [
    "hf://Qwen/Qwen2.5-7B-Instruct-AWQ",
    "hf://hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4",
    "hf://Qwen/Qwen2.5-14B-Instruct-AWQ",
    "hf://Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4",
  ];
  return Array.from({ length: 100 }, (_, i) => ({
    name: `svc-${String(i).padStart(3, "0")}`,
    source: pick(sources),
    rate: pick([0.02, 0.05, 0.1, 0.2, 0.5]),
    inputTokens: pick([256, 512, 1024]),
  }));
}

const summary = (p: Plan) =>
  `${p.models.reduce((s, m) => s + m.replicas.placed, 0)} replicas placed on ${p.pools.reduce((s, x) => s + x.gpusUsed, 0)} GPUs, ` +
  `packing ${p.pools.map((x) => x.packing).join("/")}, ${p.infeasible.length} infeasibilities`;

const cases: [string, () => Plan][] = [
  [
    "100 × Qwen2.5-7B-AWQ, 16 × A100-80GB, MIG",
    () => planSpec(scenarioSpec({ type: "A100-80GB", count: 16, mode: "mig" }, hundredSmallServices())),
  ],
  [
    "100 mixed services (4 models × 5 rates × 3 prompt lengths), 16 × A100-80GB, MIG",
    () => planSpec(scenarioSpec({ type: "A100-80GB", count: 16, mode: "mig" }, mixedServices())),
  ],
  [
    "100 × Qwen2.5-7B-AWQ, 16 × A100-80GB, time slicing (8 shares)",
    () =>
      planSpec(
        scenarioSpec(
          { type: "A100-80GB", count: 16, mode: "time-slicing", shares: 8 },
          hundredSmallServices(),
        ),
      ),
  ],
];

console.log(`planSpec, median of ${runs} runs after one warm-up (target ≤ 2,000 ms):`);
for (const [label, f] of cases) {
  const { ms, value } = time(f);
  console.log(`  ${label}: ${ms.toFixed(0)} ms (${(ms / 2000).toFixed(2)} × target) — ${summary(value)}`);
}

// The packer alone, exact search against its first descent (first-fit decreasing), side by side.
const rand = rng(11);
const profiles = ["1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb"];
const items: PackItem[] = Array.from({ length: 40 }, (_, i) => ({
  kind: "mig",
  key: `r${i}`,
  profile: profiles[Math.floor(rand() * profiles.length)] as string,
}));
const pool = { gpuType: "A100-80GB", gpus: 16, gpusPerNode: 8 };
const exact = time(() => packPool(pool, items));
const ffd = time(() => packPool(pool, items, { budget: items.length + 1 }));
console.log(
  `packer, 40 mixed MIG instances on 16 × A100-80GB: exact ${exact.ms.toFixed(1)} ms → ${exact.value.used} GPUs ` +
    `(${exact.value.exact ? "proven optimal" : "budget hit"}); first-fit decreasing ${ffd.ms.toFixed(1)} ms → ` +
    `${ffd.value.feasible ? ffd.value.used : "no"} GPUs; exact/FFD time ${(exact.ms / Math.max(0.001, ffd.ms)).toFixed(1)}×`,
);

console.log("\nThe guide: 100 small Qwen2.5-7B-AWQ services (0.05 req/s each) on 8 × A100-80GB");
for (const [mode, shares] of [
  ["mig", undefined],
  ["time-slicing", 4],
  ["time-slicing", 14],
] as const) {
  const plan = planSpec(scenarioSpec({ type: "A100-80GB", count: 8, mode, shares }, hundredSmallServices()));
  const m = plan.models[0];
  console.log(
    `  ${mode}${shares ? ` (${shares} shares per GPU)` : ""}: unit ${JSON.stringify(m?.unit)}, ` +
      `gpu_memory_utilization ${m?.gpuMemoryUtilization}, TTFT/TPOT p99 ${m?.latency?.ttftP} s / ${m?.latency?.tpotP} s; ` +
      `${summary(plan)}`,
  );
  for (const x of plan.infeasible.slice(0, 1)) console.log(`    ${x.message}`);
}

console.log("\nThe guide's cost table (A100-80GB at $2,100 a month), Qwen2.5-7B at 1 req/s:");
console.log("  | Plan | Guide | Planner on demand | Planner scaled | Planner with spot | Unit | Replicas |");
for (const s of guideCostScenarios()) {
  const p = planSpec(s.spec);
  const m = p.models[0];
  console.log(
    `  | ${s.label} | $${s.guideUsd.toLocaleString("en-US")} | $${p.cost.onDemandMonthly.toLocaleString("en-US")} | ` +
      `$${p.cost.scaledMonthly.toLocaleString("en-US")} | $${p.cost.spotMonthly.toLocaleString("en-US")} | ` +
      `${JSON.stringify(m?.unit)} | ${m?.replicas.placed} (hourly ${m?.hourlyReplicas.join("")}) |`,
  );
}
