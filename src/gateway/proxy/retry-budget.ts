/**
 * A retry budget (Envoy / Linkerd): retries may add at most `percent` of recent requests on
 * top, plus a small floor so that a quiet gateway can still retry. Counted in one-second
 * buckets over a ten-second window.
 */
const BUCKETS = 10;

export class RetryBudget {
  private readonly requests = new Float64Array(BUCKETS);
  private readonly retries = new Float64Array(BUCKETS);
  private bucket = -1;

  constructor(
    readonly percent: number,
    readonly minPerSecond = 5,
  ) {}

  private roll(nowMs: number): number {
    const b = Math.floor(nowMs / 1000);
    if (b !== this.bucket) {
      const steps = this.bucket < 0 ? BUCKETS : Math.min(BUCKETS, b - this.bucket);
      for (let i = 1; i <= steps; i++) {
        const idx = (((this.bucket + i) % BUCKETS) + BUCKETS) % BUCKETS;
        this.requests[idx] = 0;
        this.retries[idx] = 0;
      }
      this.bucket = b;
    }
    return ((b % BUCKETS) + BUCKETS) % BUCKETS;
  }

  recordRequest(nowMs: number): void {
    const i = this.roll(nowMs);
    this.requests[i] = (this.requests[i] ?? 0) + 1;
  }

  /** Takes one retry from the budget; false when the budget is spent. */
  tryRetry(nowMs: number): boolean {
    const i = this.roll(nowMs);
    let req = 0;
    let ret = 0;
    for (let k = 0; k < BUCKETS; k++) {
      req += this.requests[k] ?? 0;
      ret += this.retries[k] ?? 0;
    }
    const allowed = Math.max((req * this.percent) / 100, this.minPerSecond * BUCKETS);
    if (ret >= allowed) return false;
    this.retries[i] = (this.retries[i] ?? 0) + 1;
    return true;
  }
}
