/**
 * Structural checks for rendered artefacts that no Kubernetes schema covers: Grafana dashboard
 * JSON (the fields Grafana needs to import a dashboard), the OpenTelemetry collector config
 * (every component a pipeline names is defined; memory_limiter first), and docker-compose files
 * (every service a service depends on exists; named volumes are declared). Each returns a list
 * of problems, empty when fine.
 */

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);

/** Panel types of Grafana 11's core panel plugins. */
const PANEL_TYPES = new Set([
  "timeseries",
  "gauge",
  "stat",
  "bargauge",
  "table",
  "heatmap",
  "text",
  "row",
  "barchart",
  "piechart",
  "histogram",
]);

export function checkDashboard(json: unknown): string[] {
  const out: string[] = [];
  if (!isPlain(json)) return ["a dashboard is a JSON object"];
  if (typeof json.title !== "string" || json.title === "") out.push("title: required");
  if (typeof json.uid !== "string" || !/^[A-Za-z0-9_-]{1,40}$/.test(json.uid))
    out.push("uid: 1–40 of [A-Za-z0-9_-]");
  if (typeof json.schemaVersion !== "number") out.push("schemaVersion: required number");
  const vars = isPlain(json.templating) && Array.isArray(json.templating.list) ? json.templating.list : [];
  const varNames = new Set(vars.flatMap((v) => (isPlain(v) && typeof v.name === "string" ? [v.name] : [])));
  if (!Array.isArray(json.panels) || json.panels.length === 0) return [...out, "panels: at least one"];
  const ids = new Set<number>();
  json.panels.forEach((p, i) => {
    const at = `panels[${i}]`;
    if (!isPlain(p)) {
      out.push(`${at}: object`);
      return;
    }
    if (typeof p.id !== "number") out.push(`${at}.id: number`);
    else if (ids.has(p.id)) out.push(`${at}.id: ${p.id} repeated`);
    else ids.add(p.id);
    if (typeof p.type !== "string" || !PANEL_TYPES.has(p.type))
      out.push(`${at}.type: unknown panel type ${String(p.type)}`);
    if (typeof p.title !== "string") out.push(`${at}.title: string`);
    const g = p.gridPos;
    if (
      !isPlain(g) ||
      !["h", "w", "x", "y"].every((k) => typeof g[k] === "number") ||
      Number(g.x) + Number(g.w) > 24
    ) {
      out.push(`${at}.gridPos: h, w, x, y numbers within 24 columns`);
    }
    const targets = Array.isArray(p.targets) ? p.targets : [];
    if (p.type !== "row" && p.type !== "text" && targets.length === 0)
      out.push(`${at}.targets: at least one`);
    const refIds = new Set<string>();
    targets.forEach((t, j) => {
      if (!isPlain(t) || typeof t.expr !== "string" || t.expr === "") {
        out.push(`${at}.targets[${j}].expr: required`);
        return;
      }
      if (typeof t.refId !== "string" || refIds.has(t.refId))
        out.push(`${at}.targets[${j}].refId: unique string`);
      else refIds.add(t.refId);
      for (const m of t.expr.matchAll(/\$(?:\{)?([A-Za-z_][A-Za-z0-9_]*)/g)) {
        const name = m[1] ?? "";
        if (!name.startsWith("__") && !varNames.has(name))
          out.push(`${at}.targets[${j}].expr: unknown variable $${name}`);
      }
    });
  });
  return out;
}

/** A dashboard expression with Grafana's variables replaced, so Prometheus can parse it. */
export function concreteExpr(expr: string, namespace: string): string {
  return expr
    .replace(/\$__rate_interval|\$__interval|\$\{__rate_interval\}/g, "5m")
    .replace(/\$\{?namespace\}?/g, namespace);
}

export function checkOtelConfig(config: unknown): string[] {
  const out: string[] = [];
  if (!isPlain(config) || !isPlain(config.service) || !isPlain(config.service.pipelines))
    return ["service.pipelines: required"];
  const defined = (section: string) =>
    new Set(isPlain(config[section]) ? Object.keys(config[section] as Plain) : []);
  const components: OtelComponents = {
    receivers: defined("receivers"),
    processors: defined("processors"),
    exporters: defined("exporters"),
  };
  const extensions = defined("extensions");
  for (const e of Array.isArray(config.service.extensions) ? config.service.extensions : []) {
    if (!extensions.has(String(e))) out.push(`service.extensions: ${String(e)} is not defined`);
  }
  for (const [name, p] of Object.entries(config.service.pipelines)) {
    if (!/^(traces|metrics|logs)(\/.+)?$/.test(name))
      out.push(`pipeline ${name}: type must be traces, metrics or logs`);
    if (isPlain(p)) checkPipeline(name, p, components, out);
  }
  return out;
}

/** The collector's components by section, as the config defines them. */
interface OtelComponents {
  receivers: Set<string>;
  processors: Set<string>;
  exporters: Set<string>;
}

function checkPipeline(name: string, p: Plain, defined: OtelComponents, out: string[]): void {
  const list = (k: string) => (Array.isArray(p[k]) ? (p[k] as unknown[]).map(String) : []);
  if (list("receivers").length === 0) out.push(`pipeline ${name}: no receivers`);
  if (list("exporters").length === 0) out.push(`pipeline ${name}: no exporters`);
  for (const r of list("receivers"))
    if (!defined.receivers.has(r)) out.push(`pipeline ${name}: receiver ${r} is not defined`);
  for (const x of list("processors"))
    if (!defined.processors.has(x)) out.push(`pipeline ${name}: processor ${x} is not defined`);
  for (const x of list("exporters"))
    if (!defined.exporters.has(x)) out.push(`pipeline ${name}: exporter ${x} is not defined`);
  const procs = list("processors");
  if (procs.includes("memory_limiter") && procs[0] !== "memory_limiter")
    out.push(`pipeline ${name}: memory_limiter must come first`);
}

export function checkCompose(doc: unknown): string[] {
  const out: string[] = [];
  if (!isPlain(doc) || !isPlain(doc.services)) return ["services: required"];
  const services = doc.services;
  const volumes = new Set(isPlain(doc.volumes) ? Object.keys(doc.volumes) : []);
  for (const [name, s] of Object.entries(services)) {
    if (isPlain(s)) checkComposeService(name, s, services, volumes, out);
  }
  return out;
}

function checkComposeService(
  name: string,
  s: Plain,
  services: Plain,
  volumes: Set<string>,
  out: string[],
): void {
  if (typeof s.image !== "string" && !isPlain(s.build)) out.push(`${name}: image or build required`);
  const deps = Array.isArray(s.depends_on)
    ? s.depends_on.map(String)
    : isPlain(s.depends_on)
      ? Object.keys(s.depends_on)
      : [];
  for (const d of deps) if (!(d in services)) out.push(`${name}: depends_on ${d}, which is not a service`);
  for (const v of Array.isArray(s.volumes) ? s.volumes.map(String) : []) {
    const src = v.split(":")[0] ?? "";
    if (!src.startsWith(".") && !src.startsWith("/") && !volumes.has(src))
      out.push(`${name}: volume ${src} is not declared`);
  }
  if (isPlain(s.depends_on)) checkHealthyWaits(name, s.depends_on, services, out);
}

/** `condition: service_healthy` needs a healthcheck on the service waited for. */
function checkHealthyWaits(name: string, dependsOn: Plain, services: Plain, out: string[]): void {
  for (const [d, cond] of Object.entries(dependsOn)) {
    const target = services[d];
    if (
      isPlain(cond) &&
      cond.condition === "service_healthy" &&
      isPlain(target) &&
      !isPlain(target.healthcheck)
    ) {
      out.push(`${name}: waits for ${d} to be healthy, but ${d} has no healthcheck`);
    }
  }
}
