// The usage view over GET /admin/usage: a period and a grouping (key, route, model or day),
// the rows as a table and a bar chart of tokens, and the same rows as a CSV download.
import { barChart } from "./charts.js";
import { $, call, errorText, h, table, value } from "./dom.js";

interface UsageRow {
  key?: string;
  key_name?: string | null;
  route?: string;
  model?: string;
  day?: string;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
}

const COLUMNS = ["requests", "errors", "promptTokens", "completionTokens"] as const;
let rows: UsageRow[] = [];
let group = "key";

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

/** This month so far, as the admin API's default. */
export function initUsage() {
  if (!value("usage-from")) $<HTMLInputElement>("usage-from").value = `${day(0).slice(0, 8)}01`;
  if (!value("usage-to")) $<HTMLInputElement>("usage-to").value = day(1);
}

const label = (r: UsageRow) =>
  group === "key"
    ? `${r.key_name ?? "(unnamed)"} (${r.key})`
    : String(r[group as "route" | "model" | "day"] ?? "");

/**
 * RFC 4180: quote every field, double the quotes inside; a text that a spreadsheet would run
 * as a formula (a key named `=cmd|…`) gets a leading apostrophe (OWASP's CSV-injection advice).
 */
const csvField = (v: unknown) => {
  const text = String(v ?? "");
  return `"${(/^[=+\-@\t\r]/.test(text) ? `'${text}` : text).replace(/"/g, '""')}"`;
};

export function usageCsv(): string {
  const dims = group === "key" ? ["key", "key_name"] : [group];
  const lines = [[...dims, ...COLUMNS].map(csvField).join(",")];
  for (const r of rows) {
    const rec = r as unknown as Record<string, unknown>;
    lines.push([...dims, ...COLUMNS].map((c) => csvField(rec[c])).join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

$("usage-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  group = value("usage-group");
  const q = new URLSearchParams({ from: value("usage-from"), to: value("usage-to"), group_by: group });
  const out = $("usage-out");
  try {
    rows = ((await call(`/admin/usage?${q}`)) as { data: UsageRow[] }).data;
    const bars = rows.map((r) => ({ label: label(r), value: r.promptTokens + r.completionTokens }));
    out.replaceChildren(
      rows.length ? barChart(`Tokens by ${group}`, "tokens", bars) : h("p", {}, "No usage in this period."),
      table(
        `Usage ${value("usage-from")} – ${value("usage-to")} by ${group}`,
        [group, "Requests", "Errors", "Prompt tokens", "Completion tokens"],
        rows.map((r) => [label(r), ...COLUMNS.map((c) => r[c].toLocaleString())]),
      ),
    );
    $("usage-csv").hidden = rows.length === 0;
  } catch (err) {
    out.replaceChildren(h("p", {}, `Usage: ${errorText(err)}`));
  }
});

$("usage-csv").addEventListener("click", () => {
  const url = URL.createObjectURL(new Blob([usageCsv()], { type: "text/csv" }));
  const a = h("a", {
    href: url,
    download: `inferplane-usage-${value("usage-from")}-${value("usage-to")}-${group}.csv`,
  });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
});
