import { ValidationError } from "../errors.js";
import type { Scheduler } from "../runtime/scheduler.js";
import { checkName } from "../runtime/wait.js";
import type { StateChange } from "./types.js";
import { errorMessage } from "../runtime/describe.js";

/** Receives what a watch listener threw (or the reason its promise rejected). */
export type ListenerErrorHandler = (error: unknown, change: StateChange) => void;

interface Watcher {
  readonly seq: number;
  /** The prefix for a `prefix*` filter, `""` for `*`; undefined for an exact key. */
  readonly prefix: string | undefined;
  readonly filter: string;
  readonly listener: (change: StateChange) => void;
  active: boolean;
}

interface Pending {
  /** The change; undefined for the "initial values done" marker of one watcher. */
  readonly change: StateChange | undefined;
  /** The watchers that matched when the change was committed, in subscription order. */
  readonly watchers: readonly Watcher[];
  next: number;
  /** The marker's callback (when `change` is undefined). */
  readonly ready?: () => void;
}

/**
 * Reports a listener failure as a process warning: visible (printed by Node), never fatal.
 * @internal
 */
export function warnListenerError(error: unknown, change: StateChange): void {
  const reason = errorMessage(error);
  const warning = new Error(`A state watch listener threw on a ${change.type} of ${JSON.stringify(change.key)}: ${reason}`, {
    cause: error,
  });
  warning.name = "CoveyListenerWarning";
  process.emitWarning(warning);
}

/** Reports what a watch's `onReady` threw as a process warning: never fatal, never silent. */
function reportReadyError(error: unknown, filter: string): void {
  try {
    const warning = new Error(`The onReady callback of a state watch on ${JSON.stringify(filter)} threw: ${errorMessage(error)}`, { cause: error });
    warning.name = "CoveyListenerWarning";
    process.emitWarning(warning);
  } catch {
    // Nothing is left to report with.
  }
}

/**
 * The watchers of one store and the queue of changes still to deliver to them.
 *
 * Every committed change goes to each watcher that matched at commit time, exactly once and in
 * commit order. Deliveries run one at a time through the runtime's scheduler: when a listener
 * writes to the store, its change is queued and delivered after the current change has reached
 * every listener, never re-entering a listener. A deferring (seeded) scheduler may postpone a
 * delivery, but the next one is only handed over once it ran, so order holds under any
 * scheduler.
 * @internal
 */
export class ChangeFeed {
  readonly #scheduler: Scheduler;
  readonly #onError: ListenerErrorHandler;
  // Copy-on-write arrays: a queued change keeps the array it matched, unaffected by later
  // subscriptions.
  readonly #exact = new Map<string, readonly Watcher[]>();
  #patterns: readonly Watcher[] = [];
  #count = 0;
  #seq = 0;
  readonly #queue: (Pending | undefined)[] = [];
  #head = 0;
  // A delivery has been handed to the scheduler and has not run yet.
  #busy = false;
  // #pump is on the stack: a delivery that runs synchronously must not start another pump.
  #pumping = false;
  #currentWatcher: Watcher | undefined;
  #currentChange: StateChange | undefined;
  #currentReady: (() => void) | undefined;

  constructor(scheduler: Scheduler, onError: ListenerErrorHandler) {
    this.#scheduler = scheduler;
    this.#onError = onError;
  }

  /** Number of active watchers. */
  get size(): number {
    return this.#count;
  }

