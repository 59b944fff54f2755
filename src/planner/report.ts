/**
 * The plan as text: a terminal report (padded tables) and Markdown. Both show the same rows;
 * pure functions of the plan.
 */
import { renderTable } from "../report/table.js";
import { gb } from "./memory.js";
import { describe } from "./own-memory.js";
import type { GpuLayout, ModelPlan, NodePlan, Plan, PlanUnit } from "./types.js";

export const usd = (x: number): string => `$${Math.round(x).toLocaleString("en-US")}`;
const ms = (s: number | undefined) =>
  s === undefined || Number.isNaN(s) ? "-" : `${Math.round(s * 1000)} ms`;

export function unitText(u: PlanUnit | null): string {
  if (u === null) return "none";
  if (u.kind === "gpu") return u.tp === 1 ? "1 GPU" : `${u.tp} GPUs (TP ${u.tp})`;
  if (u.kind === "mig") return `MIG ${u.profile}`;
  return `1/${u.sharesPerGpu} ${u.mode} share`;
}

export function layoutText(l: GpuLayout): string {
  switch (l.mode) {
    case "unused":
      return "unused";
    case "exclusive":
      return `${l.model}#${l.replica}${l.tp > 1 ? ` rank ${l.rank}/${l.tp}` : ""}`;
    case "mig":
      return l.slices
        .map((s) => `${s.profile}@${s.start}=${s.model === null ? "free" : `${s.model}#${s.replica}`}`)
        .join(" ");
    case "time-slicing":
      return l.shares.map((s) => `${s.model}#${s.replica}(${s.memoryFraction})`).join(" ");
  }
}

interface Section {
  title: string;
  header: string[];
  rows: string[][];
}

function modelRows(models: readonly ModelPlan[]): string[][] {
  return models.map((m) => [
    m.name,
    `${m.catalogId ?? "?"} ${m.weightFormat}`,
    unitText(m.unit),
    m.resourceName ? `${m.resourceName}: ${m.resourceCount}` : "-",
    String(m.gpuMemoryUtilization),
    `${m.replicas.min}/${m.replicas.placed}/${m.replicas.max}`,
    m.latency ? `${ms(m.latency.ttftP)} / ${ms(m.latency.tpotP)}` : "-",
    m.memory ? m.memory.kvBytesPerToken.toLocaleString("en-US") : "-",
    m.memory ? String(m.memory.maxSequencesAtContext) : "-",
  ]);
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;

/** The memory breakdown per rank of models that carry a speculative-decoding draft model. */
function draftSections(models: readonly ModelPlan[]): Section[] {
  const rows = models.flatMap((m) => {
    const f = m.memory;
    if (!f?.draft) return [];
    return [
      [
        m.name,
        f.draft.model,
        gib(f.weightBytes),
        gib(f.draft.weightBytes),
        gib(f.activationBytes + f.overheadBytes),
        gib(f.kvBytes),
        `${f.kvBytesPerTokenPerRank.toLocaleString("en-US")} + ${f.draft.kvBytesPerTokenPerRank.toLocaleString("en-US")}`,
        f.kvTokens.toLocaleString("en-US"),
      ],
    ];
  });
  if (rows.length === 0) return [];
  return [
    {
      title: "SPECULATIVE DRAFT MEMORY (PER RANK)",
      header: [
        "NAME",
        "DRAFT",
        "WEIGHTS",
        "DRAFT WEIGHTS",
        "ACTIVATIONS+OVERHEAD",
        "KV POOL",
        "KV B/TOKEN (TARGET + DRAFT)",
        "KV TOKENS",
      ],
      rows,
    },
  ];
}

function nodeRows(nodes: readonly NodePlan[]): string[][] {
  return nodes.flatMap((n) =>
    n.gpus.map((g) => [`${n.name}/${g.index}`, n.migConfig ?? "-", g.layout.mode, layoutText(g.layout)]),
  );
}

function sections(plan: Plan): Section[] {
  const pct = plan.models[0]?.latency?.percentile ?? 99;
  return [
    {
      title: "MODELS",
      header: [
        "NAME",
        "MODEL",
        "UNIT",
        "RESOURCE",
        "GPU MEM UTIL",
        "REPLICAS MIN/PLACED/MAX",
        `TTFT/TPOT p${pct}`,
        "KV B/TOKEN",
        "SEQS AT CONTEXT",
      ],
      rows: modelRows(plan.models),
    },
    {
      title: "POOLS",
      header: ["NAME", "GPU", "GPUS", "USED", "SHARING", "PACKING", "$/GPU-HOUR", "SPOT"],
      rows: plan.pools.map((p) => [
        p.name,
        p.gpuType,
        String(p.gpus),
        String(p.gpusUsed),
        p.sharing,
        p.packing,
        p.pricePerGpuHour.toFixed(2),
        p.spot ? `yes (−${Math.round(p.spotDiscount * 100)}%)` : "no",
      ]),
    },
    { title: "GPUS", header: ["GPU", "MIG CONFIG", "MODE", "LAYOUT"], rows: nodeRows(plan.nodes) },
    ...draftSections(plan.models),
    {
      title: "MONTHLY COST",
      header: ["STEP", "USD", "NOTE"],
      rows: plan.cost.waterfall.map((c) => [c.label, usd(c.monthlyUsd), c.note]),
    },
  ];
}

export function renderText(plan: Plan): string {
  const out: string[] = [
    `${plan.feasible ? "✔" : "✖"} plan for ${plan.platform}${plan.env ? ` (environment ${plan.env})` : ""}: ` +
      `${plan.pools.reduce((s, p) => s + p.gpusUsed, 0)} of ${plan.pools.reduce((s, p) => s + p.gpus, 0)} GPUs used, ` +
      `${usd(plan.cost.onDemandMonthly)}/month on demand, ${usd(plan.cost.spotMonthly)} scaled and with spot`,
  ];
  for (const s of sections(plan)) {
    out.push("", s.title, s.rows.length ? renderTable(s.header, s.rows) : "(none)");
  }
  const notes = [
    ...plan.models.flatMap((m) => m.notes.map((n) => `${m.name}: ${n}`)),
    ...idleMigNotes(plan),
    ...engineMemoryNotes(plan),
  ];
  if (notes.length) out.push("", "NOTES", ...notes.map((n) => `- ${n}`));
  if (plan.infeasible.length) {
    out.push("", "INFEASIBLE", ...plan.infeasible.map((x) => `- [${x.code}] ${x.message}`));
  }
  return `${out.join("\n")}\n`;
}

const mdCell = (s: string) => s.replace(/\|/g, "\\|");

export function renderMarkdown(plan: Plan): string {
  const out: string[] = [
    `# Plan for ${plan.platform}${plan.env ? ` (${plan.env})` : ""}`,
    "",
    `${plan.feasible ? "Feasible" : "**Not feasible**"}: ${plan.pools.reduce((s, p) => s + p.gpusUsed, 0)} of ` +
      `${plan.pools.reduce((s, p) => s + p.gpus, 0)} GPUs used; ${usd(plan.cost.onDemandMonthly)} per month on demand, ` +
      `${usd(plan.cost.scaledMonthly)} scaled by the daily profile, ${usd(plan.cost.spotMonthly)} with spot.`,
  ];
  for (const s of sections(plan)) {
    out.push("", `## ${s.title.charAt(0)}${s.title.slice(1).toLowerCase()}`, "");
    out.push(`| ${s.header.map(mdCell).join(" | ")} |`, `|${s.header.map(() => "---").join("|")}|`);
    for (const r of s.rows) out.push(`| ${r.map(mdCell).join(" | ")} |`);
  }
  const notes = [
    ...plan.models.flatMap((m) => m.notes.map((n) => `${m.name}: ${n}`)),
    ...idleMigNotes(plan),
    ...engineMemoryNotes(plan),
  ];
  if (notes.length) out.push("", "## Notes", "", ...notes.map((n) => `- ${n}`));
  if (plan.infeasible.length) {
    out.push("", "## Infeasible", "", ...plan.infeasible.map((x) => `- \`${x.code}\` ${x.message}`));
  }
  return `${out.join("\n")}\n`;
}

/** MIG instances the layouts create that no model uses: paid for, idle. */
/** What each replica sized by its own engine takes (llama.cpp: GGUF file + KV of every slot). */
function engineMemoryNotes(plan: Plan): string[] {
  return (plan.engineMemory ?? []).map(
    (e) =>
      `${e.model}: one replica needs ${describe(e)}` +
      (e.limitBytes === undefined ? "" : `; resources.memory ${gb(e.limitBytes)}`),
  );
}

function idleMigNotes(plan: Plan): string[] {
  const byPool = new Map<string, Map<string, number>>();
  for (const n of plan.nodes)
    for (const g of n.gpus)
      if (g.layout.mode === "mig")
        for (const sl of g.layout.slices)
          if (sl.model === null) {
            const m = byPool.get(n.pool) ?? new Map<string, number>();
            m.set(sl.profile, (m.get(sl.profile) ?? 0) + 1);
            byPool.set(n.pool, m);
          }
  return [...byPool].map(
    ([pool, m]) =>
      `pool ${pool}: ${[...m]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([p, k]) => `${k} × ${p}`)
        .join(
          ", ",
        )} MIG instances are laid out but no model uses them (change the layouts, or give models these profiles)`,
  );
}
