import { InferplaneError, isInferplaneError } from "../errors.js";
import { defaultRange, parseGroupBy, parseTime } from "../gateway/policy/admin.js";
import { openPolicyStores } from "../gateway/policy/stores.js";
import { groupUsage } from "../gateway/policy/usage.js";
import { renderTable } from "../report/table.js";
import { loadSpec, resolveSpecFile } from "../spec/load.js";
import { type CliIO, printJson } from "./io.js";

export interface UsageOptions {
  config?: string;
  env?: string;
  from?: string;
  to?: string;
  groupBy?: string;
  json?: boolean;
}

/** `inferplane usage`: requests, errors and tokens per key/route/model from the store the spec names. */
export async function usageCommand(opts: UsageOptions, io: CliIO): Promise<number> {
  let from: number;
  let to: number;
  let by: ReturnType<typeof parseGroupBy>;
  try {
    const range = defaultRange();
    from = opts.from ? parseTime(opts.from, "from") : range.from;
    to = opts.to ? parseTime(opts.to, "to") : range.to;
    by = parseGroupBy(opts.groupBy);
  } catch (err) {
    throw isInferplaneError(err)
      ? new InferplaneError("usage", err.message.replace("group_by", "--group-by"))
      : err;
  }
  const file = resolveSpecFile(opts.config);
  const { platform } = loadSpec({ file, ...(opts.env ? { env: opts.env } : {}) });
  const stores = await openPolicyStores(platform.gateway, process.env);
  try {
    const rows = await stores.usage.query(Math.floor(from / 3600) * 3600, to);
    const names = new Map((await stores.keys.list()).map((k) => [k.id, k.name]));
    const data: (ReturnType<typeof groupUsage>[number] & { key_name?: string | null })[] = groupUsage(
      rows,
      by,
    ).map((r) => (r.key !== undefined ? { ...r, key_name: names.get(r.key) ?? null } : r));
    if (opts.json) {
      printJson(io, {
        from: new Date(from * 1000).toISOString(),
        to: new Date(to * 1000).toISOString(),
        group_by: by,
        data,
      });
      return 0;
    }
    const dims = by.map((d) => d.toUpperCase());
    io.out(
      renderTable(
        [...dims, "REQUESTS", "ERRORS", "PROMPT TOKENS", "COMPLETION TOKENS"],
        data.map((r) => [
          ...by.map((d) =>
            d === "key"
              ? `${r.key}${r.key_name ? ` (${r.key_name})` : ""}`
              : String((r as unknown as Record<string, unknown>)[d] ?? ""),
          ),
          String(r.requests),
          String(r.errors),
          String(r.promptTokens),
          String(r.completionTokens),
        ]),
      ),
    );
    io.out(`(${stores.where.usage}; a running gateway writes every gateway.usage.flushInterval)`);
    return 0;
  } finally {
    await stores.close();
  }
}
