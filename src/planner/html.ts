/**
 * The plan as one self-contained HTML page (no scripts, no external assets): an SVG drawing of
 * every GPU — one `<g class="gpu">` per GPU, its MIG slices placed on the 8 memory slots and
 * coloured by model —, per-model memory bars (weights / activations + overhead / KV / unused)
 * with KV bytes per token and the sequences that fit at the context length, and the cost
 * waterfall.
 */
import { layoutText, unitText, usd } from "./report.js";
import type { GpuLayout, Plan } from "./types.js";

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A stable colour per model name (hue from a string hash). */
export function modelColour(name: string): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return `hsl(${(h >>> 0) % 360} 65% 55%)`;
}

const GPU_W = 240;
const GPU_H = 46;
const PER_ROW = 4;
const GAP = 14;

function gpuRects(layout: GpuLayout, width: number): string {
  const rect = (x: number, w: number, fill: string, label: string, title: string) =>
    `<rect x="${x.toFixed(1)}" y="18" width="${Math.max(1, w - 1).toFixed(1)}" height="${GPU_H - 22}" fill="${fill}" stroke="#333" stroke-width="0.5"><title>${esc(title)}</title></rect>` +
    (w > 28
      ? `<text x="${(x + 3).toFixed(1)}" y="${GPU_H - 8}" font-size="8">${esc(label.length * 4.6 > w ? label.slice(0, Math.max(1, Math.floor(w / 4.6))) : label)}</text>`
      : "");
  switch (layout.mode) {
    case "unused":
      return rect(0, width, "#eee", "unused", "unused");
    case "exclusive":
      return rect(
        0,
        width,
        modelColour(layout.model),
        layout.model,
        `${layout.model} replica ${layout.replica}${layout.tp > 1 ? `, rank ${layout.rank} of TP ${layout.tp}` : ""}`,
      );
    case "mig":
      return layout.slices
        .map((s) =>
          rect(
            (s.start / 8) * width,
            (s.size / 8) * width,
            s.model === null ? "#fff" : modelColour(s.model),
            s.model === null ? `${s.profile} free` : s.model,
            `${s.profile} at slot ${s.start}: ${s.model === null ? "free" : `${s.model} replica ${s.replica}`}`,
          ),
        )
        .join("");
    case "time-slicing": {
      let x = 0;
      return layout.shares
        .map((s) => {
          const w = s.memoryFraction * width;
          const r = rect(
            x,
            w,
            modelColour(s.model),
            s.model,
            `${s.model} replica ${s.replica}: ${s.memoryFraction} of memory`,
          );
          x += w;
          return r;
        })
        .join("");
    }
  }
}

function gpusSvg(plan: Plan): string {
  const gpus = plan.nodes.flatMap((n) => n.gpus.map((g) => ({ node: n, g })));
  const rows = Math.max(1, Math.ceil(gpus.length / PER_ROW));
  const width = PER_ROW * (GPU_W + GAP);
  const height = rows * (GPU_H + GAP);
  const groups = gpus.map(({ node, g }, i) => {
    const x = (i % PER_ROW) * (GPU_W + GAP);
    const y = Math.floor(i / PER_ROW) * (GPU_H + GAP);
    const id = `${node.name}/${g.index}`;
    return (
      `<g class="gpu" data-gpu="${esc(id)}" data-mode="${g.layout.mode}" transform="translate(${x},${y})">` +
      `<rect width="${GPU_W}" height="${GPU_H}" fill="none" stroke="#666"/>` +
      `<text x="3" y="12" font-size="10" font-weight="bold">${esc(id)} ${esc(node.gpuType)}${node.migConfig ? ` · ${esc(node.migConfig)}` : ""}</text>` +
      `<title>${esc(layoutText(g.layout))}</title>` +
      gpuRects(g.layout, GPU_W) +
      "</g>"
    );
  });
  return `<svg id="gpus" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">${groups.join("")}</svg>`;
}

