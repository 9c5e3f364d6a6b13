import { ClosedError } from "../errors.js";
import { passThrough } from "../runtime/pass-through.js";

/**
 * Creates the ClosedError a stopped agent answers with. It is marked pass-through, so a
 * caller sees the ClosedError itself rather than a HandlerError around it. @internal
 */
export function agentClosedError(resource: string): ClosedError {
  return passThrough(new ClosedError(resource));
}

interface Queued<J> {
  readonly job: J;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  v !== null && (typeof v === "object" || typeof v === "function") && typeof (v as { then?: unknown }).then === "function";

/**
 * One agent instance's inbox: runs at most `concurrency` jobs at once, queues the rest in
 * FIFO order, and on close rejects every queued job with ClosedError synchronously.
 *
 * A job that finds a free slot runs at once, with no queueing and no promise of its own: a
 * synchronous handler's value comes straight back, so the call path pays nothing for the
 * mailbox in the common case.
 *
 * Why not p-queue here (measured in one process on the 2-core reference machine with
 * `npx tsx bench/mailbox.ts`): a job through p-queue cost 2.97 µs with a free slot and 2.61 µs
 * queued, against 105 ns and 347 ns here (28x and 7.5x); the whole `system.call` round trip
 * must cost less than a request/reply emulation with a per-request timer (~0.65 µs). And a
 * stopped agent must reject its queued requests synchronously, while p-queue's `clear()` drops
 * queued tasks without settling their promises.
 * @internal
 */
export class Mailbox<J> {
  readonly #concurrency: number;
  readonly #agentId: string;
  readonly #owner: { handleJob(job: J): unknown };
  #active = 0;
  #queue: Queued<J>[] = [];
  #head = 0;
  #closed = false;

  constructor(concurrency: number, agentId: string, owner: { handleJob(job: J): unknown }) {
    this.#concurrency = concurrency;
    this.#agentId = agentId;
    this.#owner = owner;
  }

  /** Jobs running now. */
  get active(): number {
    return this.#active;
  }

  /** Jobs waiting for a slot. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** Running plus queued: what "least busy" compares. */
  get load(): number {
    return this.#active + this.#queue.length - this.#head;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Runs `job` now if a slot is free (returning its value, or its promise), else queues it
   * and returns a promise of its result. Never throws: failures come back as rejections.
   */
  push(job: J): unknown {
    if (this.#closed) return Promise.reject(agentClosedError(`agent ${JSON.stringify(this.#agentId)}`));
    if (this.#active < this.#concurrency) {
      this.#active++;
      return this.#start(job);
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ job, resolve, reject });
    });
  }

  /** Rejects every queued job with ClosedError at once; running jobs finish on their own. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const queue = this.#queue;
    const head = this.#head;
    this.#queue = [];
    this.#head = 0;
    for (let i = head; i < queue.length; i++) queue[i]!.reject(agentClosedError(`agent ${JSON.stringify(this.#agentId)}`));
  }

  #start(job: J): unknown {
    let result: unknown;
    try {
      result = this.#owner.handleJob(job);
    } catch (error) {
      this.#release();
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what the handler threw, unchanged
      return Promise.reject(error);
    }
    if (!isThenable(result)) {
      this.#release();
      return result;
    }
    // One pair of callbacks per mailbox, made when its first asynchronous job ends: no
    // closure per job, and none at all for an agent that never runs one.
    this.#settled ??= (value: unknown): unknown => {
      this.#release();
      return value;
    };
    this.#failed ??= (error: unknown): never => {
      this.#release();
      throw error;
    };
    return result.then(this.#settled, this.#failed);
  }

  #settled: ((value: unknown) => unknown) | undefined;
  #failed: ((error: unknown) => never) | undefined;

  #release(): void {
    this.#active--;
    while (this.#active < this.#concurrency && this.#head < this.#queue.length) {
      const next = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as unknown as Queued<J>;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      this.#active++;
      Promise.resolve(this.#start(next.job)).then(next.resolve, next.reject);
    }
  }
}
