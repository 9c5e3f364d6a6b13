import { ValidationError } from "../errors.js";
import type { Clock, TimerHandle } from "../runtime/clock.js";
import { describeValue } from "../runtime/describe.js";

interface VirtualTimer {
  readonly due: number;
  readonly seq: number;
  readonly fn: () => void;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A clock whose time moves only when a test advances it. Timers fire in (due time, creation
 * order); before and after each timer, every ready delivery runs and promise callbacks
 * settle, so a reply already on its way beats a timeout that falls due later.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const p = channel.request("me", "slow", {}, { timeout: 100 });
 * await clock.advance(100); // p rejects with TimeoutError exactly now
 * ```
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  // Kept sorted by (due, seq); timers are few (covey drives all its deadlines through one).
  #timers: VirtualTimer[] = [];
  readonly #busy: (() => boolean)[] = [];
  // advance() calls in progress: a driver (run, explore) leaves the timers to them meanwhile.
  #advancing = 0;

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: VirtualTimer = { due: this.#now + Math.max(0, ms || 0), seq: this.#seq++, fn };
    let lo = 0;
    let hi = this.#timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.#timers[mid]!;
      if (t.due < timer.due || (t.due === timer.due && t.seq < timer.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.#timers.splice(lo, 0, timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    const i = this.#timers.indexOf(handle as VirtualTimer);
    if (i >= 0) this.#timers.splice(i, 1);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Due time of the next timer, or undefined when none is pending. */
  get nextDue(): number | undefined {
    return this.#timers[0]?.due;
  }

  /** Whether an {@link advance} is in progress. @internal */
  get advancing(): boolean {
    return this.#advancing > 0;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, in order.
   * @returns once the clock reads `now + ms` and everything ready has run.
   * @throws ValidationError (as a rejection) unless `ms` is a finite number >= 0: an
   * accidental `advance()` or `advance(NaN)` would otherwise fire every timer and leave the
   * clock reading NaN.
   */
  async advance(ms: number): Promise<void> {
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
      throw new ValidationError(`VirtualClock.advance: ms must be a finite number >= 0, got ${describeValue(ms)}`, [
        { path: ["ms"], message: "must be a finite number >= 0" },
      ]);
    }
    const target = this.#now + ms;
    this.#advancing++;
    try {
      await this.settle();
      for (;;) {
        const next = this.#timers[0];
        if (next === undefined || next.due > target) break;
        this.#timers.shift();
        this.#now = Math.max(this.#now, next.due);
        next.fn();
        await this.settle();
      }
      // Another advance running alongside may already have moved past `target`.
      if (target > this.#now) this.#now = target;
      await this.settle();
    } finally {
      this.#advancing--;
    }
  }

  /**
   * Advances until no timer is pending (timers created on the way fire too).
   * @throws Error after `maxTimers` timers, which means something re-arms itself forever.
   */
  async runAll(opts: { maxTimers?: number } = {}): Promise<void> {
    const max = opts.maxTimers ?? 100_000;
    let fired = 0;
    await this.settle();
    while (this.#timers.length > 0) {
      if (++fired > max) throw new Error(`VirtualClock.runAll: more than ${max} timers fired; a timer keeps re-arming itself`);
      const next = this.#timers[0]!;
      await this.advance(next.due - this.#now);
    }
  }

  /**
   * Lets every ready delivery run and promise callbacks settle, without moving time.
   * @internal used by advance, runUntil and the seeded scheduler.
   */
  async settle(): Promise<void> {
    do {
      await turn();
    } while (this.#busy.some((busy) => busy()));
  }

  /** Registers a source of ready work that {@link settle} waits for. @internal */
  addBusyCheck(busy: () => boolean): void {
    this.#busy.push(busy);
  }
}
