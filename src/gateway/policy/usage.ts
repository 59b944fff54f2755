/**
 * Usage accounting per key, route and model, in hourly buckets: requests, errors, prompt and
 * completion tokens. Counted in memory on the hot path, flushed to the store every few seconds
 * and on shutdown (a graceful restart loses nothing); a failed flush keeps the counts for the
 * next one. SQLite for one gateway, Redis for several (every replica then sees every count).
 */
import type Database from "better-sqlite3";
import type { Redis } from "ioredis";
import { openSqlite } from "./key-store.js";

export interface UsageCounts {
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
}

export interface UsageRow extends UsageCounts {
  /** Hour bucket: unix seconds of the hour's start. */
  hour: number;
  key: string;
  route: string;
  model: string;
}

export interface UsageSink {
  add(rows: readonly UsageRow[]): Promise<void>;
  /** Rows with `from ≤ hour < to` (unix seconds). */
  query(from: number, to: number): Promise<UsageRow[]>;
  close(): Promise<void>;
}

const SEP = "\u001f";
const HOUR = 3600;

export function hourOf(ms: number): number {
  return Math.floor(ms / 1000 / HOUR) * HOUR;
}

function addCounts(a: UsageCounts, b: UsageCounts): void {
  a.requests += b.requests;
  a.errors += b.errors;
  a.promptTokens += b.promptTokens;
  a.completionTokens += b.completionTokens;
}

export class SqliteUsage implements UsageSink {
  private readonly db: Database.Database;
  constructor(path: string) {
    this.db = openSqlite(path);
    this.db.exec(`CREATE TABLE IF NOT EXISTS usage (
      hour INTEGER NOT NULL, key TEXT NOT NULL, route TEXT NOT NULL, model TEXT NOT NULL,
      requests INTEGER NOT NULL, errors INTEGER NOT NULL,
      prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
      PRIMARY KEY (hour, key, route, model))`);
  }
  async add(rows: readonly UsageRow[]): Promise<void> {
    const upsert =
      this.db.prepare(`INSERT INTO usage VALUES (@hour, @key, @route, @model, @requests, @errors, @promptTokens, @completionTokens)
      ON CONFLICT (hour, key, route, model) DO UPDATE SET requests = requests + excluded.requests,
      errors = errors + excluded.errors, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
      completion_tokens = completion_tokens + excluded.completion_tokens`);
    this.db.transaction((rs: readonly UsageRow[]) => {
      // A row of zeros counts nothing (Redis stores nothing for it either).
      for (const r of rs) if (r.requests || r.errors || r.promptTokens || r.completionTokens) upsert.run(r);
    })(rows);
  }
  async query(from: number, to: number): Promise<UsageRow[]> {
    return this.db
      .prepare(
        `SELECT hour, key, route, model, requests, errors, prompt_tokens AS promptTokens,
         completion_tokens AS completionTokens FROM usage WHERE hour >= ? AND hour < ? ORDER BY hour`,
      )
      .all(from, to) as UsageRow[];
  }
  /** Tokens a key used in a calendar month (UTC): seeds an in-memory budget after a restart. */
  monthTokens(key: string, month: string): number {
    const start = Date.parse(`${month}-01T00:00:00Z`) / 1000;
    const d = new Date(start * 1000);
    const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 1000;
    const row = this.db
      .prepare(
        "SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS n FROM usage WHERE key = ? AND hour >= ? AND hour < ?",
      )
      .get(key, start, end) as { n: number };
    return row.n;
  }
  async close(): Promise<void> {
    this.db.close();
  }
}

const METRICS = ["requests", "errors", "promptTokens", "completionTokens"] as const;

