import { InferplaneError } from "../errors.js";
import { createKey, listKeys, parseBudget, revokeKey, rotateKey } from "../gateway/policy/key-admin.js";
import { generateKey } from "../gateway/policy/keys.js";
import { openPolicyStores } from "../gateway/policy/stores.js";
import { renderTable } from "../report/table.js";
import { loadSpec, resolveSpecFile } from "../spec/load.js";
import { type CliIO, printJson } from "./io.js";

export interface KeysOptions {
  config?: string;
  env?: string;
  json?: boolean;
}

export interface KeysCreateOptions extends KeysOptions {
  name: string;
  models?: string;
  collections?: string;
  paths?: string;
  rpm?: string;
  tpm?: string;
  budgetTokens?: string;
  specEntry?: boolean;
}

const list = (v: string | undefined) =>
  v === undefined
    ? undefined
    : v
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");

function positive(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v.replace(/_/g, ""));
  if (!Number.isSafeInteger(n) || n < 1)
    throw new InferplaneError("usage", `--${flag} must be an integer ≥ 1, got "${v}"`);
  return n;
}

async function withStores<T>(
  opts: KeysOptions,
  fn: (s: Awaited<ReturnType<typeof openPolicyStores>>) => Promise<T>,
) {
  const file = resolveSpecFile(opts.config);
  const { platform } = loadSpec({ file, ...(opts.env ? { env: opts.env } : {}) });
  const stores = await openPolicyStores(platform.gateway, process.env);
  try {
    return await fn(stores);
  } finally {
    await stores.close();
  }
}

export async function keysCreateCommand(opts: KeysCreateOptions, io: CliIO): Promise<number> {
  const models = list(opts.models);
  const collections = list(opts.collections);
  const paths = list(opts.paths);
  const input = {
    name: opts.name,
    ...(models ? { models } : {}),
    ...(collections ? { collections } : {}),
    ...(paths ? { paths } : {}),
    ...(opts.rpm ? { rpm: positive(opts.rpm, "rpm") } : {}),
    ...(opts.tpm ? { tpm: positive(opts.tpm, "tpm") } : {}),
    ...(opts.budgetTokens ? { budgetTokens: parseBudget(opts.budgetTokens) } : {}),
  };
  if (opts.specEntry) {
    // GitOps: nothing is stored; the spec (or $INFERPLANE_KEY_HASHES) carries the hash.
    const k = generateKey();
    const entry = { ...input, hash: k.hash };
    if (opts.json) printJson(io, { key: k.key, id: k.id, entry });
    else {
      io.out(`key: ${k.key}`);
      io.out("Store the key now: it is not shown again. Add this to gateway.auth.keys:");
      io.out(`  - ${JSON.stringify(entry)}`);
    }
    return 0;
  }
  return withStores(opts, async (s) => {
    const { key, record } = await createKey(s.keys, input as Parameters<typeof createKey>[1]);
    if (opts.json) printJson(io, { key, ...record });
    else {
      io.out(`key: ${key}`);
      io.out(`id:  ${record.id} (${record.name}), stored in ${s.where.keys}`);
      io.out("Store the key now: it is not shown again.");
    }
    return 0;
  });
}

const fmt = (n: number | undefined) => (n === undefined ? "-" : String(n));

export async function keysListCommand(opts: KeysOptions, io: CliIO): Promise<number> {
  return withStores(opts, async (s) => {
    const keys = await listKeys(s.keys);
    if (opts.json) {
      printJson(io, keys);
      return 0;
    }
    io.out(
      renderTable(
        ["ID", "NAME", "MODELS", "COLLECTIONS", "RPM", "TPM", "BUDGET/MONTH", "CREATED", "STATUS"],
        keys.map((k) => [
          k.id,
          k.name,
          k.models.join(","),
          k.collections.join(","),
          fmt(k.rpm),
          fmt(k.tpm),
          fmt(k.budgetTokens),
          k.createdAt.slice(0, 19),
          k.revokedAt ? `revoked ${k.revokedAt.slice(0, 19)}` : "active",
        ]),
      ),
    );
    return 0;
  });
}

export async function keysRevokeCommand(id: string, opts: KeysOptions, io: CliIO): Promise<number> {
  return withStores(opts, async (s) => {
    const rec = await revokeKey(s.keys, id);
    if (opts.json) printJson(io, rec);
    else io.out(`revoked ${rec.id} (${rec.name}); gateways stop accepting it within 2 s`);
    return 0;
  });
}

export async function keysRotateCommand(id: string, opts: KeysOptions, io: CliIO): Promise<number> {
  return withStores(opts, async (s) => {
    const { key, record } = await rotateKey(s.keys, id);
    if (opts.json) printJson(io, { key, ...record });
    else {
      io.out(`key: ${key}`);
      io.out(
        `id:  ${record.id} (${record.name}): the old secret stops working within 2 s. Store the key now.`,
      );
    }
    return 0;
  });
}
