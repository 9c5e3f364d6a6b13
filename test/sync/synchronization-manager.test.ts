import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { ClosedError, ValidationError } from "../../src/errors.js";
import { SynchronizationManager } from "../../src/sync/synchronization-manager.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";

describe("SynchronizationManager#getLock", () => {
  it("returns the same lock for the same id", () => {
    const sync = new SynchronizationManager();
    const lock = sync.getLock("task:1");
    expect(sync.getLock("task:1")).toBe(lock);
    expect(sync.getLock("task:2")).not.toBe(lock);
    expect(lock.lockId).toBe("task:1");
  });

  it("treats __proto__ as an ordinary id", () => {
    const sync = new SynchronizationManager();
    expect(sync.getLock("__proto__").lockId).toBe("__proto__");
    expect(() => sync.getLock("")).toThrow(ValidationError);
  });

  it("shares its clock with the locks it creates", async () => {
    const clock = new VirtualClock();
    const sync = new SynchronizationManager({ clock });
    const lock = sync.getLock("l");
    await lock.acquire("a");
    const b = lock.acquire("b", { timeout: 10 });
    await clock.advance(10);
    expect(await b).toBe(false);
  });
});

describe("SynchronizationManager#getBarrier", () => {
  it("gets or creates by id, and refuses another count", () => {
    const sync = new SynchronizationManager();
    const barrier = sync.getBarrier("phase", 3);
    expect(sync.getBarrier("phase", 3)).toBe(barrier);
    expect(() => sync.getBarrier("phase", 4)).toThrow(ValidationError);
    expect(() => sync.getBarrier("other", 0)).toThrow(ValidationError);
  });
});

describe("SynchronizationManager#getSemaphore", () => {
  it("gets or creates by id, and refuses other permits", () => {
    const sync = new SynchronizationManager();
    const sem = sync.getSemaphore("gpu", 2);
    expect(sync.getSemaphore("gpu", 2)).toBe(sem);
    expect(sem.maxPermits).toBe(2);
    expect(() => sync.getSemaphore("gpu", 1)).toThrow(ValidationError);
  });
});

describe("SynchronizationManager#close", () => {
  it("rejects every pending wait with ClosedError and leaves no timer or listener", async () => {
    const clock = new VirtualClock();
    const sync = new SynchronizationManager({ clock });
    const lock = sync.getLock("l");
    const sem = sync.getSemaphore("s", 1);
    const barrier = sync.getBarrier("b", 2);
    const ac = new AbortController();
    await lock.acquire("a", { ttl: 1000 });
    await sem.acquire("a");
    const waits = [
      lock.acquire("b", { timeout: 500, signal: ac.signal }),
      lock.withLock("c", () => 1),
      sem.acquire("b", { timeout: 500 }),
      barrier.wait("a", { timeout: 500, signal: ac.signal }),
    ];
    sync.close();
    sync.close();
    for (const w of waits) await expect(w).rejects.toBeInstanceOf(ClosedError);
    expect(clock.pending).toBe(0);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    await expect(lock.acquire("z")).rejects.toBeInstanceOf(ClosedError);
    await expect(sem.acquire("z")).rejects.toBeInstanceOf(ClosedError);
    await expect(barrier.wait("z")).rejects.toBeInstanceOf(ClosedError);
    expect(() => sync.getLock("l")).toThrow(ClosedError);
    expect(() => sync.getBarrier("b", 2)).toThrow(ClosedError);
    expect(() => sync.getSemaphore("s", 1)).toThrow(ClosedError);
    expect(sync.closed).toBe(true);
  });
});

describe("SynchronizationManager with hostile counts", () => {
  it("answers a null-prototype object as a count with ValidationError, not a TypeError", () => {
    const manager = new SynchronizationManager();
    const hostile = Object.create(null) as number;
    expect(() => manager.getBarrier("b", hostile)).toThrow(ValidationError);
    manager.getSemaphore("s", 2);
    expect(() => manager.getSemaphore("s", hostile)).toThrow(ValidationError);
    manager.close();
  });
});
