// The console page: polls /console/api/state, runs chats against the gateway's own API and
// manages keys through /admin/*. No framework, no third-party code: the DOM is built with
// textContent only, so nothing the gateway returns is ever parsed as HTML.
import type { ConsoleState, EndpointView, PoolView, RouteView } from "../gateway/console/source.js";

const POLL_MS = 1500;
const TOKEN = "inferplane.console.token";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function h(tag: string, attrs: Record<string, string> = {}, ...kids: (Node | string)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const kid of kids) el.append(kid);
  return el;
}

let token = sessionStorage.getItem(TOKEN) ?? "";
let state: ConsoleState | undefined;

function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return token ? { authorization: `Bearer ${token}`, ...extra } : extra;
}

function setStatus(text: string) {
  $("status").textContent = text;
}

// ------------------------------------------------------------------ views and theme
function show(view: string) {
  for (const b of document.querySelectorAll<HTMLButtonElement>("nav button")) {
    if (b.dataset.view === view) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
  for (const v of ["live", "chat", "keys"]) $(`view-${v}`).hidden = v !== view;
  if (view === "keys") void loadKeys();
}
for (const b of document.querySelectorAll<HTMLButtonElement>("nav button")) {
  b.addEventListener("click", () => show(b.dataset.view ?? "live"));
}

const root = document.documentElement;
const savedTheme = localStorage.getItem("inferplane.console.theme");
if (savedTheme) root.dataset.theme = savedTheme;
$("theme").addEventListener("click", () => {
  const dark = root.dataset.theme
    ? root.dataset.theme === "dark"
    : matchMedia("(prefers-color-scheme: dark)").matches;
  root.dataset.theme = dark ? "light" : "dark";
  localStorage.setItem("inferplane.console.theme", root.dataset.theme);
});

// ------------------------------------------------------------------ sign-in
$("signin").addEventListener("submit", (e) => {
  e.preventDefault();
  token = $<HTMLInputElement>("token").value.trim();
  sessionStorage.setItem(TOKEN, token);
  $<HTMLInputElement>("token").value = "";
  $("signin").hidden = true;
  void poll();
});

// ------------------------------------------------------------------ live view
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

function poolBlock(pool: PoolView, weight: number | undefined): HTMLElement {
  const head = [
    "Endpoint",
    "Health",
    "Reason",
    "In flight",
    "Running / waiting",
    "KV",
    "Prefix hits",
    "Kind",
  ];
  return h(
    "div",
    { "data-pool": pool.name },
    h(
      "h4",
      {},
      `Pool ${pool.name} · ${pool.engine}${weight === undefined ? "" : ` · weight ${weight}`} · ${pool.queued} queued`,
    ),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        {},
        h("caption", { class: "sr" }, `Endpoints of pool ${pool.name}`),
        h("thead", {}, h("tr", {}, ...head.map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, ...pool.endpoints.map(endpointRow)),
      ),
    ),
  );
}

function trafficLine(r: RouteView): string {
  const t = r.traffic;
  if (!t) return "Traffic: not measured by this gateway yet";
  const p = (x: { p50: number; p95: number; p99: number } | undefined) =>
    x ? `p50 ${x.p50.toFixed(0)} / p95 ${x.p95.toFixed(0)} / p99 ${x.p99.toFixed(0)} ms` : "—";
  return `Last ${t.windowSeconds}s: ${t.requestsPerSecond.toFixed(2)} req/s, ${(t.errorRate * 100).toFixed(1)}% errors, TTFT ${p(t.ttftMs)}, ITL ${p(t.itlMs)}`;
}

function renderLive(s: ConsoleState) {
  const spec = `Spec “${s.spec.name}” loaded ${new Date(s.spec.loadedAt).toLocaleString()}`;
  const rej = s.spec.lastRejectedReload;
  $("spec").textContent = rej
    ? `${spec}. Last rejected reload ${new Date(rej.at).toLocaleString()}: ${rej.error}`
    : `${spec}. No rejected reload.`;
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

  const select = $<HTMLSelectElement>("chat-route");
  const names = s.routes.map((r) => r.name);
  if ([...select.options].map((o) => o.value).join() !== names.join()) {
    const keep = select.value;
    select.replaceChildren(...names.map((n) => h("option", { value: n }, n)));
    if (names.includes(keep)) select.value = keep;
  }
  $("keys-off").hidden = s.authMode === "keys";
  $("keys-on").hidden = s.authMode !== "keys";
}

