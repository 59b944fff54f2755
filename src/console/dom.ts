// The page's small toolkit: elements built with textContent only (nothing the gateway returns
// is parsed as HTML), the admin token of this tab, and fetch helpers that turn the gateway's
// OpenAI-shaped errors into messages.
const TOKEN = "inferplane.console.token";
const SVG = "http://www.w3.org/2000/svg";

export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
export const value = (id: string) => $<HTMLInputElement>(id).value.trim();

export function h(tag: string, attrs: Record<string, string> = {}, ...kids: (Node | string)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...kids);
  return el;
}

export function s(tag: string, attrs: Record<string, string | number> = {}, ...kids: (Node | string)[]) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...kids);
  return el;
}

/** A header row and body rows, each cell text or an element. */
export function table(caption: string, head: string[], rows: (string | Node)[][]): HTMLElement {
  return h(
    "div",
    { class: "scroll" },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, ...head.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c))))),
    ),
  );
}

export const session = {
  token: sessionStorage.getItem(TOKEN) ?? "",
  setToken(t: string) {
    this.token = t;
    sessionStorage.setItem(TOKEN, t);
  },
};

export function authHeaders(extra: Record<string, string> = {}, key = session.token): Record<string, string> {
  return key ? { authorization: `Bearer ${key}`, ...extra } : extra;
}

export function setStatus(text: string) {
  $("status").textContent = text;
}

/** A JSON call; `key` is the admin token by default, an API key for /v1/*. */
export async function call(path: string, init: RequestInit = {}, key = session.token): Promise<unknown> {
  const res = await fetch(path, {
    ...init,
    headers: authHeaders(init.body ? { "content-type": "application/json" } : {}, key),
  });
  const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  if (!res.ok) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
  return body;
}

export const post = (path: string, body: unknown, key?: string) =>
  call(path, { method: "POST", body: JSON.stringify(body) }, key);

export const errorText = (err: unknown) => (err as Error).message;
