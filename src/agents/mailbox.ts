import { ClosedError } from "../errors.js";

const closings = new WeakSet<object>();

/**
 * True for the ClosedError a stopped agent's mailbox (or aborted context) rejects with, so the
 * caller sees that ClosedError itself rather than a HandlerError around it. @internal
 */
export function isAgentClosing(error: unknown): error is ClosedError {
  return error instanceof ClosedError && closings.has(error);
}

/** Creates the ClosedError for a stopped agent, marked for {@link isAgentClosing}. @internal */
export function agentClosedError(resource: string): ClosedError {
  const error = new ClosedError(resource);
  closings.add(error);
  return error;
}

interface Job {
  readonly run: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
}

/**
 * One agent instance's inbox: runs at most `concurrency` jobs at once, queues the rest in
 * FIFO order, and on close rejects every queued job with ClosedError synchronously.
 *
 * Why not p-queue here: a job that finds a free slot runs at once with no queueing at all
 * (the common case on the call path), and a stopped agent must reject its queued requests
 * synchronously; p-queue's `clear()` drops queued tasks without settling their promises, and
 * routing every call through it cost more than the call path's target allows. Measured on
 * this machine (`npx tsx bench/mailbox.ts`), see the figures in BENCHMARKS.md.
 * @internal
 */
export class Mailbox {
  readonly #concurrency: number;
  readonly #resource: string;
  #active = 0;
  #queue: Job[] = [];
  #head = 0;
  #closed = false;

  constructor(concurrency: number, resource: string) {
    this.#concurrency = concurrency;
    this.#resource = resource;
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

  /** Runs `run` when a slot is free; its result or error settles the returned promise. */
  push<T>(run: () => T | Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(agentClosedError(this.#resource));
    if (this.#active < this.#concurrency) {
      this.#active++;
      return this.#start(run);
    }
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
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
    for (let i = head; i < queue.length; i++) queue[i]!.reject(agentClosedError(this.#resource));
  }

  async #start<T>(run: () => T | Promise<T>): Promise<T> {
    try {
      return await run();
    } finally {
      this.#active--;
      this.#next();
    }
  }

  #next(): void {
    while (this.#active < this.#concurrency && this.#head < this.#queue.length) {
      const job = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as unknown as Job;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      this.#active++;
      this.#start(job.run).then(job.resolve, job.reject);
    }
  }
}
