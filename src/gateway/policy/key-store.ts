/**
 * Where API keys live: an embedded SQLite file (one gateway, and the CLI on the same host) or
 * Redis (several replicas). Both hold only salted hashes. Keys from the spec and the
 * environment are read-only and also hashes only (GitOps).
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { Redis } from "ioredis";
import { InferplaneError } from "../../errors.js";
import { locateJsonError } from "../../json-body.js";
import type { KeyLimits, KeyRecord, KeyScope } from "./key-types.js";
import { parseHash } from "./keys.js";

export type { KeyLimits, KeyRecord, KeyScope } from "./key-types.js";

export interface KeyStore {
  get(id: string): Promise<KeyRecord | undefined>;
  list(): Promise<KeyRecord[]>;
  put(rec: KeyRecord): Promise<void>;
  close(): Promise<void>;
}

/** Opens (creating if needed) a better-sqlite3 database in WAL mode: the CLI and a gateway may share it. */
export function openSqlite(path: string): Database.Database {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("busy_timeout = 5000");
  return db;
}

export class SqliteKeyStore implements KeyStore {
  private readonly db: Database.Database;
  private readonly getStmt: Database.Statement<[string], { json: string }>;
  constructor(path: string) {
    this.db = openSqlite(path);
    this.db.exec("CREATE TABLE IF NOT EXISTS api_keys (id TEXT PRIMARY KEY, json TEXT NOT NULL)");
    this.getStmt = this.db.prepare("SELECT json FROM api_keys WHERE id = ?");
  }
  async get(id: string): Promise<KeyRecord | undefined> {
    const row = this.getStmt.get(id);
    return row ? (JSON.parse(row.json) as KeyRecord) : undefined;
  }
  async list(): Promise<KeyRecord[]> {
    const rows = this.db.prepare("SELECT json FROM api_keys ORDER BY id").all() as { json: string }[];
    return rows.map((r) => JSON.parse(r.json) as KeyRecord);
  }
  async put(rec: KeyRecord): Promise<void> {
    this.db
      .prepare(
        "INSERT INTO api_keys (id, json) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET json = excluded.json",
      )
      .run(rec.id, JSON.stringify(rec));
  }
  async close(): Promise<void> {
    this.db.close();
  }
}

export class RedisKeyStore implements KeyStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}
  async get(id: string): Promise<KeyRecord | undefined> {
    const json = await this.redis.hget(`${this.prefix}keys`, id);
    return json ? (JSON.parse(json) as KeyRecord) : undefined;
  }
  async list(): Promise<KeyRecord[]> {
    const all = await this.redis.hgetall(`${this.prefix}keys`);
    return Object.keys(all)
      .sort()
      .map((id) => JSON.parse(all[id] as string) as KeyRecord);
  }
  async put(rec: KeyRecord): Promise<void> {
    await this.redis.hset(`${this.prefix}keys`, rec.id, JSON.stringify(rec));
  }
  async close(): Promise<void> {}
}

/** A key as the spec (or the hashes environment variable) declares it. */
export interface DeclaredKey extends Partial<KeyScope>, KeyLimits {
  name: string;
  hash: string;
}

/** Spec and environment keys, validated: a plaintext key or a malformed hash is refused by name. */
export function declaredKeys(
  spec: readonly DeclaredKey[],
  envValue: string | undefined,
  envName: string,
): KeyRecord[] {
  const out: KeyRecord[] = [];
  const add = (k: DeclaredKey, source: "spec" | "env", where: string) => {
    const h = typeof k.hash === "string" ? parseHash(k.hash) : undefined;
    if (!h) {
      throw new InferplaneError(
        "spec_invalid",
        `${where}: \`hash\` must be a salted hash as printed by \`inferplane keys create\` (v1$id$salt$hash), never a key`,
      );
    }
    out.push({
      id: h.id,
      name: k.name,
      hash: k.hash,
      models: k.models ?? ["*"],
      collections: k.collections ?? ["*"],
      paths: k.paths ?? ["*"],
      ...(k.rpm ? { rpm: k.rpm } : {}),
      ...(k.tpm ? { tpm: k.tpm } : {}),
      ...(k.budgetTokens ? { budgetTokens: k.budgetTokens } : {}),
      createdAt: new Date(0).toISOString(),
      source,
    });
  };
  spec.forEach((k, i) => {
    add(k, "spec", `gateway.auth.keys[${i}]`);
  });
  if (envValue && envValue.trim() !== "") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(envValue);
    } catch {
      // V8's message quotes the text it failed on: that is the secret itself. Name the position only.
      const { pos, reason } = locateJsonError(envValue);
      throw new InferplaneError(
        "spec_invalid",
        `$${envName} is not a JSON array: ${reason} at position ${pos}`,
      );
    }
    if (!Array.isArray(parsed)) throw new InferplaneError("spec_invalid", `$${envName} must be a JSON array`);
    parsed.forEach((k: unknown, i) => {
      if (typeof k !== "object" || k === null || typeof (k as DeclaredKey).name !== "string") {
        throw new InferplaneError("spec_invalid", `$${envName}[${i}] needs a \`name\` and a \`hash\``);
      }
      add(k as DeclaredKey, "env", `$${envName}[${i}]`);
    });
  }
  return out;
}
