// The live view: routes → pools → endpoints, each route's traffic charts, the spec in force.
import type { ConsoleState, EndpointView, PoolView, RouteView } from "../gateway/console/source.js";
import { type Line, lineChart } from "./charts.js";
import { $, h } from "./dom.js";

const pct = (x: number | undefined) => (x === undefined ? "—" : `${Math.round(x * 100)}%`);
const num = (x: number | undefined) => (x === undefined ? "—" : String(x));

function endpointRow(ep: EndpointView): HTMLElement {
  return h(
    "tr",
    { "data-endpoint": ep.url, "data-health": ep.health },
    h("td", { class: "url" }, ep.url),
    h("td", { class: ep.health }, ep.health),
    h("td", {}, ep.reason ?? ""),
    h("td", {}, String(ep.inFlight)),
    h("td", {}, `${num(ep.running)} / ${num(ep.waiting)}`),
    h("td", {}, pct(ep.kvUsage)),
    h("td", {}, pct(ep.prefixHitRate)),
    h("td", {}, ep.kind),
  );
}

const HEAD = ["Endpoint", "Health", "Reason", "In flight", "Running / waiting", "KV", "Prefix hits", "Kind"];

function poolBlock(pool: PoolView, weight: number | undefined): HTMLElement {
  const title = `Pool ${pool.name} · ${pool.engine}${weight === undefined ? "" : ` · weight ${weight}`} · ${pool.queued} queued`;
  return h(
    "div",
    { "data-pool": pool.name },
    h("h4", {}, title),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        {},
        h("caption", { class: "sr" }, `Endpoints of pool ${pool.name}`),
        h("thead", {}, h("tr", {}, ...HEAD.map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, ...pool.endpoints.map(endpointRow)),
      ),
    ),
  );
}

type P = { p50: number; p95: number; p99: number } | undefined;

function trafficLine(r: RouteView): string {
  const t = r.traffic;
  if (!t) return "Traffic: not measured yet (figures appear a few seconds after the console opens)";
  const p = (x: P) =>
    x ? `p50 ${x.p50.toFixed(0)} / p95 ${x.p95.toFixed(0)} / p99 ${x.p99.toFixed(0)} ms` : "—";
  return `Last ${t.windowSeconds}s: ${t.requestsPerSecond.toFixed(2)} req/s, ${(t.errorRate * 100).toFixed(1)}% errors, TTFT ${p(t.ttftMs)}, ITL ${p(t.itlMs)}`;
}

/** Requests/s, error rate, TTFT and ITL percentiles over the route's recent history. */
function charts(r: RouteView): HTMLElement {
  const pts = r.series ?? [];
  const times = pts.map((p) => Date.parse(p.at));
  const q = (get: (x: (typeof pts)[number]) => P): Line[] =>
    (["p50", "p95", "p99"] as const).map((k) => ({ name: k, values: pts.map((p) => get(p)?.[k]) }));
  return h(
    "div",
    { class: "charts", "data-charts": r.name },
    lineChart("Requests", "req/s", times, [{ name: "rate", values: pts.map((p) => p.requestsPerSecond) }]),
    lineChart("Errors", "%", times, [{ name: "errors", values: pts.map((p) => p.errorRate * 100) }]),
    lineChart(
      "TTFT",
      "ms",
      times,
      q((p) => p.ttftMs),
    ),
    lineChart(
      "ITL",
      "ms",
      times,
      q((p) => p.itlMs),
    ),
  );
}

export function specLine(s: ConsoleState): string {
  const spec = `Spec “${s.spec.name}” loaded ${new Date(s.spec.loadedAt).toLocaleString()}`;
  const rej = s.spec.lastRejectedReload;
  return rej
    ? `${spec}. Last rejected reload ${new Date(rej.at).toLocaleString()}: ${rej.error}`
    : `${spec}. No rejected reload.`;
}

export function renderLive(s: ConsoleState) {
  $("spec").textContent = specLine(s);
  const pools = new Map(s.pools.map((p) => [p.name, p]));
  const used = new Set<string>();
  const blocks = s.routes.map((r) => {
    const meta = [`balancer ${r.balancer}`];
    if (r.aliases.length) meta.push(`aliases ${r.aliases.join(", ")}`);
    if (r.fallbacks.length) meta.push(`fallbacks ${r.fallbacks.join(", ")}`);
    return h(
      "section",
      { class: "route", "data-route": r.name, "aria-label": `Route ${r.name}` },
      h("h3", {}, `Route ${r.name}`),
      h("p", { class: "meta" }, meta.join(" · ")),
      h("p", { class: "meta" }, trafficLine(r)),
      charts(r),
      ...r.targets.map((t) => {
        used.add(t.pool);
        const pool = pools.get(t.pool);
        return pool ? poolBlock(pool, t.weight) : h("p", {}, `Pool ${t.pool}: not running`);
      }),
    );
  });
  const orphans = s.pools.filter((p) => !used.has(p.name));
  if (orphans.length) {
    blocks.push(
      h(
        "section",
        { class: "route", "aria-label": "Pools without a route" },
        h("h3", {}, "Pools without a route"),
        ...orphans.map((p) => poolBlock(p, undefined)),
      ),
    );
  }
  $("routes").replaceChildren(...blocks);
}
