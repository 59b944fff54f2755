/**
 * A round of work repeated every `intervalMs` (start to start), never overlapping, on an
 * unref'd timer so that it never keeps the process alive. Health checks and load scraping
 * run on it.
 */
export class PeriodicRounds {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private started = false;

  constructor(
    private readonly round: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Starts the rounds; the first runs at once. Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.schedule(0);
  }

  /** Stops scheduling (a round in flight finishes). */
  stop(): void {
    this.started = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Stops and waits for the round in flight, if any. */
  async settle(): Promise<void> {
    this.stop();
    await this.running?.catch(() => {});
  }

  /** Runs one round now, or joins the one in flight. */
  runNow(): Promise<void> {
    if (this.running !== undefined) return this.running;
    const round = this.round().finally(() => {
      this.running = undefined;
    });
    this.running = round;
    return round;
  }

  private schedule(delay: number): void {
    if (!this.started) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const t0 = this.now();
      void this.runNow().finally(() => this.schedule(Math.max(0, this.intervalMs - (this.now() - t0))));
    }, delay);
    this.timer.unref();
  }
}
