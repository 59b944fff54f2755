/** Key management shared by `inferplane keys` and the admin API: create, list, revoke, rotate. */
import { InferplaneError } from "../../errors.js";
import type { KeyRecord, KeyStore } from "./key-store.js";
import type { KeyView } from "./key-types.js";
import { generateKey } from "./keys.js";

export interface KeyInput {
  name: string;
  models?: string[];
  collections?: string[];
  paths?: string[];
  rpm?: number;
  tpm?: number;
  budgetTokens?: number;
}

export type { KeyView };

export function view(rec: KeyRecord): KeyView {
  const { hash: _hash, ...rest } = rec;
  return rest;
}

const SUFFIX: Record<string, number> = {
  "": 1,
  k: 1e3,
  K: 1e3,
  m: 1e6,
  M: 1e6,
  g: 1e9,
  G: 1e9,
  b: 1e9,
  B: 1e9,
};

/** `50M/month`, `200k`, `1000000` → tokens per month. */
export function parseBudget(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgGbB]?)\s*(?:\/\s*month)?\s*$/.exec(text);
  if (!m) {
    throw new InferplaneError(
      "usage",
      `budget must look like 50M/month, 200k or 1000000 (tokens per calendar month), got "${text}"`,
    );
  }
  const n = Math.round(Number(m[1]) * (SUFFIX[m[2] ?? ""] ?? 1));
  if (!(n > 0)) throw new InferplaneError("usage", `budget must be positive, got "${text}"`);
  return n;
}

/** Checks untrusted input (admin API body, CLI flags), naming the bad field. */
export function checkKeyInput(x: unknown): KeyInput {
  const bad = (param: string, msg: string) => new InferplaneError("invalid_request", msg, { param });
  if (typeof x !== "object" || x === null || Array.isArray(x)) {
    throw new InferplaneError("invalid_json", "the request body must be a JSON object");
  }
  const o = x as Record<string, unknown>;
  if (typeof o.name !== "string" || o.name.trim() === "" || o.name.length > 200) {
    throw bad("name", "`name` must be a non-empty string of at most 200 characters");
  }
  const out: KeyInput = { name: o.name.trim() };
  for (const f of ["models", "collections", "paths"] as const) {
    const v = o[f];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.length === 0 || !v.every((s) => typeof s === "string" && s !== "")) {
      throw bad(f, `\`${f}\` must be a non-empty array of non-empty strings (globs)`);
    }
    out[f] = v as string[];
  }
  for (const f of ["rpm", "tpm", "budgetTokens"] as const) {
    const v = o[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1)
      throw bad(f, `\`${f}\` must be an integer ≥ 1`);
    out[f] = v;
  }
  const known = new Set(["name", "models", "collections", "paths", "rpm", "tpm", "budgetTokens"]);
  const extra = Object.keys(o).find((k) => !known.has(k));
  if (extra) throw bad(extra, `unknown field \`${extra}\``);
  return out;
}

export async function createKey(store: KeyStore, input: KeyInput): Promise<{ key: string; record: KeyView }> {
  const k = generateKey();
  const rec: KeyRecord = {
    id: k.id,
    name: input.name,
    hash: k.hash,
    models: input.models ?? ["*"],
    collections: input.collections ?? ["*"],
    paths: input.paths ?? ["*"],
    ...(input.rpm ? { rpm: input.rpm } : {}),
    ...(input.tpm ? { tpm: input.tpm } : {}),
    ...(input.budgetTokens ? { budgetTokens: input.budgetTokens } : {}),
    createdAt: new Date().toISOString(),
    source: "store",
  };
  await store.put(rec);
  return { key: k.key, record: view(rec) };
}

async function existing(store: KeyStore, id: string): Promise<KeyRecord> {
  const rec = await store.get(id);
  if (!rec) throw new InferplaneError("key_not_found", `no key with id ${JSON.stringify(id)}`);
  return rec;
}

export async function revokeKey(store: KeyStore, id: string): Promise<KeyView> {
  const rec = await existing(store, id);
  const next = { ...rec, revokedAt: rec.revokedAt ?? new Date().toISOString() };
  await store.put(next);
  return view(next);
}

/** A new secret under the same id, scopes and limits; the old secret stops working at once. */
export async function rotateKey(store: KeyStore, id: string): Promise<{ key: string; record: KeyView }> {
  const rec = await existing(store, id);
  if (rec.revokedAt) throw new InferplaneError("key_not_found", `key ${id} is revoked; create a new one`);
  const k = generateKey(rec.id);
  const next = { ...rec, hash: k.hash, rotatedAt: new Date().toISOString() };
  await store.put(next);
  return { key: k.key, record: view(next) };
}

export async function listKeys(store: KeyStore): Promise<KeyView[]> {
  return (await store.list()).map(view);
}
