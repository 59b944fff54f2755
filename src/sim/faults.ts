/**
 * Fault injection for the HTTP simulator: random faults at configured rates (seeded, so a run
 * repeats) and per-request faults named by the `x-sim-fault` header.
 *
 *   status  answer with that HTTP status (429, 500, 503, … any 4xx/5xx) and an error body
 *   cut     drop the connection mid-stream (after about half the reply; non-streaming: no reply)
 *   hang    accept the request and never answer (until the client or the server gives up)
 *   slow    hold the request for `slowMs` before it reaches the engine (a slow upstream)
 */
import { rng } from "./model/workload.js";

export interface FaultOptions {
  /** Share of requests answered with an error status drawn from `failCodes` (0–1). */
  failRate?: number;
  /** Statuses for `failRate` (default 429, 500, 503). */
  failCodes?: readonly number[];
  /** Share of requests whose connection is dropped mid-stream (0–1). */
  cutStreamRate?: number;
  /** Share of requests that never get an answer (0–1). */
  hangRate?: number;
  /** Extra wait of a `slow` request, milliseconds (default 1000). */
  slowMs?: number;
  /** Seed of the fault dice (default 1). */
  seed?: number;
}

export type FaultAction =
  | { kind: "none" }
  | { kind: "status"; status: number }
  | { kind: "cut" }
  | { kind: "hang" }
  | { kind: "slow"; ms: number };

export const FAULT_HEADER = "x-sim-fault";
export const DEFAULT_FAIL_CODES: readonly number[] = [429, 500, 503];
export const DEFAULT_SLOW_MS = 1000;

const NONE: FaultAction = { kind: "none" };
const CUT: FaultAction = { kind: "cut" };
const HANG: FaultAction = { kind: "hang" };

/** Checks rates and codes; returns a problem message or undefined. */
export function checkFaultOptions(o: FaultOptions): string | undefined {
  for (const [name, v] of [
    ["failRate", o.failRate],
    ["cutStreamRate", o.cutStreamRate],
    ["hangRate", o.hangRate],
  ] as const) {
    if (v !== undefined && !(v >= 0 && v <= 1)) return `${name} must be between 0 and 1, got ${v}`;
  }
  for (const c of o.failCodes ?? []) {
    if (!Number.isInteger(c) || c < 400 || c > 599)
      return `fail codes must be HTTP statuses 400–599, got ${c}`;
  }
  if (o.failCodes !== undefined && o.failCodes.length === 0 && (o.failRate ?? 0) > 0)
    return "failRate needs at least one fail code";
  if (o.slowMs !== undefined && !(o.slowMs >= 0)) return `slowMs must be ≥ 0, got ${o.slowMs}`;
  return undefined;
}

/**
 * Parses an `x-sim-fault` value: `429`/`500`/`503`/… (any 400–599), `cut`, `hang`, `slow` or
 * `slow:MS`. Returns an error message for anything else.
 */
export function parseFaultHeader(value: string, slowMs = DEFAULT_SLOW_MS): FaultAction | string {
  const v = value.trim().toLowerCase();
  if (v === "" || v === "none") return NONE;
  if (v === "cut") return CUT;
  if (v === "hang") return HANG;
  if (v === "slow") return { kind: "slow", ms: slowMs };
  const slow = /^slow[:=](\d+)$/.exec(v);
  if (slow?.[1] !== undefined) return { kind: "slow", ms: Number(slow[1]) };
  if (/^\d{3}$/.test(v)) {
    const status = Number(v);
    if (status >= 400 && status <= 599) return { kind: "status", status };
  }
  return `unknown ${FAULT_HEADER} value "${value}" (use a 4xx/5xx status, cut, hang, slow or slow:MS)`;
}

export class FaultInjector {
  private readonly rand: () => number;
  private readonly failRate: number;
  private readonly failCodes: readonly number[];
  private readonly cutRate: number;
  private readonly hangRate: number;
  readonly slowMs: number;
  private readonly any: boolean;

  constructor(o: FaultOptions = {}) {
    this.rand = rng(o.seed ?? 1);
    this.failRate = o.failRate ?? 0;
    this.failCodes = o.failCodes && o.failCodes.length > 0 ? o.failCodes : DEFAULT_FAIL_CODES;
    this.cutRate = o.cutStreamRate ?? 0;
    this.hangRate = o.hangRate ?? 0;
    this.slowMs = o.slowMs ?? DEFAULT_SLOW_MS;
    this.any = this.failRate > 0 || this.cutRate > 0 || this.hangRate > 0;
  }

  /** The fault for one request: the header's if present, else the dice's (fail, then hang, then cut). */
  decide(header: string | undefined): FaultAction | string {
    if (header !== undefined) return parseFaultHeader(header, this.slowMs);
    if (!this.any) return NONE;
    if (this.failRate > 0 && this.rand() < this.failRate) {
      const i = Math.floor(this.rand() * this.failCodes.length);
      return { kind: "status", status: this.failCodes[i] ?? 500 };
    }
    if (this.hangRate > 0 && this.rand() < this.hangRate) return HANG;
    if (this.cutRate > 0 && this.rand() < this.cutRate) return CUT;
    return NONE;
  }
}
