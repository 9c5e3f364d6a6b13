import type { Clock, TimerHandle } from "./clock.js";

/**
 * A pending deadline in a {@link TimerQueue}. `cancel()` is idempotent and O(1).
 * @internal
 */
export interface Deadline {
  cancel(): void;
  /** True until the deadline fired or was cancelled. */
  readonly active: boolean;
}

class Entry implements Deadline {
  prev: Entry | undefined;
  next: Entry | undefined;
  list: DelayList | undefined;
  readonly deadline: number;
  readonly seq: number;
  fn: (() => void) | undefined;
  readonly #queue: TimerQueue;

  constructor(queue: TimerQueue, deadline: number, seq: number, fn: () => void) {
    this.#queue = queue;
    this.deadline = deadline;
    this.seq = seq;
    this.fn = fn;
  }

  get active(): boolean {
    return this.list !== undefined;
  }

  cancel(): void {
    if (this.list !== undefined) this.#queue.remove(this);
    // Already taken out to fire in the current batch: make sure it does not run.
    else this.fn = undefined;
  }
}

/** A FIFO of entries that share one delay, so their deadlines are already in order. */
class DelayList {
  head: Entry | undefined;
  tail: Entry | undefined;
  readonly delay: number;

  constructor(delay: number) {
    this.delay = delay;
  }
}

/**
 * All pending deadlines of one runtime, driven by a single clock timer.
 *
 * Why not one `setTimeout` per wait: measured on the reference machine, a per-request timer
 * triples the cost of a request/reply round trip. Deadlines are grouped by delay (as Node's
 * own timer lists are): entries of one delay arrive in deadline order, so insert and cancel
 * are O(1) on a linked list, and only the heads of the few distinct delays compete for the
 * one armed clock timer. When the queue empties, the clock timer is cleared, so an idle
 * runtime holds no timer at all.
 * @internal
 */
export class TimerQueue {
  readonly #clock: Clock;
  readonly #lists = new Map<number, DelayList>();
  #size = 0;
  #seq = 0;
  #handle: TimerHandle | undefined;
  #armedAt = Infinity;
  #firing = false;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** The clock this queue reads. */
  get clock(): Clock {
    return this.#clock;
  }

  /** Number of pending deadlines. */
  get size(): number {
    return this.#size;
  }

  /** Calls `fn` once `delay` ms from now, unless cancelled first. */
  add(delay: number, fn: () => void): Deadline {
    const d = delay > 0 ? delay : 0;
    const deadline = this.#clock.now() + d;
    const entry = new Entry(this, deadline, this.#seq++, fn);
    let list = this.#lists.get(d);
    if (list === undefined) {
      list = new DelayList(d);
      this.#lists.set(d, list);
    }
    entry.list = list;
    entry.prev = list.tail;
    if (list.tail === undefined) list.head = entry;
    else list.tail.next = entry;
    list.tail = entry;
    this.#size++;
    // While firing, #rearm picks the earliest of everything pending once the batch is done.
    if (!this.#firing && deadline < this.#armedAt) this.#arm(deadline);
    return entry;
  }

  /** @internal */
  remove(entry: Entry): void {
    this.#unlink(entry);
    entry.fn = undefined;
    if (this.#size === 0 && !this.#firing) this.#disarm();
  }

  /** Cancels every pending deadline without running it. */
  clear(): void {
    for (const list of this.#lists.values()) {
      for (let e = list.head; e !== undefined; e = e.next) {
        e.list = undefined;
        e.fn = undefined;
      }
    }
    this.#lists.clear();
    this.#size = 0;
    this.#disarm();
  }

  #unlink(entry: Entry): void {
    const list = entry.list;
    if (list === undefined) return;
    if (entry.prev === undefined) list.head = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next === undefined) list.tail = entry.prev;
    else entry.next.prev = entry.prev;
    entry.prev = entry.next = entry.list = undefined;
    this.#size--;
    if (list.head === undefined) this.#lists.delete(list.delay);
  }

  #arm(at: number): void {
    if (this.#handle !== undefined) this.#clock.clearTimeout(this.#handle);
    this.#armedAt = at;
    this.#handle = this.#clock.setTimeout(() => this.#fire(), Math.max(0, at - this.#clock.now()));
  }

  #disarm(): void {
    if (this.#handle !== undefined) this.#clock.clearTimeout(this.#handle);
    this.#handle = undefined;
    this.#armedAt = Infinity;
  }

  #fire(): void {
    this.#handle = undefined;
    this.#armedAt = Infinity;
    const now = this.#clock.now();
    const due: Entry[] = [];
    for (const list of this.#lists.values()) {
      for (let e = list.head; e !== undefined && e.deadline <= now; e = e.next) due.push(e);
    }
    // Same instant: creation order, so a seeded run is repeatable.
    due.sort((a, b) => a.deadline - b.deadline || a.seq - b.seq);
    for (const e of due) this.#unlink(e);
    this.#firing = true;
    try {
      for (const e of due) {
        const fn = e.fn;
        e.fn = undefined;
        fn?.();
      }
    } finally {
      this.#firing = false;
      this.#rearm();
    }
  }

  #rearm(): void {
    if (this.#handle !== undefined) this.#disarm();
    if (this.#size === 0) return;
    let earliest = Infinity;
    for (const list of this.#lists.values()) {
      if (list.head !== undefined && list.head.deadline < earliest) earliest = list.head.deadline;
    }
    if (earliest !== Infinity) this.#arm(earliest);
  }
}
