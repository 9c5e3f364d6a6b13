import { thenOf } from "../channels/message.js";
import type { RequestScope } from "../channels/transport.js";
import { ClosedError } from "../errors.js";
import { passThrough } from "../runtime/pass-through.js";

/**
 * Creates the ClosedError a stopped agent answers with. It is marked pass-through, so a
 * caller sees the ClosedError itself rather than a HandlerError around it. @internal
 */
export function agentClosedError(resource: string): ClosedError {
  return passThrough(new ClosedError(resource));
}

/**
 * Counts the handlers running across the agents of one system, so `idle()` can wait for the
 * last one, whether or not its caller still waits. @internal
 */
export class ActivityTracker {
  running = 0;
  #waiters: (() => void)[] = [];

  /** Calls `fn` once when no handler runs: at once if none does. */
  whenQuiet(fn: () => void): void {
    if (this.running === 0) fn();
    else this.#waiters.push(fn);
  }

  ended(): void {
    if (--this.running === 0 && this.#waiters.length > 0) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w();
    }
  }
}

/** A job waiting for a slot: a node of the mailbox's doubly-linked FIFO. */
class Queued<J> {
  prev: Queued<J> | undefined = undefined;
  next: Queued<J> | undefined = undefined;
  readonly job: J;
  readonly scope: RequestScope | undefined;
  resolve: (value: unknown) => void = noop;
  reject: (reason: unknown) => void = noop;

  constructor(job: J, scope: RequestScope | undefined) {
    this.job = job;
    this.scope = scope;
  }
}

const noop = (): void => undefined;
// eslint-disable-next-line @typescript-eslint/unbound-method -- compared by identity, never called unbound
const nativeThen = Promise.prototype.then;

/** Who runs a mailbox's jobs. @internal */
export interface MailboxOwner<J> {
  handleJob(job: J, scope: RequestScope | undefined): unknown;
}

/**
 * One agent instance's inbox: runs at most `concurrency` jobs at once, queues the rest in
 * FIFO order, and on close rejects every queued job with ClosedError synchronously.
 *
 * A job that finds a free slot runs at once, with no queueing and no promise of its own: a
 * synchronous handler's value comes straight back, so the call path pays nothing for the
 * mailbox in the common case.
 *
 * A queued job whose caller gives up (its request's scope ends cancelled) leaves the queue at
 * once and never starts. A running job keeps its slot until it returns: cancellation reaches
 * it through its context's signal, not by taking the slot away.
 *
 * Starting queued jobs never recurses: a job that completes synchronously only gives its slot
 * back, and the one loop that drains the queue starts the next, so 100,000 synchronous jobs
 * queued behind a slow one run in one flat loop.
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
  readonly #owner: MailboxOwner<J>;
  readonly #tracker: ActivityTracker | undefined;
  #active = 0;
  #head: Queued<J> | undefined;
  #tail: Queued<J> | undefined;
  #queued = 0;
  #draining = false;
  #closed = false;

  constructor(concurrency: number, agentId: string, owner: MailboxOwner<J>, tracker?: ActivityTracker) {
    this.#concurrency = concurrency;
    this.#agentId = agentId;
    this.#owner = owner;
    this.#tracker = tracker;
  }

  /** Jobs running now. */
  get active(): number {
    return this.#active;
  }

  /** Jobs waiting for a slot. */
  get queued(): number {
    return this.#queued;
  }

  /** Running plus queued: what "least busy" compares. */
  get load(): number {
    return this.#active + this.#queued;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Runs `job` now if a slot is free (returning its value, or its promise), else queues it
   * and returns a promise of its result. Never throws: failures come back as rejections.
   * `scope` is the job's request: when its caller gives up while the job is queued, the job
   * leaves the queue and its promise rejects with the caller's reason.
   */
  push(job: J, scope?: RequestScope): unknown {
    if (this.#closed) return Promise.reject(agentClosedError(`agent ${JSON.stringify(this.#agentId)}`));
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the caller's reason, unchanged
    if (scope?.cancelled === true) return Promise.reject(scope.cancelReason);
    if (this.#active < this.#concurrency && this.#head === undefined) {
      this.#active++;
      return this.#start(job, scope);
    }
    const node = new Queued(job, scope);
    const promise = new Promise((resolve, reject) => {
      node.resolve = resolve;
      node.reject = reject;
    });
    node.prev = this.#tail;
    if (this.#tail === undefined) this.#head = node;
    else this.#tail.next = node;
    this.#tail = node;
    this.#queued++;
    if (scope !== undefined) {
      scope.onEnd = (cancelled, reason) => {
        if (!cancelled) return;
        this.#unlink(node);
        node.reject(reason);
      };
    }
    return promise;
  }

  /** Rejects every queued job with ClosedError at once; running jobs finish on their own. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    let node = this.#head;
    this.#head = this.#tail = undefined;
    this.#queued = 0;
    while (node !== undefined) {
      const next = node.next;
      node.prev = node.next = undefined;
      if (node.scope !== undefined) node.scope.onEnd = undefined;
      node.reject(agentClosedError(`agent ${JSON.stringify(this.#agentId)}`));
      node = next;
    }
  }

  #unlink(node: Queued<J>): void {
    if (node.prev === undefined) {
      if (this.#head !== node) return; // already taken out
      this.#head = node.next;
    } else node.prev.next = node.next;
    if (node.next === undefined) this.#tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = node.next = undefined;
    this.#queued--;
  }

  /** Runs `job`; returns its value, or a native promise of it (then #async is true). */
  #start(job: J, scope: RequestScope | undefined): unknown {
    this.#async = false;
    if (this.#tracker !== undefined) this.#tracker.running++;
    let result: unknown;
    let then: ReturnType<typeof thenOf>;
    try {
      result = this.#owner.handleJob(job, scope);
      // A hostile `then` getter throws here: the job failed, and its slot comes back.
      then = thenOf(result);
    } catch (error) {
      this.#release();
      this.#async = true;
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what the handler threw, unchanged
      return Promise.reject(error);
    }
    if (then === undefined) {
      this.#release();
      return result;
    }
    this.#async = true;
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
    if (then === nativeThen) {
      try {
        return (result as Promise<unknown>).then(this.#settled, this.#failed);
      } catch {
        // A Proxy around a promise: the native `then` refuses it. Adopt it below instead.
      }
    }
    // Another thenable may call back twice, or throw: a native promise takes its first outcome.
    const adopted = new Promise<unknown>((resolve, reject) => {
      then.call(result, resolve, reject);
    });
    return adopted.then(this.#settled, this.#failed);
  }

  #async = false;
  #settled: ((value: unknown) => unknown) | undefined;
  #failed: ((error: unknown) => never) | undefined;

  #release(): void {
    this.#active--;
    this.#tracker?.ended();
    // A synchronous job started by the loop below lands here: the loop starts the next one.
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#active < this.#concurrency && this.#head !== undefined) {
        const next = this.#head;
        this.#unlink(next);
        if (next.scope !== undefined) next.scope.onEnd = undefined;
        this.#active++;
        const result = this.#start(next.job, next.scope);
        // Not `instanceof`: a hostile Proxy's getPrototypeOf trap would throw in this loop.
        if (this.#async) (result as Promise<unknown>).then(next.resolve, next.reject);
        else next.resolve(result);
      }
    } finally {
      this.#draining = false;
    }
  }
}
