/**
 * The latency–throughput curve of a sweep as a standalone SVG: two panels (TTFT and TPOT,
 * p50 and p99, ms) against output-token throughput, one point per offered load, labelled.
 * No dependencies: plain SVG text, readable in a browser or embedded in Markdown.
 */
import type { SweepReport } from "./report.js";

const W = 420;
const H = 300;
const M = { left: 56, right: 16, top: 28, bottom: 44 };

interface Series {
  name: string;
  color: string;
  values: number[];
}

function niceMax(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const n1 = (x: number) => (Math.round(x * 10) / 10).toString();

function panel(ox: number, title: string, xs: number[], labels: string[], series: Series[]): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const xMax = niceMax(Math.max(...xs.filter(Number.isFinite), 0));
  const yMax = niceMax(Math.max(...series.flatMap((s) => s.values.filter(Number.isFinite)), 0));
  const px = (x: number) => ox + M.left + (x / xMax) * pw;
  const py = (y: number) => M.top + ph - (y / yMax) * ph;
  const out: string[] = [];
  out.push(`<text x="${ox + W / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const y = (yMax * i) / 5;
    const x = (xMax * i) / 5;
    out.push(
      `<line x1="${px(0)}" y1="${py(y)}" x2="${px(xMax)}" y2="${py(y)}" stroke="#ddd"/>`,
      `<text x="${px(0) - 6}" y="${py(y) + 4}" text-anchor="end">${n1(y)}</text>`,
      `<text x="${px(x)}" y="${py(0) + 16}" text-anchor="middle">${n1(x)}</text>`,
    );
  }
  out.push(
    `<line x1="${px(0)}" y1="${py(0)}" x2="${px(xMax)}" y2="${py(0)}" stroke="#333"/>`,
    `<line x1="${px(0)}" y1="${py(0)}" x2="${px(0)}" y2="${py(yMax)}" stroke="#333"/>`,
    `<text x="${ox + M.left + pw / 2}" y="${H - 8}" text-anchor="middle">output tokens/s</text>`,
    `<text transform="translate(${ox + 14},${M.top + ph / 2}) rotate(-90)" text-anchor="middle">ms</text>`,
  );
  series.forEach((s, si) => {
    const pts = xs
      .map((x, i) => [x, s.values[i] as number] as const)
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (pts.length === 0) return;
    out.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map(([x, y]) => `${n1(px(x))},${n1(py(y))}`).join(" ")}"/>`,
    );
    for (const [x, y] of pts)
      out.push(`<circle cx="${n1(px(x))}" cy="${n1(py(y))}" r="3" fill="${s.color}"/>`);
    out.push(
      `<rect x="${ox + M.left + 8}" y="${M.top + 4 + si * 14}" width="10" height="3" fill="${s.color}"/>`,
      `<text x="${ox + M.left + 22}" y="${M.top + 9 + si * 14}">${esc(s.name)}</text>`,
    );
  });
  // Load labels beside the p50 points of the first series.
  const first = series[0];
  if (first)
    xs.forEach((x, i) => {
      const y = first.values[i] as number;
      if (Number.isFinite(x) && Number.isFinite(y))
        out.push(
          `<text x="${n1(px(x) + 4)}" y="${n1(py(y) - 6)}" fill="#555">${esc(labels[i] ?? "")}</text>`,
        );
    });
  return out.join("\n");
}

export function sweepSvg(sweep: SweepReport, title = "inferplane bench: latency vs throughput"): string {
  const xs = sweep.points.map((p) => p.target.outputTokenThroughput);
  const unit = sweep.by === "rate" ? "req/s" : "conc.";
  const labels = sweep.points.map((p) => `${Number.isFinite(p.load) ? p.load : "inf"} ${unit}`);
  const ttft = panel(0, "TTFT", xs, labels, [
    { name: "p50", color: "#1f77b4", values: sweep.points.map((p) => p.target.ttftMs.p50) },
    { name: "p99", color: "#d62728", values: sweep.points.map((p) => p.target.ttftMs.p99) },
  ]);
  const tpot = panel(W, "TPOT", xs, labels, [
    { name: "p50", color: "#1f77b4", values: sweep.points.map((p) => p.target.tpotMs.p50) },
    { name: "p99", color: "#d62728", values: sweep.points.map((p) => p.target.tpotMs.p99) },
  ]);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 24}" viewBox="0 0 ${2 * W} ${H + 24}" font-family="sans-serif" font-size="11">`,
    `<title>${esc(title)}</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<g transform="translate(0,24)">`,
    ttft,
    tpot,
    `</g>`,
    `<text x="${W}" y="16" text-anchor="middle" font-size="13">${esc(title)}</text>`,
    `</svg>`,
    "",
  ].join("\n");
}
