// The keys view over the admin API (/admin/keys): list with scopes and limits, create (scopes
// and limits set there), rotate and revoke. A new secret — created or rotated — is shown once:
// it is dropped from the page when the operator says it was copied.
import type { KeyView } from "../gateway/policy/key-types.js";
import { $, call, errorText, h, post, setStatus, value } from "./dom.js";

const globs = (id: string) =>
  value(id)
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

function limits(k: KeyView): string {
  const out: string[] = [];
  if (k.rpm) out.push(`${k.rpm} req/min`);
  if (k.tpm) out.push(`${k.tpm.toLocaleString()} tokens/min`);
  if (k.budgetTokens) out.push(`${k.budgetTokens.toLocaleString()} tokens/month`);
  return out.join(", ") || "defaults";
}

/** The secret box: `text`, the secret itself, and the button that clears both. */
function showSecret(text: string, secret: string) {
  const box = $("key-secret");
  const hide = h("button", { type: "button" }, "I have copied it");
  hide.addEventListener("click", () => {
    box.replaceChildren();
    box.hidden = true;
  });
  box.replaceChildren(h("p", {}, text), h("code", { id: "new-key" }, secret), h("p", {}, hide));
  box.hidden = false;
}

function action(label: string, k: KeyView, run: () => Promise<void>): HTMLElement {
  const b = h("button", { type: "button", "aria-label": `${label} key ${k.name}` }, label);
  b.addEventListener("click", () => void run().catch((err) => setStatus(`${label}: ${errorText(err)}`)));
  return b;
}

function keyRow(k: KeyView): HTMLElement {
  const path = `/admin/keys/${encodeURIComponent(k.id)}`;
  const acts = h("td", { class: "acts" });
  if (!k.revokedAt && k.source === "store") {
    acts.append(
      action("Rotate", k, async () => {
        if (!confirm(`Rotate key ${k.name}? Its current secret stops working at once.`)) return;
        const r = (await post(`${path}/rotate`, undefined)) as { key: string };
        showSecret(
          `Key “${k.name}” rotated. Copy the new secret now: it is shown once and never again.`,
          r.key,
        );
        await loadKeys();
      }),
      action("Revoke", k, async () => {
        if (!confirm(`Revoke key ${k.name}? Requests with it fail at once.`)) return;
        await post(`${path}/revoke`, undefined);
        await loadKeys();
      }),
    );
  }
  const state = k.revokedAt
    ? "revoked"
    : k.rotatedAt
      ? `active, rotated ${new Date(k.rotatedAt).toLocaleString()}`
      : "active";
  return h(
    "tr",
    { "data-key": k.name },
    h("td", {}, k.name),
    h("td", {}, k.id),
    h("td", {}, (k.models ?? ["*"]).join(", ")),
    h("td", {}, (k.collections ?? ["*"]).join(", ")),
    h("td", {}, (k.paths ?? ["*"]).join(", ")),
    h("td", {}, limits(k)),
    h("td", {}, new Date(k.createdAt).toLocaleString()),
    h("td", {}, state),
    acts,
  );
}

export async function loadKeys() {
  try {
    const list = (await call("/admin/keys")) as { data: KeyView[] };
    $("keys").replaceChildren(...list.data.map(keyRow));
  } catch (err) {
    setStatus(`Keys: ${errorText(err)}`);
  }
}

$("key-create").addEventListener("submit", async (e) => {
  e.preventDefault();
  const body: Record<string, unknown> = { name: value("key-name") };
  for (const [f, id] of [
    ["models", "key-models"],
    ["collections", "key-collections"],
    ["paths", "key-paths"],
  ] as const) {
    const g = globs(id);
    if (g.length && g.join() !== "*") body[f] = g;
  }
  for (const [f, id] of [
    ["rpm", "key-rpm"],
    ["tpm", "key-tpm"],
    ["budgetTokens", "key-budget"],
  ] as const) {
    const n = Number(value(id));
    if (n) body[f] = n;
  }
  try {
    const created = (await post("/admin/keys", body)) as { key: string; name: string };
    showSecret(`Key “${created.name}” created. Copy it now: it is shown once and never again.`, created.key);
    $<HTMLInputElement>("key-name").value = "";
    await loadKeys();
  } catch (err) {
    $("key-secret").replaceChildren(`Could not create the key: ${errorText(err)}`);
    $("key-secret").hidden = false;
  }
});