  /**
   * Adds a watcher. `initial` changes (current values or a replay) are queued for it alone, ahead
   * of every change committed from now on, then the `onReady` marker.
   */
  watch(filter: string, listener: (change: StateChange) => void, initial?: readonly StateChange[], onReady?: () => void): () => void {
    checkName(filter, "filter");
    if (typeof listener !== "function") {
      throw new ValidationError("watch listener must be a function", [{ path: ["listener"], message: "must be a function" }]);
    }
    const prefix = filter.endsWith("*") ? filter.slice(0, -1) : undefined;
    const w: Watcher = { seq: this.#seq++, prefix, filter, listener, active: true };
    if (prefix === undefined) this.#exact.set(filter, [...(this.#exact.get(filter) ?? []), w]);
    else this.#patterns = [...this.#patterns, w];
    this.#count++;
    if (initial !== undefined || onReady !== undefined) {
      const only = [w];
      for (const change of initial ?? []) this.#queue.push({ change, watchers: only, next: 0 });
      if (onReady !== undefined) this.#queue.push({ change: undefined, watchers: only, next: 0, ready: onReady });
      // Not before watch() returns: the listener may need the unsubscribe function it returns.
      queueMicrotask(() => this.#pump());
    }
    return () => {
      if (!w.active) return;
      w.active = false;
      this.#count--;
      if (prefix === undefined) {
        const rest = this.#exact.get(filter)!.filter((x) => x !== w);
        if (rest.length > 0) this.#exact.set(filter, rest);
        else this.#exact.delete(filter);
      } else {
        this.#patterns = this.#patterns.filter((x) => x !== w);
      }
    };
  }

  /** Queues `change` for every watcher matching its key now, and delivers what it can. */
  publish(change: StateChange): void {
    if (this.#count === 0) return;
    const exact = this.#exact.get(change.key);
    let matched: readonly Watcher[] | undefined = exact;
    if (this.#patterns.length > 0) {
      const key = change.key;
      const pats = this.#patterns.filter((w) => key.startsWith(w.prefix!));
      if (pats.length > 0) {
        matched = exact === undefined ? pats : [...exact, ...pats].sort((a, b) => a.seq - b.seq);
      }
    }
    if (matched === undefined) return;
    this.#queue.push({ change, watchers: matched, next: 0 });
    this.#pump();
  }

  #pump(): void {
    if (this.#busy) return;
    while (this.#head < this.#queue.length) {
      const p = this.#queue[this.#head]!;
      if (p.next >= p.watchers.length) {
        this.#queue[this.#head++] = undefined;
        continue;
      }
      const w = p.watchers[p.next++]!;
      if (!w.active) continue;
      this.#busy = true;
      this.#currentWatcher = w;
      this.#currentChange = p.change;
      this.#currentReady = p.ready;
      this.#pumping = true;
      try {
        this.#scheduler.deliver("state", this.#run);
      } finally {
        this.#pumping = false;
      }
      // Deferred by the scheduler: #run resumes the pump when it runs.
      if (this.#busy) return;
    }
    this.#queue.length = 0;
    this.#head = 0;
  }

  readonly #run = (): void => {
    const w = this.#currentWatcher!;
    const change = this.#currentChange;
    const ready = this.#currentReady;
    this.#currentWatcher = undefined;
    this.#currentChange = undefined;
    this.#currentReady = undefined;
    if (change === undefined) {
      try {
        if (w.active) ready!();
      } catch (err) {
        reportReadyError(err, w.filter);
      } finally {
        this.#busy = false;
        if (!this.#pumping) this.#pump();
      }
      return;
    }
    try {
      if (w.active) {
        const result: unknown = w.listener(change);
        if (result !== null && typeof result === "object" && typeof (result as PromiseLike<unknown>).then === "function") {
          (result as PromiseLike<unknown>).then(undefined, (err: unknown) => this.#report(err, change));
        }
      }
    } catch (err) {
      this.#report(err, change);
    } finally {
      this.#busy = false;
      if (!this.#pumping) this.#pump();
    }
  };

  #report(error: unknown, change: StateChange): void {
    try {
      this.#onError(error, change);
    } catch {
      // The reporter itself failed: fall back to the default so the failure is not lost.
      try {
        warnListenerError(error, change);
      } catch {
        // Nothing is left to report with; the write must still succeed.
      }
    }
  }
}
