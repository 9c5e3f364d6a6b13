import { getEventListeners } from "node:events";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ClosedError, ValidationError } from "../../src/errors.js";
import type { Lock } from "../../src/sync/lock.js";
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

describe("SynchronizationManager lock ids", () => {
  it("forgets a lock once nobody holds or waits for it", async () => {
    const clock = new VirtualClock();
    const sync = new SynchronizationManager({ clock });
    for (let i = 0; i < 2000; i++) {
      const lock = sync.getLock(`task:${i}`);
      await lock.acquire("w");
      expect(lock.release("w")).toBe(true);
    }
    const held = sync.getLock("held");
    await held.acquire("a", { ttl: 10 });
    const waited = sync.getLock("waited");
    await waited.acquire("a");
    const waiter = waited.acquire("b");
    expect(sync.snapshot().locks.map((l) => l.id)).toEqual(["held", "waited"]);
    await clock.advance(10); // the lease of "held" expires: forgotten too
    expect(sync.snapshot().locks.map((l) => l.id)).toEqual(["waited"]);
    waited.release("a");
    expect(await waiter).toBe(true);
    expect(sync.snapshot().locks.map((l) => l.id)).toEqual(["waited"]);
    waited.release("b");
    expect(sync.snapshot().locks).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it("keeps fencing tokens of an id strictly increasing across forget and re-create", async () => {
    const sync = new SynchronizationManager();
    const first = sync.getLock("x");
    await first.acquire("a");
    await first.acquire("a"); // renew: token 2
    const old = first.fencingToken;
    first.release("a");
    // Other ids come and go in between.
    for (const id of ["y", "z"]) {
      const other = sync.getLock(id);
      await other.acquire("b");
      other.release("b");
    }
    const again = sync.getLock("x");
    expect(again).not.toBe(first);
    await again.acquire("c");
    expect(again.fencingToken).toBeGreaterThan(old);
    // Within one stretch of use, a lock still counts up by one.
    const t = again.fencingToken;
    await again.acquire("c");
    expect(again.fencingToken).toBe(t + 1);
    expect(again.release("c", old)).toBe(false);
    expect(again.holder).toBe("c");
  });

  it("a Lock kept after its id was forgotten acts on the same lock as getLock's", async () => {
    const clock = new VirtualClock();
    const sync = new SynchronizationManager({ clock });
    const kept = sync.getLock("x");
    await kept.acquire("a");
    kept.release("a");
    const fresh = sync.getLock("x");
    expect(fresh).not.toBe(kept);
    await fresh.acquire("b");
    // Both objects show one lock: same holder, same token, and mutual exclusion holds.
    expect(kept.holder).toBe("b");
    expect(kept.fencingToken).toBe(fresh.fencingToken);
    expect(await kept.acquire("c", { timeout: 0 })).toBe(false);
    const waiting = kept.acquire("c", { timeout: 100 });
    expect(fresh.waiting).toBe(1);
    expect(kept.release("b", fresh.fencingToken)).toBe(true);
    expect(await waiting).toBe(true);
    expect(fresh.holder).toBe("c");
    expect(fresh.release("c")).toBe(true);
    // Now both are forgotten; the old object rejoins first, and getLock returns it.
    await kept.acquire("d", { ttl: 50 });
    expect(sync.getLock("x")).toBe(kept);
    expect(fresh.holder).toBe("d");
    expect(fresh.snapshot()).toEqual(kept.snapshot());
    await clock.advance(50);
    expect(fresh.holder).toBeUndefined();
    expect(sync.snapshot().locks).toEqual([]);
    sync.close();
    await expect(fresh.acquire("e")).rejects.toBeInstanceOf(ClosedError);
    await expect(kept.acquire("e")).rejects.toBeInstanceOf(ClosedError);
  });

  it("closing the manager ends a wait made through a kept Lock", async () => {
    const sync = new SynchronizationManager();
    const kept = sync.getLock("x");
    await kept.acquire("a");
    kept.release("a");
    await sync.getLock("x").acquire("b");
    const waiting = kept.acquire("c");
    sync.close();
    await expect(waiting).rejects.toBeInstanceOf(ClosedError);
  });
});

describe("SynchronizationManager lock ids (property)", () => {
  type Op =
    | { kind: "get"; id: number }
    | { kind: "acquire"; handle: number; agent: number; ttl: number | undefined }
    | { kind: "release"; handle: number; agent: number }
    | { kind: "advance"; ms: number };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant("get" as const), id: fc.integer({ min: 0, max: 2 }) }),
    fc.record({
      kind: fc.constant("acquire" as const),
      handle: fc.nat(),
      agent: fc.integer({ min: 0, max: 2 }),
      ttl: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
    }),
    fc.record({ kind: fc.constant("release" as const), handle: fc.nat(), agent: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 15 }) }),
  );

  it("every object of an id shows one holder, and its tokens only go up, whatever was forgotten", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
        const clock = new VirtualClock();
        const sync = new SynchronizationManager({ clock });
        const handles: Lock[] = [sync.getLock("l0")];
        // Ids returned by getLock and not taken since: kept while unused (getLock is stable).
        const gotSinceUse = new Set(["l0"]);
        const model = new Map<string, { holder: string | undefined; until: number; token: number }>();
        const state = (id: string): { holder: string | undefined; until: number; token: number } => {
          let s = model.get(id);
          if (s === undefined) model.set(id, (s = { holder: undefined, until: Infinity, token: 0 }));
          if (s.holder !== undefined && s.until <= clock.now()) s.holder = undefined;
          return s;
        };
        for (const op of ops) {
          if (op.kind === "get") {
            handles.push(sync.getLock(`l${op.id}`));
            gotSinceUse.add(`l${op.id}`);
          } else if (op.kind === "advance") {
            await clock.advance(op.ms);
          } else {
            const lock = handles[op.handle % handles.length]!;
            const s = state(lock.lockId);
            const agent = `a${op.agent}`;
            if (op.kind === "acquire") {
              const free = s.holder === undefined || s.holder === agent;
              expect(await lock.acquire(agent, { timeout: 0, ttl: op.ttl })).toBe(free);
              if (free) {
                expect(lock.fencingToken).toBeGreaterThan(s.token);
                s.token = lock.fencingToken;
                s.holder = agent;
                gotSinceUse.delete(lock.lockId);
                s.until = op.ttl === undefined ? Infinity : clock.now() + op.ttl;
              }
            } else {
              expect(lock.release(agent)).toBe(s.holder === agent);
              if (s.holder === agent) s.holder = undefined;
            }
          }
          for (const h of handles) {
            const s = state(h.lockId);
            expect(h.holder).toBe(s.holder);
            expect(h.fencingToken).toBeGreaterThanOrEqual(s.token);
          }
          // Every lock in use is kept; a kept lock nobody holds was never taken (got, unused).
          const kept = sync.snapshot().locks;
          for (const [id] of model) if (state(id).holder !== undefined) expect(kept.map((l) => l.id)).toContain(id);
          for (const l of kept) if (l.holder === undefined) expect(gotSinceUse.has(l.id)).toBe(true);
        }
        sync.close();
        expect(clock.pending).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
