/**
 * Rate limits and budgets per key, decided atomically:
 * - RPM: a sliding-window log (one sorted-set member per admitted request, scored by time), so
 *   no 60-second window ever holds more than `rpm` admissions, across every replica.
 * - TPM: one-second buckets over the last 60 s. Admission reserves the prompt estimate plus
 *   `max_tokens`; settlement adds the difference to the real usage (streams included).
 * - Budget: a monthly counter, reserved and settled the same way; spent → insufficient_quota.
 * With Redis the whole decision is one Lua script using Redis' clock (replicas' clocks do not
 * matter); without Redis the same algorithm runs in memory for a single gateway.
 */
import type { Redis } from "ioredis";

export const WINDOW_MS = 60_000;
const WINDOW_S = WINDOW_MS / 1000;

export interface AdmitRequest {
  keyId: string;
  rpm?: number;
  tpm?: number;
  budget?: number;
  /** Tokens reserved: prompt estimate + max_tokens (or the default reserve). */
  estimate: number;
  /** `YYYY-MM` (UTC) of the budget period. */
  month: string;
}

export interface Ticket {
  keyId: string;
  month: string;
  /** Unix second the reservation was booked in. */
  second: number;
  reserved: number;
  tpm: boolean;
  budget: boolean;
}

export interface LimitState {
  requests?: { limit: number; remaining: number; resetMs: number };
  tokens?: { limit: number; remaining: number; resetMs: number };
}

export type Decision =
  | ({
      ok: true;
      ticket: Ticket /** Budget tokens booked this month, this reservation included. */;
      spent?: number;
    } & LimitState)
  | ({ ok: false; reason: "rpm" | "tpm" | "budget"; retryAfterMs: number; spent?: number } & LimitState);

export interface Limiter {
  admit(req: AdmitRequest): Promise<Decision>;
  /** Books the difference between real and reserved tokens. */
  settle(ticket: Ticket, actualTokens: number): Promise<void>;
  close(): Promise<void>;
}

/** Budget counters outlive the month by a few days, then expire. */
const BUDGET_TTL_S = 40 * 24 * 3600;

// KEYS: rpm zset, tpm hash, budget counter. ARGV: window ms, rpm, tpm, estimate, budget, member, budget ttl.
// Returns {status, retryMs, count, used, resetReqMs, resetTokMs, spent, second}; status 0 ok, 1 rpm, 2 tpm, 3 budget.
const ADMIT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local rpm = tonumber(ARGV[2])
local tpm = tonumber(ARGV[3])
local est = tonumber(ARGV[4])
local budget = tonumber(ARGV[5])
local sec = tonumber(t[1])
local spent = 0
if budget > 0 then
  spent = tonumber(redis.call('GET', KEYS[3]) or '0')
  if spent >= budget then return {3, 0, 0, 0, 0, 0, spent, sec} end
end
local count = 0
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  count = redis.call('ZCARD', KEYS[1])
  if count >= rpm then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    local wait = tonumber(oldest[2]) + window - now
    return {1, wait, count, 0, wait, 0, spent, sec}
  end
