// The console page: polls /console/api/state for the live view and wires the other views
// (src/console/*.ts, one module each). No framework, no third-party code: the DOM is built with
// textContent only (dom.ts), so nothing the gateway returns is ever parsed as HTML.
import type { ConsoleState } from "../gateway/console/source.js";
import "./chat.js";
import { $, authHeaders, h, session, setStatus } from "./dom.js";
import { loadKeys } from "./keys.js";
import { renderLive } from "./live.js";
import { loadCollections } from "./rag.js";
import { loadReports, loadSpec } from "./reports.js";
import { initUsage } from "./usage.js";

const POLL_MS = 1500;
const VIEWS = ["live", "spec", "chat", "rag", "keys", "usage", "reports"];
let state: ConsoleState | undefined;

const onShow: Record<string, () => unknown> = {
  spec: () => loadSpec(state),
  rag: loadCollections,
  keys: () => state?.authMode === "keys" && loadKeys(),
  usage: initUsage,
  reports: loadReports,
};

function show(view: string) {
  for (const b of document.querySelectorAll<HTMLButtonElement>("nav button")) {
    if (b.dataset.view === view) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== view;
  void onShow[view]?.();
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

$("signin").addEventListener("submit", (e) => {
  e.preventDefault();
  session.setToken($<HTMLInputElement>("token").value.trim());
  $<HTMLInputElement>("token").value = "";
  $("signin").hidden = true;
  void poll();
});

function apply(s: ConsoleState) {
  renderLive(s);
  const select = $<HTMLSelectElement>("chat-route");
  const names = s.routes.map((r) => r.name);
  if ([...select.options].map((o) => o.value).join() !== names.join()) {
    const keep = select.value;
    select.replaceChildren(...names.map((n) => h("option", { value: n }, n)));
    if (names.includes(keep)) select.value = keep;
  }
  for (const id of ["keys", "usage"]) {
    $(`${id}-off`).hidden = s.authMode === "keys";
    $(`${id}-on`).hidden = s.authMode !== "keys";
  }
}

async function poll() {
  try {
    const res = await fetch("/console/api/state", { headers: authHeaders() });
    if (res.status === 401) {
      $("signin").hidden = false;
      setStatus(session.token ? "The admin token was refused." : "Sign in with the admin token.");
      return;
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    state = (await res.json()) as ConsoleState;
    apply(state);
    setStatus(`Live · updated ${new Date(state.generatedAt).toLocaleTimeString()}`);
  } catch (err) {
    setStatus(`Gateway unreachable (${(err as Error).message}); retrying`);
  }
}
async function loop() {
  await poll();
  setTimeout(loop, POLL_MS);
}

void loop();