function memoryBars(plan: Plan): string {
  const rows = plan.models
    .filter((m) => m.memory !== null)
    .map((m) => {
      const mem = m.memory as NonNullable<typeof m.memory>;
      const total = mem.deviceBytes;
      // Encoders (embedding, rerank) keep no KV cache: what is left stays unused.
      const hasKv = mem.kvBytesPerToken > 0;
      const parts = [
        { label: "weights", bytes: mem.weightBytes, fill: "#4e79a7" },
        { label: "activations + overhead", bytes: mem.activationBytes + mem.overheadBytes, fill: "#f28e2b" },
        { label: "KV cache", bytes: hasKv ? Math.max(0, mem.kvBytes) : 0, fill: "#59a14f" },
        {
          label: "unused",
          bytes: Math.max(0, total - mem.budgetBytes) + (hasKv ? 0 : Math.max(0, mem.kvBytes)),
          fill: "#ddd",
        },
      ];
      let x = 0;
      const bars = parts
        .map((p) => {
          const w = (p.bytes / total) * 400;
          const r = `<rect class="mem-${p.label.split(" ")[0]}" x="${x.toFixed(1)}" y="0" width="${Math.max(0, w).toFixed(1)}" height="16" fill="${p.fill}"><title>${p.label}: ${(p.bytes / 1e9).toFixed(2)} GB</title></rect>`;
          x += w;
          return r;
        })
        .join("");
      return (
        `<tr><td>${esc(m.name)}</td><td>${esc(unitText(m.unit))}</td>` +
        `<td><svg class="membar" width="400" height="16">${bars}</svg></td>` +
        `<td>${(mem.weightBytes / 1e9).toFixed(1)} / ${hasKv ? (Math.max(0, mem.kvBytes) / 1e9).toFixed(1) : "0"} GB</td>` +
        `<td>${mem.kvBytesPerToken.toLocaleString("en-US")}</td>` +
        `<td>${hasKv ? `${mem.maxSequencesAtContext} × ${mem.contextTokens.toLocaleString("en-US")}` : `no KV cache; batch ${mem.maxSequencesAtContext}`}</td></tr>`
      );
    });
  return (
    `<table><thead><tr><th>model</th><th>unit</th><th>memory per GPU: <span style="color:#4e79a7">weights</span> · ` +
    `<span style="color:#f28e2b">activations + overhead</span> · <span style="color:#59a14f">KV</span> · unused</th>` +
    `<th>weights / KV</th><th>KV B/token</th><th>sequences at context</th></tr></thead><tbody>${rows.join("")}</tbody></table>`
  );
}

function waterfall(plan: Plan): string {
  const steps = plan.cost.waterfall;
  const max = Math.max(1, ...steps.map((s) => s.monthlyUsd));
  const bars = steps.map((s, i) => {
    const w = (s.monthlyUsd / max) * 420;
    return (
      `<g class="cost-step" transform="translate(0,${i * 26})"><text x="0" y="14" font-size="11">${esc(s.label)}</text>` +
      `<rect x="190" y="2" width="${w.toFixed(1)}" height="18" fill="#76b7b2"><title>${esc(s.note)}</title></rect>` +
      `<text x="${(196 + w).toFixed(1)}" y="15" font-size="11">${usd(s.monthlyUsd)}</text></g>`
    );
  });
  return `<svg id="cost" width="720" height="${steps.length * 26}" font-family="sans-serif">${bars.join("")}</svg>`;
}

export function renderHtml(plan: Plan): string {
  const legend = plan.models
    .filter((m) => m.unit !== null)
    .slice(0, 40)
    .map((m) => `<span class="key"><i style="background:${modelColour(m.name)}"></i>${esc(m.name)}</span>`)
    .join(" ");
  const problems = plan.infeasible
    .map((x) => `<li><code>${esc(x.code)}</code> ${esc(x.message)}</li>`)
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Inferplane plan: ${esc(plan.platform)}</title>
<style>
body{font-family:sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;font-size:12px}td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}
.key{display:inline-block;margin-right:10px;font-size:12px}.key i{display:inline-block;width:10px;height:10px;margin-right:4px}
.bad{color:#b00}
</style></head><body>
<h1>Plan for ${esc(plan.platform)}${plan.env ? ` (${esc(plan.env)})` : ""}</h1>
<p class="${plan.feasible ? "" : "bad"}">${plan.feasible ? "Feasible" : "Not feasible"}: ${plan.pools.reduce((s, p) => s + p.gpusUsed, 0)} of ${plan.pools.reduce((s, p) => s + p.gpus, 0)} GPUs used · ${usd(plan.cost.onDemandMonthly)}/month on demand · ${usd(plan.cost.spotMonthly)} scaled and with spot</p>
<h2>GPUs</h2>
<p>${legend}</p>
${gpusSvg(plan)}
<h2>Memory per replica</h2>
${memoryBars(plan)}
<h2>Monthly cost</h2>
${waterfall(plan)}
${problems ? `<h2 class="bad">Infeasible</h2><ul>${problems}</ul>` : ""}
</body></html>
`;
}