async function poll() {
  try {
    const res = await fetch("/console/api/state", { headers: authHeaders() });
    if (res.status === 401) {
      $("signin").hidden = false;
      setStatus(token ? "The admin token was refused." : "Sign in with the admin token.");
      return;
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    state = (await res.json()) as ConsoleState;
    renderLive(state);
    setStatus(`Live · updated ${new Date(state.generatedAt).toLocaleTimeString()}`);
  } catch (err) {
    setStatus(`Gateway unreachable (${(err as Error).message}); retrying`);
  }
}
async function loop() {
  await poll();
  setTimeout(loop, POLL_MS);
}

// ------------------------------------------------------------------ chat playground
function timing(label: string, value: string): HTMLElement {
  return h("div", {}, h("dt", {}, label), h("dd", { "data-timing": label }, value));
}

$("chat").addEventListener("submit", async (e) => {
  e.preventDefault();
  const out = $("chat-out");
  const timings = $("chat-timings");
  out.textContent = "";
  timings.replaceChildren();
  const key = $<HTMLInputElement>("chat-key").value.trim();
  const t0 = performance.now();
  let first = 0;
  let pieces = 0;
  let usage: { completion_tokens?: number } | undefined;
  try {
    const res = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({
        model: $<HTMLSelectElement>("chat-route").value,
        messages: [{ role: "user", content: $<HTMLTextAreaElement>("chat-prompt").value }],
        max_tokens: Number($<HTMLInputElement>("chat-max").value) || 64,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    const overhead = res.headers.get("x-inferplane-overhead-ms");
    if (!res.ok || !res.body) {
      const err = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
      out.textContent = `Error ${res.status}: ${err.error?.message ?? res.statusText}`;
      return;
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      const lines = buf.split("\n");
      buf = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data) as {
          choices?: { delta?: { content?: string } }[];
          usage?: { completion_tokens?: number };
        };
        const text = chunk.choices?.[0]?.delta?.content;
        if (text) {
          if (!first) first = performance.now();
          pieces++;
          out.append(text);
        }
        if (chunk.usage) usage = chunk.usage;
      }
    }
    const end = performance.now();
    const tokens = usage?.completion_tokens ?? pieces;
    const decodeS = (end - (first || end)) / 1000;
    timings.replaceChildren(
      timing("TTFT", first ? `${(first - t0).toFixed(0)} ms` : "—"),
      timing("Tokens", String(tokens)),
      timing("Tokens/s", decodeS > 0 && tokens > 1 ? ((tokens - 1) / decodeS).toFixed(1) : "—"),
      timing("Total", `${(end - t0).toFixed(0)} ms`),
      timing("Gateway overhead", overhead ? `${Number(overhead).toFixed(2)} ms` : "—"),
    );
  } catch (err) {
    out.textContent = `Failed: ${(err as Error).message}`;
  }
});

// ------------------------------------------------------------------ keys
interface KeyView {
  id: string;
  name: string;
  models?: string[];
  createdAt: string;
  revokedAt?: string;
  source: string;
}

async function admin(path: string, init: RequestInit = {}): Promise<unknown> {
  const res = await fetch(path, {
    ...init,
    headers: authHeaders(init.body ? { "content-type": "application/json" } : {}),
  });
  const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  if (!res.ok) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
  return body;
}

async function loadKeys() {
  if (state?.authMode !== "keys") return;
  try {
    const list = (await admin("/admin/keys")) as { data: KeyView[] };
    $("keys").replaceChildren(
      ...list.data.map((k) => {
        const revoke = h("button", { type: "button", "aria-label": `Revoke key ${k.name}` }, "Revoke");
        revoke.addEventListener("click", async () => {
          if (!confirm(`Revoke key ${k.name}? Requests with it fail at once.`)) return;
          await admin(`/admin/keys/${encodeURIComponent(k.id)}/revoke`, { method: "POST" }).catch((err) =>
            setStatus(`Revoke failed: ${(err as Error).message}`),
          );
          void loadKeys();
        });
        return h(
          "tr",
          { "data-key": k.name },
          h("td", {}, k.name),
          h("td", {}, k.id),
          h("td", {}, (k.models ?? ["*"]).join(", ")),
          h("td", {}, new Date(k.createdAt).toLocaleString()),
          h("td", {}, k.revokedAt ? "revoked" : "active"),
          h("td", {}, k.revokedAt || k.source !== "store" ? "" : revoke),
        );
      }),
    );
  } catch (err) {
    setStatus(`Keys: ${(err as Error).message}`);
  }
}

$("key-create").addEventListener("submit", async (e) => {
  e.preventDefault();
  const secret = $("key-secret");
  const rpm = Number($<HTMLInputElement>("key-rpm").value);
  const models = $<HTMLInputElement>("key-models")
    .value.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  try {
    const created = (await admin("/admin/keys", {
      method: "POST",
      body: JSON.stringify({ name: $<HTMLInputElement>("key-name").value, models, ...(rpm ? { rpm } : {}) }),
    })) as { key: string; name: string };
    const hide = h("button", { type: "button" }, "I have copied it");
    hide.addEventListener("click", () => {
      secret.replaceChildren();
      secret.hidden = true;
    });
    secret.replaceChildren(
      h("p", {}, `Key “${created.name}” created. Copy it now: it is shown once and never again.`),
      h("code", { id: "new-key" }, created.key),
      h("p", {}, hide),
    );
    secret.hidden = false;
    $<HTMLInputElement>("key-name").value = "";
    void loadKeys();
  } catch (err) {
    secret.replaceChildren(`Could not create the key: ${(err as Error).message}`);
    secret.hidden = false;
  }
});

void loop();
