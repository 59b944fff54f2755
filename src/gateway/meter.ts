/**
 * A per-request token meter: admission creates one from the caller's key (remaining TPM and
 * budget), the streaming relay feeds it every completion token it relays, and cuts the stream
 * with an explicit SSE error event when the meter says so. At the end the relay settles what
 * was really used.
 *
 * Seam agreed between the request-path recomposition (the relay calls it) and the security work
 * (admission builds it): keep it stable.
 */
export type MeterVerdict = "ok" | "cut";

export interface StreamMeter {
  /** `tokens` completion tokens were just relayed; "cut" ends the stream now. */
  add(tokens: number): MeterVerdict;
  /** Why the stream was cut (an error code of src/errors.ts and a message without secrets). */
  readonly cutReason?: { code: string; message: string };
}
