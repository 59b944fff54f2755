/**
 * The StreamMeter admission hands to the streaming relay (src/gateway/meter.ts): a stream may
 * produce the completion tokens it reserved plus whatever the key still had left after that
 * reservation (TPM this minute, budget this month). The first chunk past that cuts it, with an
 * error code the client knows (`rate_limit_exceeded`, `insufficient_quota`).
 */
import type { MeterVerdict, StreamMeter } from "../meter.js";

export interface MeterLimits {
  /** Key name for the message (never the key). */
  keyName: string;
  /** Completion tokens booked at admission (all sequences). */
  reserved: number;
  /** Tokens per minute left after the reservation (undefined: no TPM limit). */
  tpmLeft?: number;
  /** Budget tokens left this month after the reservation (undefined: no budget). */
  budgetLeft?: number;
}

/** Undefined when the key has neither TPM nor budget: nothing to cut for. */
export function createStreamMeter(l: MeterLimits): StreamMeter | undefined {
  if (l.tpmLeft === undefined && l.budgetLeft === undefined) return undefined;
  const tpmAllowance =
    l.tpmLeft === undefined ? Number.POSITIVE_INFINITY : l.reserved + Math.max(0, l.tpmLeft);
  const budgetAllowance =
    l.budgetLeft === undefined ? Number.POSITIVE_INFINITY : l.reserved + Math.max(0, l.budgetLeft);
  let used = 0;
  let cut: { code: string; message: string } | undefined;
  return {
    add(tokens: number): MeterVerdict {
      if (cut) return "cut";
      used += Math.max(0, tokens);
      if (used > budgetAllowance) {
        cut = {
          code: "insufficient_quota",
          message: `stream cut after ${used} completion tokens: key ${l.keyName} has no budget left this month`,
        };
      } else if (used > tpmAllowance) {
        cut = {
          code: "rate_limit_exceeded",
          message: `stream cut after ${used} completion tokens: key ${l.keyName} reached its tokens-per-minute limit`,
        };
      }
      return cut ? "cut" : "ok";
    },
    get cutReason() {
      return cut;
    },
  };
}
