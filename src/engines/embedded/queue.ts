/**
 * The replica's bounded queue: requests enqueue all their texts or none (429 when the queue
 * cannot take them all); one loop takes up to `maxBatch` texts per step and embeds them. Texts
 * run one by one inside a step (see model.ts: batch 1 keeps vectors independent of batch-mates),
 * so the batch is a scheduling unit, not a tensor.
 */
import { InferplaneError } from "../../errors.js";

interface Job {
  ids: number[];
  done(v: Float32Array): void;
  fail(err: unknown): void;
}

export interface QueueObserver {
  depth(n: number): void;
  running(n: number): void;
  batch(n: number): void;
}

export class EmbedQueue {
  private readonly jobs: Job[] = [];
  private active = false;
  private closed = false;

  constructor(
    private readonly run: (ids: number[]) => Promise<Float32Array>,
    readonly maxQueue: number,
    readonly maxBatch: number,
    private readonly observe: QueueObserver,
  ) {}

  get depth(): number {
    return this.jobs.length;
  }

  /** Vectors of `inputs` in order; throws `embedding_queue_full` without queueing anything. */
  submit(inputs: number[][]): Promise<Float32Array[]> {
    if (this.closed)
      return Promise.reject(new InferplaneError("shutting_down", "the replica is shutting down"));
    if (this.jobs.length + inputs.length > this.maxQueue) {
      return Promise.reject(
        new InferplaneError(
          "embedding_queue_full",
          `the queue holds ${this.jobs.length} of ${this.maxQueue} texts and cannot take ${inputs.length} more`,
        ),
      );
    }
    const all = Promise.all(
      inputs.map(
        (ids) =>
          new Promise<Float32Array>((done, fail) => {
            this.jobs.push({ ids, done, fail });
          }),
      ),
    );
    this.observe.depth(this.jobs.length);
    if (!this.active) void this.loop();
    return all;
  }

  private async loop(): Promise<void> {
    this.active = true;
    try {
      while (this.jobs.length > 0) {
        const step = this.jobs.splice(0, this.maxBatch);
        this.observe.depth(this.jobs.length);
        this.observe.batch(step.length);
        this.observe.running(step.length);
        for (const job of step) {
          try {
            job.done(await this.run(job.ids));
          } catch (err) {
            job.fail(err);
          }
        }
        this.observe.running(0);
      }
    } finally {
      this.active = false;
    }
  }

  /** Refuses new work; queued texts still finish. */
  close(): void {
    this.closed = true;
  }
}
