import { describe, expect, it } from "vitest";
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
