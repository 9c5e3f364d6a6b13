import { describe, expect, it, vi } from "vitest";
import { systemClock } from "../../src/runtime/clock.js";
import { TimerQueue } from "../../src/runtime/timer-queue.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";

describe("TimerQueue", () => {
  it("holds one clock timer however many deadlines are pending", () => {
    const clock = new VirtualClock();
    const q = new TimerQueue(clock);
    for (let i = 0; i < 1000; i++) q.add(30_000, () => undefined);
    q.add(5, () => undefined);
    expect(q.size).toBe(1001);
    expect(clock.pending).toBe(1);
  });

  it("fires each deadline exactly at its time, in (time, creation) order", async () => {
    const clock = new VirtualClock();
    const q = new TimerQueue(clock);
    const fired: string[] = [];
    q.add(20, () => fired.push(`b@${clock.now()}`));
    q.add(10, () => fired.push(`a@${clock.now()}`));
    q.add(20, () => fired.push(`c@${clock.now()}`));
    await clock.advance(9);
    expect(fired).toEqual([]);
    await clock.advance(1);
    expect(fired).toEqual(["a@10"]);
    await clock.advance(10);
    expect(fired).toEqual(["a@10", "b@20", "c@20"]);
    expect(clock.pending).toBe(0);
  });

  it("cancel is idempotent and the last cancel clears the clock timer", async () => {
    const clock = new VirtualClock();
    const q = new TimerQueue(clock);
    let ran = false;
    const a = q.add(10, () => (ran = true));
    const b = q.add(50, () => (ran = true));
    a.cancel();
    a.cancel();
    expect(q.size).toBe(1);
    b.cancel();
    expect(q.size).toBe(0);
    expect(clock.pending).toBe(0);
    await clock.advance(100);
    expect(ran).toBe(false);
    expect(a.active).toBe(false);
  });

  it("re-arms for a deadline added while firing", async () => {
    const clock = new VirtualClock();
    const q = new TimerQueue(clock);
    const fired: number[] = [];
    q.add(10, () => q.add(5, () => fired.push(clock.now())));
    await clock.runAll();
    expect(fired).toEqual([15]);
    expect(q.size).toBe(0);
  });
});

describe("TimerQueue#cancel", () => {
  it("stops a deadline due in the same batch from running when an earlier one cancels it", async () => {
    const clock = new VirtualClock();
    const q = new TimerQueue(clock);
    const fired: string[] = [];
    const later: { cancel(): void }[] = [];
    q.add(10, () => {
      fired.push("first");
      later[0]?.cancel();
    });
    later.push(q.add(10, () => fired.push("second")));
    await clock.advance(10);
    expect(fired).toEqual(["first"]);
  });
});

/** A clock whose handles record ref/unref like Node's timers, driven by hand. */
class RefClock {
  time = 0;
  readonly timers = new Set<{ at: number; fn: () => void; refed: boolean }>();
  setCalls = 0;
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): object {
    this.setCalls++;
    const t = {
      at: this.time + ms,
      fn,
      refed: true,
      ref() {
        t.refed = true;
      },
      unref() {
        t.refed = false;
      },
    };
    this.timers.add(t);
    return t;
  }
  clearTimeout(handle: object): void {
    this.timers.delete(handle as never);
  }
  /** True when some armed timer would keep a process alive. */
  get alive(): boolean {
    return [...this.timers].some((t) => t.refed);
  }
  advance(ms: number): void {
    this.time += ms;
    for (const t of [...this.timers]) {
      if (t.at <= this.time) {
        this.timers.delete(t);
        t.fn();
      }
    }
  }
}

