import { systemClock, type Clock, type TimerHandle } from "./clock.js";

/**
 * The longest delay one clock timer can take: Node's timers overflow past 2^31-1 ms (they
 * warn and fire after 1 ms). Longer deadlines arm for this long and re-arm when it passes.
 */
const MAX_TIMER_DELAY = 2_147_483_647;

/** Empty per-delay lists kept for reuse before they are swept. */
const MAX_EMPTY_LISTS = 32;

/** Options of {@link TimerQueue.add}. @internal */
export interface DeadlineOptions {
  /**
   * Whether this deadline keeps the process alive until it fires or is cancelled, as a
   * `setTimeout` does. True for the deadline of a wait somebody awaits (so a deadlock ends in
   * `TimeoutError`, not in a silent exit); false for leases, history and other bookkeeping.
   * @default true
   */
  keepAlive?: boolean;
}

interface Refable {
  ref(): unknown;
  unref(): unknown;
}

function isRefable(handle: TimerHandle | undefined): handle is TimerHandle & Refable {
  return typeof handle === "object" && typeof (handle as Partial<Refable>).ref === "function";
}

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
  readonly keepAlive: boolean;
  readonly #queue: TimerQueue;

  constructor(queue: TimerQueue, deadline: number, seq: number, fn: () => void, keepAlive: boolean) {
    this.#queue = queue;
    this.deadline = deadline;
    this.seq = seq;
    this.fn = fn;
    this.keepAlive = keepAlive;
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
 * one armed clock timer.
 *
 * On the wall clock ({@link systemClock}) the armed timer is kept when the queue empties:
 * sequential calls would otherwise arm and clear it on every call, which measured as most of
 * the cost of a call. The timer fires, finds nothing due and re-arms only if something is
 * pending; while no deadline with `keepAlive` is pending it is unref'd, so an idle runtime
 * never keeps the process alive. On any other clock (a virtual clock in tests) the timer is
 * cleared as soon as the queue empties, so the clock's pending count means "work pending".
 *
 * Delays longer than 2^31-1 ms (e.g. `Number.MAX_SAFE_INTEGER` as "forever") arm the longest
 * timer the platform allows and re-arm when it passes: no overflow warning, no busy loop.
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
  /** Pending deadlines with keepAlive; the armed timer is ref'd exactly while this is > 0. */
  #alive = 0;
  /** Lists left empty in #lists (kept for reuse, swept past MAX_EMPTY_LISTS). */
  #empty = 0;
  #refed = false;
  readonly #lazy: boolean;

  constructor(clock: Clock) {
    this.#clock = clock;
    this.#lazy = clock === systemClock;
  }

  /** The clock this queue reads. */
  get clock(): Clock {
    return this.#clock;
  }

  /** Number of pending deadlines. */
  get size(): number {
    return this.#size;
  }

  /** Pending deadlines that keep the process alive (see {@link DeadlineOptions.keepAlive}). */
  get keepingAlive(): number {
    return this.#alive;
  }

  /**
   * Calls `fn` once `delay` ms from now, unless cancelled first. By default the pending
   * deadline keeps the process alive; pass `{ keepAlive: false }` for bookkeeping timers
   * (leases, history) that must never hold a process open. `from` is the clock time the
   * delay counts from, when the caller has just read it; default: now.
   */
  add(delay: number, fn: () => void, opts?: DeadlineOptions, from?: number): Deadline {
    const d = delay > 0 ? delay : 0;
    // `from`: a clock time the caller already read (reading the wall clock is not free).
    const deadline = (from ?? this.#clock.now()) + d;
    const keepAlive = opts?.keepAlive !== false;
    const entry = new Entry(this, deadline, this.#seq++, fn, keepAlive);
    let list = this.#lists.get(d);
    if (list === undefined) {
      list = new DelayList(d);
      this.#lists.set(d, list);
    } else if (list.head === undefined) {
      this.#empty--;
    }
    entry.list = list;
    entry.prev = list.tail;
    if (list.tail === undefined) list.head = entry;
    else list.tail.next = entry;
    list.tail = entry;
    this.#size++;
    if (keepAlive && this.#alive++ === 0 && !this.#refed && this.#handle !== undefined) this.#ref(true);
    // While firing, #rearm picks the earliest of everything pending once the batch is done.
    if (!this.#firing && deadline < this.#armedAt) this.#arm(deadline);
    return entry;
  }

  /** @internal */
  remove(entry: Entry): void {
    this.#unlink(entry);
    entry.fn = undefined;
    if (this.#size === 0 && !this.#firing && !this.#lazy) this.#disarm();
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
    this.#empty = 0;
    this.#size = 0;
    this.#alive = 0;
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
    if (entry.keepAlive && --this.#alive === 0 && this.#refed) this.#ref(false);
    // An emptied list stays for the next deadline of its delay: deleting and re-adding a Map
    // entry per sequential call measured as most of a deadline's cost. Past a few, sweep.
    if (list.head === undefined && ++this.#empty > MAX_EMPTY_LISTS) this.#sweep();
  }

  #sweep(): void {
    for (const [delay, list] of this.#lists) if (list.head === undefined) this.#lists.delete(delay);
    this.#empty = 0;
  }

  /** Refs or unrefs the armed timer, when the clock's handles support it (Node timers do). */
  #ref(on: boolean): void {
    const handle = this.#handle;
    if (!isRefable(handle)) return;
    if (on) handle.ref();
    else handle.unref();
    this.#refed = on;
  }

  #arm(at: number): void {
    if (this.#handle !== undefined) this.#clock.clearTimeout(this.#handle);
    this.#armedAt = at;
    const delay = Math.min(MAX_TIMER_DELAY, Math.max(0, at - this.#clock.now()));
    this.#handle = this.#clock.setTimeout(() => this.#fire(), delay);
    this.#refed = false;
    // The clock's own timers may already be ref'd (a custom clock): follow #alive either way.
    if (isRefable(this.#handle)) this.#ref(this.#alive > 0);
  }

  #disarm(): void {
    if (this.#handle !== undefined) this.#clock.clearTimeout(this.#handle);
    this.#handle = undefined;
    this.#refed = false;
    this.#armedAt = Infinity;
  }

  #fire(): void {
    this.#handle = undefined;
    this.#refed = false;
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
    if (this.#size === 0) {
      // Nothing pending when the timer fired: drop the lists kept for reuse.
      if (this.#empty > 0) this.#sweep();
      return;
    }
    let earliest = Infinity;
    for (const list of this.#lists.values()) {
      if (list.head !== undefined && list.head.deadline < earliest) earliest = list.head.deadline;
    }
    if (earliest !== Infinity) this.#arm(earliest);
  }
}
