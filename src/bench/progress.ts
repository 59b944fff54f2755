/**
 * Live progress on a terminal: one line, redrawn four times a second — a bar, completed and failed
 * requests, running TTFT / ITL p50 and the request rate so far. Nothing when not a TTY.
 */
import type { RequestRecord } from "./load.js";
import { fmt } from "./report.js";
import { percentile } from "./stats.js";

export class Progress {
  private done = 0;
  private failed = 0;
  private readonly ttft: number[] = [];
  private readonly itl: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly t0 = performance.now();

  constructor(
    private readonly write: (text: string) => void,
    private readonly total: number | undefined,
    private readonly label = "",
  ) {}

  start(): this {
    this.timer = setInterval(() => this.draw(), 250);
    this.timer.unref();
    return this;
  }

  readonly onRecord = (r: RequestRecord): void => {
    this.done++;
    if (!r.ok) this.failed++;
    else if (Number.isFinite(r.ttftMs)) {
      this.ttft.push(r.ttftMs);
      // Keep the running ITL sample bounded: the last 20,000 gaps are plenty for a p50.
      for (const g of r.itlMs) this.itl.push(g);
      if (this.itl.length > 40_000) this.itl.splice(0, this.itl.length - 20_000);
    }
  };

  line(): string {
    const width = 24;
    const share = this.total ? Math.min(1, this.done / this.total) : 0;
    const filled = Math.round(share * width);
    const bar = this.total ? `[${"=".repeat(filled)}${" ".repeat(width - filled)}] ` : "";
    const seconds = (performance.now() - this.t0) / 1000;
    return `${this.label}${bar}${this.done}${this.total ? `/${this.total}` : ""} done, ${this.failed} failed | TTFT p50 ${fmt(percentile(this.ttft, 50), 1)} ms | ITL p50 ${fmt(percentile(this.itl, 50), 2)} ms | ${fmt(this.done / Math.max(seconds, 1e-3), 1)} req/s`;
  }

  private draw(): void {
    this.write(`\r\x1b[2K${this.line()}`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.write(`\r\x1b[2K`);
  }
}
