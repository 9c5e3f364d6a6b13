/** An opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = object | number;

/**
 * The source of time for everything in covey. Production code uses {@link systemClock};
 * tests use `VirtualClock` from `covey/testing` so that time only moves when the test says so.
 */
export interface Clock {
  /** Current time in milliseconds. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a handle that already fired or was cleared is ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The wall clock. Its timers are unref'd; covey's deadline queue refs its one timer while a
 * wait with a deadline is pending (so a deadlock ends in `TimeoutError`, not in a silent
 * exit), and leaves it unref'd for leases and bookkeeping.
 */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return handle;
  },
  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
});
