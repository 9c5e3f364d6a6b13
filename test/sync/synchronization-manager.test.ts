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

describe("SynchronizationManager#snapshot", () => {
  it("reports holders, tokens, leases, waiters, permits and arrivals as plain data", async () => {
    const clock = new VirtualClock(1000);
    const sync = new SynchronizationManager({ clock });
    const lock = sync.getLock("plan");
    await lock.acquire("a", { ttl: 500 });
    await clock.advance(100);
    const b = lock.acquire("b", { timeout: 1000 });
    const sem = sync.getSemaphore("gpu", 2);
    await sem.acquire("x");
    await sem.acquire("x");
    const waitSem = sem.acquire("y");
    const barrier = sync.getBarrier("phase", 3);
    const waitBarrier = barrier.wait("p");
    await clock.advance(50);

    const snap = sync.snapshot();
    expect(snap).toEqual({
      at: 1150,
      locks: [{ id: "plan", holder: "a", fencingToken: 1, leaseRemaining: 350, waiters: [{ agentId: "b", since: 1100 }] }],
      semaphores: [{ id: "gpu", permits: 2, available: 0, holders: [{ agentId: "x", permits: 2 }], waiters: [{ agentId: "y", since: 1100 }] }],
      barriers: [{ id: "phase", required: 3, arrived: [{ agentId: "p", since: 1100 }], generation: 0 }],
    });
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);

    // Reading changes nothing.
    expect(lock.waiting).toBe(1);
    expect(sem.available).toBe(0);
    expect(barrier.arrived).toBe(1);
    sync.close();
    await expect(b).rejects.toBeInstanceOf(ClosedError);
    await expect(waitSem).rejects.toBeInstanceOf(ClosedError);
    await expect(waitBarrier).rejects.toBeInstanceOf(ClosedError);
  });

  it("shows no lease on a lock held without ttl and none once the lease expired", async () => {
    const clock = new VirtualClock();
    const sync = new SynchronizationManager({ clock });
    const held = sync.getLock("held");
    await held.acquire("a");
    const leased = sync.getLock("leased");
    await leased.acquire("a", { ttl: 10 });
    expect(sync.snapshot().locks.map((l) => l.leaseRemaining)).toEqual([undefined, 10]);
    await clock.advance(10);
    const after = sync.snapshot().locks.find((l) => l.id === "leased");
    expect(after?.holder ?? null).toBeNull();
    expect(after?.leaseRemaining).toBeUndefined();
    sync.close();
  });
});