end
local used = 0
local resetTok = 0
if tpm > 0 then
  local first = sec - math.floor(window / 1000) + 1
  local all = redis.call('HGETALL', KEYS[2])
  local buckets = {}
  for i = 1, #all, 2 do
    local s = tonumber(all[i])
    local v = tonumber(all[i + 1])
    if s < first then redis.call('HDEL', KEYS[2], all[i]) else
      used = used + v
      buckets[#buckets + 1] = {s, v}
    end
  end
  table.sort(buckets, function(a, b) return a[1] < b[1] end)
  if #buckets > 0 then resetTok = (buckets[1][1] + math.floor(window / 1000)) * 1000 - now end
  if used + est > tpm then
    local excess = used + est - tpm
    local wait = window
    for _, b in ipairs(buckets) do
      excess = excess - b[2]
      if excess <= 0 then
        wait = (b[1] + math.floor(window / 1000)) * 1000 - now
        break
      end
    end
    return {2, wait, count, used, 0, wait, spent, sec}
  end
end
local resetReq = 0
if rpm > 0 then
  redis.call('ZADD', KEYS[1], now, ARGV[6])
  redis.call('PEXPIRE', KEYS[1], window + 1000)
  count = count + 1
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  resetReq = tonumber(oldest[2]) + window - now
end
if tpm > 0 then
  redis.call('HINCRBY', KEYS[2], sec, est)
  redis.call('PEXPIRE', KEYS[2], window + 2000)
  used = used + est
  if resetTok == 0 then resetTok = window end
end
if budget > 0 then
  spent = redis.call('INCRBY', KEYS[3], est)
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[7]))
end
return {0, 0, count, used, resetReq, resetTok, spent, sec}
`;

// KEYS: tpm hash, budget counter. ARGV: booked second, delta, window ms, has tpm, has budget, budget ttl.
const SETTLE_LUA = `
local t = redis.call('TIME')
local nowSec = tonumber(t[1])
local sec = tonumber(ARGV[1])
local delta = tonumber(ARGV[2])
local windowS = math.floor(tonumber(ARGV[3]) / 1000)
if ARGV[4] == '1' then
  if sec > nowSec - windowS then
    redis.call('HINCRBY', KEYS[1], sec, delta)
  elseif delta > 0 then
    redis.call('HINCRBY', KEYS[1], nowSec, delta)
  end
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + 2000)
end
if ARGV[5] == '1' then
  redis.call('INCRBY', KEYS[2], delta)
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6]))
end
return 1
`;

type ScriptRedis = Redis & {
  inferplaneAdmit(k1: string, k2: string, k3: string, ...args: (string | number)[]): Promise<number[]>;
  inferplaneSettle(k1: string, k2: string, ...args: (string | number)[]): Promise<number>;
};

function state(req: AdmitRequest, r: number[]): LimitState {
  const [, , count = 0, used = 0, resetReq = 0, resetTok = 0] = r;
  return {
    ...(req.rpm
      ? {
          requests: {
            limit: req.rpm,
            remaining: Math.max(0, req.rpm - count),
            resetMs: Math.max(0, resetReq),
          },
        }
      : {}),
    ...(req.tpm
      ? { tokens: { limit: req.tpm, remaining: Math.max(0, req.tpm - used), resetMs: Math.max(0, resetTok) } }
      : {}),
  };
}

let seq = 0;
const replica = Math.random().toString(36).slice(2, 10);

export class RedisLimiter implements Limiter {
  private readonly redis: ScriptRedis;
  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    this.redis = redis as ScriptRedis;
    if (typeof this.redis.inferplaneAdmit !== "function") {
      redis.defineCommand("inferplaneAdmit", { numberOfKeys: 3, lua: ADMIT_LUA });
      redis.defineCommand("inferplaneSettle", { numberOfKeys: 2, lua: SETTLE_LUA });
    }
  }
  // {id} is a hash tag: one key's state stays in one Redis Cluster slot, as multi-key scripts need.
  private keys(id: string, month: string): [string, string, string] {
    return [
      `${this.prefix}rl:{${id}}:rpm`,
      `${this.prefix}rl:{${id}}:tpm`,
      `${this.prefix}rl:{${id}}:budget:${month}`,
    ];
  }
  async admit(req: AdmitRequest): Promise<Decision> {
    const [rpmKey, tpmKey, budgetKey] = this.keys(req.keyId, req.month);
    const r = (
      await this.redis.inferplaneAdmit(
        rpmKey,
        tpmKey,
        budgetKey,
        WINDOW_MS,
        req.rpm ?? 0,
        req.tpm ?? 0,
        req.estimate,
        req.budget ?? 0,
        `${replica}:${++seq}`,
        BUDGET_TTL_S,
      )
    ).map(Number);
    const [status = 0, retryMs = 0, , , , , spent = 0, second = 0] = r;
    const s = state(req, r);
    if (status === 0) {
      return {
        ok: true,
        ticket: {
          keyId: req.keyId,
          month: req.month,
          second,
          reserved: req.estimate,
          tpm: !!req.tpm,
          budget: !!req.budget,
        },
        ...(req.budget ? { spent } : {}),
        ...s,
      };
    }
    const reason = status === 1 ? "rpm" : status === 2 ? "tpm" : "budget";
    return { ok: false, reason, retryAfterMs: Math.max(1, retryMs), spent, ...s };
  }
  async settle(t: Ticket, actual: number): Promise<void> {
    const delta = actual - t.reserved;
    if (delta === 0 || (!t.tpm && !t.budget)) return;
    const [, tpmKey, budgetKey] = this.keys(t.keyId, t.month);
    await this.redis.inferplaneSettle(
      tpmKey,
      budgetKey,
      t.second,
      delta,
      WINDOW_MS,
      t.tpm ? "1" : "0",
      t.budget ? "1" : "0",
      BUDGET_TTL_S,
    );
  }
  async close(): Promise<void> {}
}

interface LocalKey {
  admitted: number[]; // admission times, ms, oldest first, from index `head` on
  head: number;
  buckets: Map<number, number>; // second → tokens
}

/** Admissions in the window; expired ones dropped first (a queue with a moving head: O(1) each, compaction amortized). */
function liveAdmissions(e: LocalKey, now: number): number {
  while (e.head < e.admitted.length && (e.admitted[e.head] as number) <= now - WINDOW_MS) e.head++;
  if (e.head > 1024 && e.head * 2 > e.admitted.length) {
    e.admitted = e.admitted.slice(e.head);
    e.head = 0;
  }
  return e.admitted.length - e.head;
}

/** Tokens booked in the window and its live buckets, oldest first; expired buckets dropped. */
function liveTokens(e: LocalKey, sec: number): { used: number; live: [number, number][] } {
  let used = 0;
  const live: [number, number][] = [];
  for (const [s, v] of e.buckets) {
    if (s <= sec - WINDOW_S) e.buckets.delete(s);
    else {
      used += v;
      live.push([s, v]);
    }
  }
  live.sort((a, b) => a[0] - b[0]);
  return { used, live };
}

/** Milliseconds until buckets holding `excess` tokens have left the window. */
function tokensFreedIn(live: readonly [number, number][], excess: number, now: number): number {
  let left = excess;
  for (const [s, v] of live) {
    left -= v;
    if (left <= 0) return (s + WINDOW_S) * 1000 - now;
  }
  return WINDOW_MS;
}

/** The same algorithm for one gateway without Redis. `spentSoFar` seeds a month's budget from durable usage. */
export class MemoryLimiter implements Limiter {
  private readonly keys = new Map<string, LocalKey>();
  private readonly spent = new Map<string, number>();
  constructor(private readonly spentSoFar: (keyId: string, month: string) => number = () => 0) {}

  private entry(id: string): LocalKey {
    let e = this.keys.get(id);
    if (!e) {
      e = { admitted: [], head: 0, buckets: new Map() };
      this.keys.set(id, e);
    }
    return e;
  }
  private budgetSpent(id: string, month: string): number {
    const k = `${id}\u0000${month}`;
    let v = this.spent.get(k);
    if (v === undefined) {
      v = this.spentSoFar(id, month);
      this.spent.set(k, v);
    }
    return v;
  }

  async admit(req: AdmitRequest): Promise<Decision> {
    const now = Date.now();
    const sec = Math.floor(now / 1000);
    const e = this.entry(req.keyId);
    const spent = req.budget ? this.budgetSpent(req.keyId, req.month) : 0;
    if (req.budget && spent >= req.budget) {
      return { ok: false, reason: "budget", retryAfterMs: 1, spent };
    }
    const count = liveAdmissions(e, now);
    if (req.rpm && count >= req.rpm) {
      const wait = (e.admitted[e.head] as number) + WINDOW_MS - now;
      return {
        ok: false,
        reason: "rpm",
        retryAfterMs: Math.max(1, wait),
        ...state(req, [1, wait, count, 0, wait, 0]),
      };
    }
    const { used, live } = liveTokens(e, sec);
    let resetTok = live.length > 0 ? ((live[0] as [number, number])[0] + WINDOW_S) * 1000 - now : 0;
    if (req.tpm && used + req.estimate > req.tpm) {
      const wait = tokensFreedIn(live, used + req.estimate - req.tpm, now);
      return {
        ok: false,
        reason: "tpm",
        retryAfterMs: Math.max(1, wait),
        ...state(req, [2, wait, count, used, 0, wait]),
      };
    }
    let resetReq = 0;
    if (req.rpm) {
      e.admitted.push(now);
      resetReq = (e.admitted[e.head] as number) + WINDOW_MS - now;
    }
    if (req.tpm) {
      e.buckets.set(sec, (e.buckets.get(sec) ?? 0) + req.estimate);
      if (resetTok === 0) resetTok = WINDOW_MS;
    }
    if (req.budget) this.spent.set(`${req.keyId}\u0000${req.month}`, spent + req.estimate);
    return {
      ok: true,
      ticket: {
        keyId: req.keyId,
        month: req.month,
        second: sec,
        reserved: req.estimate,
        tpm: !!req.tpm,
        budget: !!req.budget,
      },
      ...(req.budget ? { spent: spent + req.estimate } : {}),
      ...state(req, [0, 0, req.rpm ? count + 1 : 0, used + (req.tpm ? req.estimate : 0), resetReq, resetTok]),
    };
  }

  async settle(t: Ticket, actual: number): Promise<void> {
    const delta = actual - t.reserved;
    if (delta === 0) return;
    if (t.tpm) {
      const e = this.entry(t.keyId);
      const nowSec = Math.floor(Date.now() / 1000);
      const at = t.second > nowSec - WINDOW_S ? t.second : delta > 0 ? nowSec : undefined;
      if (at !== undefined) e.buckets.set(at, (e.buckets.get(at) ?? 0) + delta);
    }
    if (t.budget) {
      const k = `${t.keyId}\u0000${t.month}`;
      this.spent.set(k, (this.spent.get(k) ?? 0) + delta);
    }
  }
  async close(): Promise<void> {}
}
