import type { ChangeRecord } from "./schema.js";

/**
 * The changes one commit writes, and the promise every writer among them waits on: it
 * resolves once the commit is durable, or rejects if it failed.
 * @internal
 */
export class Batch {
  readonly records: ChangeRecord[] = [];
  readonly done: Promise<void>;
  #resolve!: () => void;
  #reject!: (err: unknown) => void;

  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Each waiter handles the rejection on its own await; the shared promise must not be
    // reported as unhandled when every waiter is gone.
    this.done.catch(() => undefined);
  }

  settle(error: unknown): void {
    if (error === undefined) this.#resolve();
    else this.#reject(error);
  }
}

/**
 * Group commit: changes committed in memory during one turn of the event loop (and the turns
 * it takes the previous commit to finish) go to disk in one transaction, with one fsync, and
 * every writer among them is acknowledged after that fsync.
 *
 * Why: with `synchronous = FULL` a commit costs an fsync (about 2 ms on this machine's disk),
 * whatever it holds. One transaction per write caps a store at a few hundred writes per second
 * however many writers there are; sharing the fsync lets concurrent writers scale while each
 * write is still acknowledged only once it is durable.
 * @internal
 */
export class GroupCommit {
  readonly #write: (records: readonly ChangeRecord[]) => void;
  readonly #onCommitted: (batch: Batch) => void;
  readonly #onFailed: (error: unknown, batch: Batch) => void;
  #open: Batch | undefined;
  #scheduled = false;

  /**
   * @param write writes and commits records durably, or throws
   * @param onCommitted runs after a batch is durable, before its writers resume
   * @param onFailed runs when a commit threw, before its writers see the error
   */
  constructor(
    write: (records: readonly ChangeRecord[]) => void,
    onCommitted: (batch: Batch) => void,
    onFailed: (error: unknown, batch: Batch) => void,
  ) {
    this.#write = write;
    this.#onCommitted = onCommitted;
    this.#onFailed = onFailed;
  }

  /** The batch not yet written, if any change waits. */
  get open(): Batch | undefined {
    return this.#open;
  }

  /** Adds `record` (the next in sequence order) to the open batch and returns that batch. */
  add(record: ChangeRecord): Batch {
    let batch = this.#open;
    if (batch === undefined) {
      batch = this.#open = new Batch();
      if (!this.#scheduled) {
        this.#scheduled = true;
        // A macrotask, not a microtask: every writer that is ready in this turn, including the
        // ones a resolved promise is about to resume, joins the batch before it is written.
        setImmediate(this.#run);
      }
    }
    batch.records.push(record);
    return batch;
  }

  /** Writes the open batch now (used by close). */
  flush(): void {
    const batch = this.#open;
    if (batch === undefined) return;
    this.#open = undefined;
    let error: unknown;
    try {
      this.#write(batch.records);
    } catch (err) {
      error = err ?? new Error("commit failed");
    }
    if (error === undefined) {
      this.#onCommitted(batch);
      batch.settle(undefined);
    } else {
      this.#onFailed(error, batch);
    }
  }

  readonly #run = (): void => {
    this.#scheduled = false;
    this.flush();
  };
}