describe("TimerQueue#add keepAlive", () => {
  it("keeps the armed timer ref'd exactly while a keepAlive deadline is pending", () => {
    const clock = new RefClock();
    const q = new TimerQueue(clock);
    const lease = q.add(10, () => undefined, { keepAlive: false });
    expect(clock.timers.size).toBe(1);
    expect(clock.alive).toBe(false);
    const wait = q.add(1000, () => undefined);
    expect(q.keepingAlive).toBe(1);
    // The timer armed for the lease (the earliest) now holds the process open for the wait.
    expect(clock.alive).toBe(true);
    wait.cancel();
    expect(q.keepingAlive).toBe(0);
    expect(clock.alive).toBe(false);
    lease.cancel();
    expect(clock.alive).toBe(false);
  });

  it("stays ref'd across a bookkeeping deadline firing before the wait's", () => {
    const clock = new RefClock();
    const q = new TimerQueue(clock);
    const fired: string[] = [];
    q.add(10, () => fired.push("lease"), { keepAlive: false });
    q.add(50, () => fired.push("wait"));
    clock.advance(10);
    expect(fired).toEqual(["lease"]);
    expect(clock.alive).toBe(true);
    clock.advance(40);
    expect(fired).toEqual(["lease", "wait"]);
    expect(clock.alive).toBe(false);
  });

  it("a bookkeeping deadline alone never keeps the process alive", () => {
    const clock = new RefClock();
    const q = new TimerQueue(clock);
    q.add(60_000, () => undefined, { keepAlive: false });
    expect(clock.alive).toBe(false);
    expect(q.keepingAlive).toBe(0);
  });
});

describe("TimerQueue long deadlines", () => {
  it("arms at most 2^31-1 ms ahead and re-arms once per period, not every millisecond", () => {
    const clock = new RefClock();
    const q = new TimerQueue(clock);
    let fired = false;
    q.add(Number.MAX_SAFE_INTEGER, () => (fired = true));
    const [timer] = [...clock.timers];
    expect(timer!.at).toBe(2_147_483_647);
    clock.advance(2_147_483_647);
    expect(fired).toBe(false);
    expect(clock.setCalls).toBe(2);
    expect([...clock.timers][0]!.at).toBe(2 * 2_147_483_647);
  });

  it("fires a deadline just past the limit at its time", () => {
    const clock = new RefClock();
    const q = new TimerQueue(clock);
    const fired: number[] = [];
    q.add(2 ** 31 + 5, () => fired.push(clock.now()));
    clock.advance(2 ** 31 - 1);
    expect(fired).toEqual([]);
    clock.advance(6);
    expect(fired).toEqual([2 ** 31 + 5]);
  });
});

describe("TimerQueue on the wall clock", () => {
  it("does not touch the clock per sequential add and cancel: the armed timer outlives an empty queue", () => {
    const sets = vi.spyOn(globalThis, "setTimeout");
    const clears = vi.spyOn(globalThis, "clearTimeout");
    const q = new TimerQueue(systemClock);
    try {
      for (let i = 0; i < 1000; i++) q.add(30_000, () => undefined).cancel();
      expect(sets.mock.calls.length).toBe(1);
      expect(clears.mock.calls.length).toBe(0);
      expect(q.size).toBe(0);
    } finally {
      q.clear();
      sets.mockRestore();
      clears.mockRestore();
    }
  });

  it("unrefs the kept timer once no keepAlive deadline is pending", () => {
    const q = new TimerQueue(systemClock);
    const sets = vi.spyOn(globalThis, "setTimeout");
    try {
      const d = q.add(30_000, () => undefined);
      const timer = sets.mock.results[0]!.value as NodeJS.Timeout;
      expect(timer.hasRef()).toBe(true);
      d.cancel();
      expect(timer.hasRef()).toBe(false);
    } finally {
      q.clear();
      sets.mockRestore();
    }
  });
});

describe("TimerQueue per-delay lists", () => {
  it("reuses an emptied list and still fires in (time, creation) order after many distinct delays", async () => {
    const clock = new VirtualClock();
    const q = new TimerQueue(clock);
    for (let d = 1; d <= 200; d++) q.add(d, () => undefined).cancel();
    const fired: string[] = [];
    q.add(7, () => fired.push("a"));
    q.add(3, () => fired.push("b"));
    q.add(7, () => fired.push("c"));
    q.add(150, () => fired.push("d")).cancel();
    q.add(150, () => fired.push("e"));
    await clock.advance(200);
    expect(fired).toEqual(["b", "a", "c", "e"]);
    expect(q.size).toBe(0);
    expect(clock.pending).toBe(0);
  });
});