/** Redis: one hash per hour (`usage:<hour>`), fields `key␟route␟model␟metric`; a sorted set indexes the hours. */
export class RedisUsage implements UsageSink {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}
  async add(rows: readonly UsageRow[]): Promise<void> {
    const multi = this.redis.multi();
    for (const r of rows) {
      const h = `${this.prefix}usage:${r.hour}`;
      for (const m of METRICS) {
        if (r[m] !== 0) multi.hincrby(h, [r.key, r.route, r.model, m].join(SEP), r[m]);
      }
      multi.zadd(`${this.prefix}usage:hours`, r.hour, String(r.hour));
    }
    const res = await multi.exec();
    const failed = res?.find(([err]) => err);
    if (!res || failed) throw failed?.[0] ?? new Error("usage flush was not executed");
  }
  async query(from: number, to: number): Promise<UsageRow[]> {
    const hours = await this.redis.zrangebyscore(`${this.prefix}usage:hours`, from, `(${to}`);
    const out: UsageRow[] = [];
    for (const hour of hours) {
      const all = await this.redis.hgetall(`${this.prefix}usage:${hour}`);
      const rows = new Map<string, UsageRow>();
      for (const [field, value] of Object.entries(all)) {
        const [key = "", route = "", model = "", metric = ""] = field.split(SEP);
        const id = [key, route, model].join(SEP);
        let row = rows.get(id);
        if (!row) {
          row = {
            hour: Number(hour),
            key,
            route,
            model,
            requests: 0,
            errors: 0,
            promptTokens: 0,
            completionTokens: 0,
          };
          rows.set(id, row);
        }
        if ((METRICS as readonly string[]).includes(metric))
          row[metric as (typeof METRICS)[number]] += Number(value);
      }
      out.push(...rows.values());
    }
    return out;
  }
  async close(): Promise<void> {}
}

export class UsageRecorder {
  private pending = new Map<string, UsageRow>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    readonly sink: UsageSink,
    private readonly onFlushError: (err: Error, rows: number) => void,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  record(key: string, route: string, model: string, c: UsageCounts, at = Date.now()): void {
    const hour = hourOf(at);
    const id = [hour, key, route, model].join(SEP);
    const row = this.pending.get(id);
    if (row) addCounts(row, c);
    else this.pending.set(id, { hour, key, route, model, ...c });
  }

  /** Writes what is pending; on failure merges it back for the next flush. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => this.flush());
    if (this.pending.size === 0) return Promise.resolve();
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.sink
      .add([...batch.values()])
      .catch((err: Error) => {
        for (const [id, row] of batch) {
          const now = this.pending.get(id);
          if (now) addCounts(now, row);
          else this.pending.set(id, row);
        }
        this.onFlushError(err, batch.size);
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  /** Stored rows plus what is not flushed yet, in `[from, to)` (unix seconds). */
  async query(from: number, to: number): Promise<UsageRow[]> {
    const stored = await this.sink.query(from, to);
    const merged = new Map<string, UsageRow>();
    for (const r of [...stored, ...this.pending.values()]) {
      if (r.hour < from || r.hour >= to) continue;
      const id = [r.hour, r.key, r.route, r.model].join(SEP);
      const m = merged.get(id);
      if (m) addCounts(m, r);
      else merged.set(id, { ...r });
    }
    return [...merged.values()];
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

export type GroupBy = "key" | "route" | "model" | "hour" | "day";

/** Sums rows over the dimensions not grouped by. */
export function groupUsage(
  rows: readonly UsageRow[],
  by: readonly GroupBy[],
): (Partial<UsageRow> & UsageCounts)[] {
  const out = new Map<string, Partial<UsageRow> & UsageCounts & { day?: string }>();
  for (const r of rows) {
    const dims: Record<string, string | number> = {};
    for (const d of by) {
      if (d === "day") dims.day = new Date(r.hour * 1000).toISOString().slice(0, 10);
      else dims[d] = r[d];
    }
    const id = JSON.stringify(dims);
    const g = out.get(id);
    if (g) addCounts(g, r);
    else {
      out.set(id, {
        ...dims,
        requests: r.requests,
        errors: r.errors,
        promptTokens: r.promptTokens,
        completionTokens: r.completionTokens,
      });
    }
  }
  return [...out.values()].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}
