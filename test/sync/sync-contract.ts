import { describe, expect, it } from "vitest";
import { ClosedError, TimeoutError, ValidationError } from "../../src/errors.js";
import type { SynchronizationManager } from "../../src/sync/synchronization-manager.js";

/**
 * Two handles on one set of locks, semaphores and barriers: the same manager twice in-process,
 * two systems of one mesh over NATS.
 */
export interface SyncPair {
  readonly a: SynchronizationManager;
  readonly b: SynchronizationManager;
  /** Lets `ms` of the pair's time pass (virtual in-process, real over NATS). */
  elapse(ms: number): Promise<void>;
  /** Resolves once `probe()` holds (what one side did becomes visible to the other). */
  until(probe: () => boolean): Promise<void>;
  /** Extra time a lease takes to be judged over on the other side (0 in-process). */
  readonly leaseGrace: (ttl: number) => number;
  close(): Promise<void>;
}

/**
 * The behaviour API.md gives locks, semaphores and barriers, checked across the two handles of
 * a pair, so every backend (in-process, NATS) passes the same tests.
 */
export function syncContract(name: string, makePair: () => Promise<SyncPair>): void {
  async function withPair(body: (p: SyncPair) => Promise<void>): Promise<void> {
    const pair = await makePair();
    try {
      await body(pair);
    } finally {
      await pair.close();
    }
  }
  let ids = 0;
  const fresh = (prefix: string): string => `${prefix}-${++ids}`;

  describe(`${name}: Lock`, () => {
    it("excludes the other side while held, then grants it with a higher fencing token", async () => {
      await withPair(async ({ a, b, until, elapse }) => {
        const id = fresh("lock");
        expect(await a.getLock(id).acquire("x")).toBe(true);
        const first = a.getLock(id).fencingToken;
        expect(first).toBeGreaterThan(0);
        await until(() => b.getLock(id).holder === "x");
        const refused = b.getLock(id).acquire("y", { timeout: 100 });
        await elapse(100);
        expect(await refused).toBe(false);
        const waiting = b.getLock(id).acquire("y", { timeout: 10_000 });
        expect(a.getLock(id).release("x", first)).toBe(true);
        expect(await waiting).toBe(true);
        expect(b.getLock(id).holder).toBe("y");
        expect(b.getLock(id).fencingToken).toBeGreaterThan(first);
        await until(() => a.getLock(id).holder === "y");
        // A stale token never releases the new holder's lock.
        expect(a.getLock(id).release("x", first)).toBe(false);
        expect(b.getLock(id).release("y")).toBe(true);
      });
    });

    it("runs withLock bodies from both sides one at a time", async () => {
      await withPair(async ({ a, b }) => {
        const id = fresh("lock");
        let inside = 0;
        let overlaps = 0;
        const tokens: number[] = [];
        const body = async (token: number): Promise<void> => {
          inside++;
          if (inside > 1) overlaps++;
          tokens.push(token);
          await Promise.resolve();
          inside--;
        };
        const runs: Promise<void>[] = [];
        for (let i = 0; i < 5; i++) {
          runs.push(a.getLock(id).withLock(`a${i}`, body, { timeout: 20_000 }));
          runs.push(b.getLock(id).withLock(`b${i}`, body, { timeout: 20_000 }));
        }
        await Promise.all(runs);
        expect(overlaps).toBe(0);
        expect(tokens).toHaveLength(10);
        expect(new Set(tokens).size).toBe(10);
        expect([...tokens].sort((x, y) => x - y)).toEqual(tokens);
      });
    });

    it("ends a lease after its ttl: the other side takes over and the old token is stale", async () => {
      await withPair(async ({ a, b, elapse, leaseGrace }) => {
        const id = fresh("lease");
        expect(await a.getLock(id).acquire("x", { ttl: 300 })).toBe(true);
        const old = a.getLock(id).fencingToken;
        const taken = b.getLock(id).acquire("y", { timeout: 10_000 });
        await elapse(300 + leaseGrace(300));
        expect(await taken).toBe(true);
        expect(b.getLock(id).fencingToken).toBeGreaterThan(old);
        expect(a.getLock(id).release("x", old)).toBe(false);
        expect(b.getLock(id).release("y")).toBe(true);
      });
    });

    it("aborts a wait with the signal's reason and leaves the queue", async () => {
      await withPair(async ({ a, b, until }) => {
        const id = fresh("abort");
        await a.getLock(id).acquire("x");
        await until(() => b.getLock(id).holder === "x");
        const controller = new AbortController();
        const reason = new Error("caller gave up");
        const waiting = b.getLock(id).acquire("y", { signal: controller.signal });
        controller.abort(reason);
        await expect(waiting).rejects.toBe(reason);
        expect(b.getLock(id).waiting).toBe(0);
        const next = b.getLock(id).acquire("z", { timeout: 10_000 });
        a.getLock(id).release("x");
        expect(await next).toBe(true);
        expect(b.getLock(id).holder).toBe("z");
        b.getLock(id).release("z");
      });
    });

    it("withLock rejects with TimeoutError when the lock is not granted in time", async () => {
      await withPair(async ({ a, b, until, elapse }) => {
        const id = fresh("busy");
        await a.getLock(id).acquire("x");
        await until(() => b.getLock(id).holder === "x");
        const attempt = b.getLock(id).withLock("y", () => "never", { timeout: 50 });
        const seen = attempt.catch((e: unknown) => e);
        await elapse(50);
        expect(await seen).toBeInstanceOf(TimeoutError);
        a.getLock(id).release("x");
      });
    });

    it("rejects pending acquires with ClosedError when the manager closes", async () => {
      await withPair(async ({ a, b, until }) => {
        const id = fresh("closing");
        await a.getLock(id).acquire("x");
        await until(() => b.getLock(id).holder === "x");
        const waiting = b.getLock(id).acquire("y");
        b.close();
        await expect(waiting).rejects.toBeInstanceOf(ClosedError);
        expect(() => b.getLock(id)).toThrow(ClosedError);
      });
    });
  });

  describe(`${name}: Semaphore`, () => {
    it("shares its permits: the other side waits for a release", async () => {
      await withPair(async ({ a, b, until, elapse }) => {
        const id = fresh("sem");
        expect(await a.getSemaphore(id, 2).acquire("x1")).toBe(true);
        expect(await a.getSemaphore(id, 2).acquire("x2")).toBe(true);
        await until(() => b.getSemaphore(id, 2).available === 0);
        const refused = b.getSemaphore(id, 2).acquire("y", { timeout: 100 });
        await elapse(100);
        expect(await refused).toBe(false);
        const waiting = b.getSemaphore(id, 2).acquire("y", { timeout: 10_000 });
        expect(a.getSemaphore(id, 2).release("x1")).toBe(true);
        expect(a.getSemaphore(id, 2).release("x1")).toBe(false);
        expect(await waiting).toBe(true);
        expect(b.getSemaphore(id, 2).heldBy("y")).toBe(1);
        expect(b.getSemaphore(id, 2).available).toBe(0);
        expect(b.getSemaphore(id, 2).release("y")).toBe(true);
        expect(a.getSemaphore(id, 2).release("x2")).toBe(true);
        await until(() => a.getSemaphore(id, 2).available === 2 && b.getSemaphore(id, 2).available === 2);
      });
    });

    it("never lets more holders in than it has permits", async () => {
      await withPair(async ({ a, b }) => {
        const id = fresh("sem");
        let inside = 0;
        let most = 0;
        const use = async (m: SynchronizationManager, agent: string): Promise<void> => {
          const sem = m.getSemaphore(id, 2);
          expect(await sem.acquire(agent, { timeout: 20_000 })).toBe(true);
          inside++;
          most = Math.max(most, inside);
          await new Promise((r) => setImmediate(r));
          inside--;
          expect(sem.release(agent)).toBe(true);
        };
        await Promise.all([0, 1, 2, 3].flatMap((i) => [use(a, `a${i}`), use(b, `b${i}`)]));
        expect(most).toBeLessThanOrEqual(2);
        expect(most).toBeGreaterThan(0);
      });
    });

    it("rejects another number of permits for an existing id on either side", async () => {
      await withPair(async ({ a, b, until }) => {
        const id = fresh("sem");
        await a.getSemaphore(id, 3).acquire("x");
        await until(() => b.getSemaphore(id, 3).available === 2);
        expect(() => b.getSemaphore(id, 4)).toThrow(ValidationError);
        a.getSemaphore(id, 3).release("x");
      });
    });
  });

  describe(`${name}: Barrier`, () => {
    it("trips when the required distinct agents of both sides arrived", async () => {
      await withPair(async ({ a, b, until }) => {
        const id = fresh("bar");
        const waits = [a.getBarrier(id, 3).wait("p"), b.getBarrier(id, 3).wait("q"), a.getBarrier(id, 3).wait("r")];
        expect(await Promise.all(waits)).toEqual([true, true, true]);
        await until(() => a.getBarrier(id, 3).generation === 1 && b.getBarrier(id, 3).generation === 1);
        expect(b.getBarrier(id, 3).arrived).toBe(0);
      });
    });

    it("withdraws a waiter that timed out: it no longer counts", async () => {
      await withPair(async ({ a, b, elapse }) => {
        const id = fresh("bar");
        const early = a.getBarrier(id, 2).wait("p", { timeout: 100 });
        await elapse(100);
        expect(await early).toBe(false);
        const late = b.getBarrier(id, 2).wait("q", { timeout: 100 });
        await elapse(100);
        expect(await late).toBe(false);
        expect(a.getBarrier(id, 2).generation).toBe(0);
      });
    });

    it("counts an agent waiting twice once", async () => {
      await withPair(async ({ a, b }) => {
        const id = fresh("bar");
        const twice = [a.getBarrier(id, 2).wait("p"), a.getBarrier(id, 2).wait("p")];
        const other = b.getBarrier(id, 2).wait("q");
        expect(await Promise.all([...twice, other])).toEqual([true, true, true]);
      });
    });

    it("reset ends the generation: its waiters get false", async () => {
      await withPair(async ({ a, b, until }) => {
        const id = fresh("bar");
        const waiting = a.getBarrier(id, 3).wait("p");
        await until(() => b.getBarrier(id, 3).arrived === 1);
        b.getBarrier(id, 3).reset();
        expect(await waiting).toBe(false);
        await until(() => a.getBarrier(id, 3).generation === 1);
      });
    });

    it("rejects another count for an existing id on the other side", async () => {
      await withPair(async ({ a, b, until }) => {
        const id = fresh("bar");
        const waiting = a.getBarrier(id, 2).wait("p");
        await until(() => b.getBarrier(id, 2).arrived === 1);
        expect(() => b.getBarrier(id, 5)).toThrow(ValidationError);
        expect(await b.getBarrier(id, 2).wait("q")).toBe(true);
        expect(await waiting).toBe(true);
      });
    });
  });
}
