/**
 * Work that can wait a turn, run in arrival order in slices of the event loop. When 1,000
 * requests arrive together, Node reads and parses every ready one in one poll phase; tokenizing,
 * admitting and answering each of them there as well made that turn longer still, and no timer
 * (an engine step, a health check) runs until it ends. Queued here, each turn runs tasks for at most
 * `budgetMs` and at most `perTurn` of them (at least one), then yields with setImmediate so
 * timers and I/O run between.
 */
export class SlicedQueue {
  private tasks: (() => void)[] = [];
  private head = 0;
  private scheduled = false;
  /** Turns taken so far (for tests and diagnosis). */
  turns = 0;

  constructor(
    readonly budgetMs = 1,
    readonly perTurn = Number.POSITIVE_INFINITY,
  ) {}

  get pending(): number {
    return this.tasks.length - this.head;
  }

  /** Queues a task; tasks run first in, first out. A task that throws is reported and skipped. */
  push(task: () => void): void {
    this.tasks.push(task);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  }

  private readonly run = (): void => {
    this.scheduled = false;
    this.turns++;
    const tasks = this.tasks;
    const end = performance.now() + this.budgetMs;
    const last = this.head + this.perTurn;
    while (this.head < tasks.length) {
      const task = tasks[this.head] as () => void;
      tasks[this.head++] = noop; // release the closure
      try {
        task();
      } catch (err) {
        process.emitWarning(`simulator task failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (this.head >= last || performance.now() > end) break;
    }
    if (this.head >= tasks.length) {
      this.tasks = [];
      this.head = 0;
    } else {
      if (this.head > 1024) {
        this.tasks = tasks.slice(this.head);
        this.head = 0;
      }
      this.scheduled = true;
      setImmediate(this.run);
    }
  };
}

const noop = (): void => {};

/** The process's admission queue: every replica in it shares the one event loop. */
export const admissionQueue = new SlicedQueue(1);

/**
 * New connections, accepted paused (the server's `pauseOnConnect`), start reading here, 8 per
 * turn: resuming is cheap, but each resumed socket's request is then parsed and routed (HTTP,
 * fastify, the JSON body) in the next poll phase, so that phase handles at most 8 new requests
 * however many connections arrived at once. (The accepts themselves, in libuv's accept loop,
 * cannot be spread from here.)
 */
export const connectionQueue = new SlicedQueue(1, 8);
