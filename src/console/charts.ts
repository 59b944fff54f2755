// Inline SVG charts (no chart library): a line chart of a route's recent history and a bar
// chart of usage. Colours come from the stylesheet (classes c0…c2), so both themes apply.
import { s } from "./dom.js";

const W = 320;
const H = 132;
const M = { left: 44, right: 8, top: 22, bottom: 18 };

export interface Line {
  name: string;
  values: (number | undefined)[];
}

/** 1, 2, 2.5 or 5 × a power of ten, at least `x`. */
function niceMax(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

export const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

function frame(label: string, title: string) {
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label, class: "chart" });
  svg.append(s("title", {}, label), s("text", { x: 4, y: 13, class: "t" }, title));
  return svg;
}

/** Lines over time (`times` in ms, one per value); gaps where a value is missing. */
export function lineChart(title: string, unit: string, times: number[], lines: Line[]): SVGElement {
  const latest = lines.map((l) => {
    const v = l.values.findLast((x) => x !== undefined);
    return `${l.name} ${v === undefined ? "—" : `${fmt(v)} ${unit}`}`;
  });
  const svg = frame(`${title}, latest: ${latest.join(", ")}`, `${title} (${unit})`);
  const max = niceMax(Math.max(0, ...lines.flatMap((l) => l.values.filter((v) => v !== undefined))));
  const t0 = times[0] ?? 0;
  const span = Math.max(1, (times.at(-1) ?? 0) - t0);
  const x = (t: number) => M.left + ((t - t0) / span) * (W - M.left - M.right);
  const y = (v: number) => H - M.bottom - (v / max) * (H - M.top - M.bottom);
  svg.append(
    s("line", { x1: M.left, y1: y(0), x2: W - M.right, y2: y(0), class: "axis" }),
    s("line", { x1: M.left, y1: y(max), x2: W - M.right, y2: y(max), class: "grid" }),
    s("text", { x: M.left - 4, y: y(0) + 4, "text-anchor": "end" }, "0"),
    s("text", { x: M.left - 4, y: y(max) + 4, "text-anchor": "end" }, fmt(max)),
    s("text", { x: M.left, y: H - 3 }, `−${Math.round(span / 60_000) || "<1"} min`),
    s("text", { x: W - M.right, y: H - 3, "text-anchor": "end" }, "now"),
  );
  lines.forEach((l, i) => {
    svg.append(
      s(
        "text",
        { x: W - M.right - (lines.length - 1 - i) * 34, y: 13, "text-anchor": "end", class: `c${i}` },
        l.name,
      ),
    );
    let run: string[] = [];
    const flush = () => {
      if (run.length === 1) {
        const [px, py] = (run[0] as string).split(",");
        svg.append(s("circle", { cx: px ?? 0, cy: py ?? 0, r: 2, class: `c${i}` }));
      } else if (run.length > 1) svg.append(s("polyline", { points: run.join(" "), class: `c${i}` }));
      run = [];
    };
    l.values.forEach((v, j) => {
      if (v === undefined) flush();
      else run.push(`${x(times[j] ?? t0).toFixed(1)},${y(v).toFixed(1)}`);
    });
    flush();
  });
  return svg;
}

/** One horizontal bar per label. */
export function barChart(title: string, unit: string, bars: { label: string; value: number }[]): SVGElement {
  const row = 18;
  const height = M.top + bars.length * row + 4;
  const svg = frame(`${title}: ${bars.map((b) => `${b.label} ${b.value} ${unit}`).join(", ")}`, title);
  svg.setAttribute("viewBox", `0 0 ${W * 2} ${height}`);
  const max = niceMax(Math.max(0, ...bars.map((b) => b.value)));
  const left = 150;
  const width = W * 2 - left - 90;
  bars.forEach((b, i) => {
    const y = M.top + i * row;
    svg.append(
      s(
        "text",
        { x: left - 6, y: y + 12, "text-anchor": "end" },
        b.label.length > 24 ? `${b.label.slice(0, 23)}…` : b.label,
      ),
      s("rect", {
        x: left,
        y: y + 2,
        width: Math.max(1, (b.value / max) * width).toFixed(1),
        height: row - 6,
        class: "c0",
      }),
      s("text", { x: left + (b.value / max) * width + 6, y: y + 12 }, `${b.value.toLocaleString()} ${unit}`),
    );
  });
  return svg;
}
