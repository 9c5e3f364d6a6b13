import { describe, expect, it } from "vitest";
import { TimerQueue } from "../../src/runtime/timer-queue.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";

/*
 * Found by the Lock model run (sync-models.test.ts): a lease that expires hands the lock over
 * and starts the new holder's lease from inside the timer callback. The deadline added there
 * arms the clock for its own (later) time, and a deadline already pending in between is
 * skipped until then: a waiter's 5 ms timeout fired at 16 ms.
 */
describe("TimerQueue#add", () => {
  it("a deadline added while deadlines fire does not delay an earlier pending one", async () => {
    const clock = new VirtualClock();
    const q = new TimerQueue(clock);
    const fired: string[] = [];
    q.add(4, () => {
      fired.push(`lease@${clock.now()}`);
      q.add(12, () => fired.push(`next-lease@${clock.now()}`));
    });
    q.add(5, () => fired.push(`timeout@${clock.now()}`));
    await clock.advance(6);
    expect(fired).toEqual(["lease@4", "timeout@5"]);
    await clock.advance(10);
    expect(fired).toEqual(["lease@4", "timeout@5", "next-lease@16"]);
    expect(clock.pending).toBe(0);
  });
});
