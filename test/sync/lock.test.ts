import { getEventListeners } from "node:events";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ClosedError, TimeoutError, ValidationError } from "../../src/errors.js";
import { Lock } from "../../src/sync/lock.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";
import { fcTestRuntime, HeldScheduler, testRuntime, watch } from "./helpers.js";

describe("Lock#acquire", () => {
  it("takes a free lock at once with fencing token 1", async () => {
    const lock = new Lock("plan");
    expect(lock.fencingToken).toBe(0);
    expect(await lock.acquire("a")).toBe(true);
    expect(lock.holder).toBe("a");
    expect(lock.fencingToken).toBe(1);
    expect(lock.lockId).toBe("plan");
  });

  it("hands the lock to waiters in FIFO order", async () => {
    const clock = new VirtualClock();
    const lock = new Lock("l", { clock });
    await lock.acquire("a");
    const order: string[] = [];
    const waits = ["b", "c", "d"].map((id) => lock.acquire(id).then(() => order.push(id)));
    expect(lock.waiting).toBe(3);
    for (const id of ["a", "b", "c"]) {
      expect(lock.release(id)).toBe(true);
      await clock.settle();
    }
    await Promise.all(waits);
    expect(order).toEqual(["b", "c", "d"]);
    expect(lock.holder).toBe("d");
    expect(lock.fencingToken).toBe(4);
    expect(lock.waiting).toBe(0);
  });

  it("gives up with false exactly at the timeout, not a millisecond before", async () => {
    const clock = new VirtualClock();
    const lock = new Lock("l", { clock });
    await lock.acquire("a");
    const w = watch(lock.acquire("b", { timeout: 100 }));
    await clock.advance(99);
    expect(w.settled).toBe(false);
    expect(lock.waiting).toBe(1);
    await clock.advance(1);
    expect(w).toEqual({ settled: true, value: false });
    expect(lock.waiting).toBe(0);
    expect(clock.pending).toBe(0);
    expect(lock.holder).toBe("a");
  });

  it("with timeout 0 tries once: false at once when held, and no timer", async () => {
    const clock = new VirtualClock();
    const lock = new Lock("l", { clock });
    expect(await lock.acquire("a", { timeout: 0 })).toBe(true);
    expect(await lock.acquire("b", { timeout: 0 })).toBe(false);
    expect(lock.waiting).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it("leaves no timer behind when granted before its timeout", async () => {
    const clock = new VirtualClock();
    const lock = new Lock("l", { clock });
    await lock.acquire("a");
    const p = lock.acquire("b", { timeout: 1000 });
    expect(clock.pending).toBe(1);
    lock.release("a");
    expect(await p).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it("renews at once when the holder acquires again: new token, new ttl", async () => {
    const clock = new VirtualClock();
    const lock = new Lock("l", { clock });
    await lock.acquire("a", { ttl: 100 });
    const first = lock.fencingToken;
    await clock.advance(60);
    expect(await lock.acquire("a", { ttl: 100 })).toBe(true);
    expect(lock.fencingToken).toBe(first + 1);
    await clock.advance(60); // 120: the first lease would have expired by now
    expect(lock.holder).toBe("a");
    expect(lock.release("a", first)).toBe(false);
    await clock.advance(40); // 160 = 60 + 100: the renewed lease expires
    expect(lock.holder).toBeUndefined();
    expect(clock.pending).toBe(0);
  });

  it("renewing without a ttl drops the lease", async () => {
    const clock = new VirtualClock();
    const lock = new Lock("l", { clock });
    await lock.acquire("a", { ttl: 50 });
    await lock.acquire("a");
    expect(clock.pending).toBe(0);
    await clock.advance(100);
    expect(lock.holder).toBe("a");
  });

  it("expires a lease after ttl and hands the lock to the next waiter", async () => {
    const clock = new VirtualClock();
    const lock = new Lock("l", { clock });
    await lock.acquire("a", { ttl: 100 });
    const stale = lock.fencingToken;
    const b = watch(lock.acquire("b"));
    await clock.advance(99);
    expect(lock.holder).toBe("a");
    await clock.advance(1);
    expect(b).toEqual({ settled: true, value: true });
    expect(lock.holder).toBe("b");
    expect(lock.release("a", stale)).toBe(false);
    expect(lock.release("a")).toBe(false);
    expect(lock.holder).toBe("b");
    expect(lock.fencingToken).toBe(stale + 1);
  });

  it("rejects with the signal's reason and leaves no listener, timer or waiter", async () => {
    const clock = new VirtualClock();
    const lock = new Lock("l", { clock });
    await lock.acquire("a");
    const ac = new AbortController();
    const reason = new Error("stop");
    const p = lock.acquire("b", { timeout: 1000, signal: ac.signal });
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(1);
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    expect(lock.waiting).toBe(0);
    expect(clock.pending).toBe(0);
    lock.release("a");
    expect(lock.holder).toBeUndefined();
  });

  it("rejects at once for an already aborted signal, queueing nothing", async () => {
    const lock = new Lock("l");
    await lock.acquire("a");
    const reason = new Error("gone");
    await expect(lock.acquire("b", { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(lock.waiting).toBe(0);
  });

  it("many waits sharing a signal put one listener on it, removed when they end", async () => {
    const lock = new Lock("l");
    await lock.acquire("a");
    const ac = new AbortController();
    const waits = Array.from({ length: 50 }, (_, i) => lock.acquire(`w${i}`, { signal: ac.signal }));
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(1);
    ac.abort();
    const results = await Promise.allSettled(waits);
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    expect(lock.waiting).toBe(0);
  });

  it("a granted waiter's signal no longer matters", async () => {
    const lock = new Lock("l");
    await lock.acquire("a");
    const ac = new AbortController();
    const p = lock.acquire("b", { signal: ac.signal });
    lock.release("a");
    ac.abort();
    expect(await p).toBe(true);
    expect(lock.holder).toBe("b");
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });

  it("rejects bad arguments with ValidationError instead of throwing", async () => {
    const lock = new Lock("l");
    await expect(lock.acquire("")).rejects.toBeInstanceOf(ValidationError);
    await expect(lock.acquire("a", { timeout: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(lock.acquire("a", { ttl: 0 })).rejects.toBeInstanceOf(ValidationError);
    await expect(lock.acquire("a", { ttl: Number.NaN })).rejects.toBeInstanceOf(ValidationError);
    expect(lock.holder).toBeUndefined();
    expect(() => new Lock("")).toThrow(ValidationError);
  });

  it("records each grant in the trace with its fencing token", async () => {
    const { runtime, records } = testRuntime();
    const lock = new Lock("plan", { runtime });
    await lock.acquire("a");
    const p = lock.acquire("b");
    lock.release("a");
    await p;
    expect(records.map((r) => [r.kind, r.agent, r.name, r.detail])).toEqual([
      ["lock", "a", "plan", { token: 1 }],
      ["lock", "b", "plan", { token: 2 }],
    ]);
  });
});

describe("Lock#acquire (same-tick races)", () => {
  it("a waiter that timed out in the same tick as a release is skipped for the next live one", async () => {
    const { runtime, clock } = testRuntime();
    const lock = new Lock("l", { runtime });
    await lock.acquire("a");
    const b = watch(lock.acquire("b", { timeout: 100 }));
    const c = watch(lock.acquire("c"));
    // Created after b's deadline, so it fires right after it at the same instant.
    clock.setTimeout(() => lock.release("a"), 100);
    await clock.advance(100);
    expect(b).toEqual({ settled: true, value: false });
    expect(c).toEqual({ settled: true, value: true });
    expect(lock.holder).toBe("c");
    expect(clock.pending).toBe(0);
  });

  it("a release just before the timeout at the same instant grants the waiter, whose timeout is void", async () => {
    const clock = new VirtualClock();
    clock.setTimeout(() => lock.release("a"), 100); // fires first at 100
    const lock = new Lock("l", { clock });
    await lock.acquire("a");
    const b = watch(lock.acquire("b", { timeout: 100 }));
    await clock.advance(100);
    expect(b).toEqual({ settled: true, value: true });
    expect(lock.holder).toBe("b");
    expect(clock.pending).toBe(0);
  });

  it("a deferred grant cannot be overtaken by the waiter's own timeout", async () => {
    const held = new HeldScheduler();
    const { runtime, clock } = testRuntime(held);
    const lock = new Lock("l", { runtime });
    await lock.acquire("a");
    const b = watch(lock.acquire("b", { timeout: 100 }));
    lock.release("a"); // decided now; the notification waits in the scheduler
    expect(lock.holder).toBe("b");
    await clock.advance(500);
    expect(b.settled).toBe(false);
    held.runAll();
    await clock.settle();
    expect(b).toEqual({ settled: true, value: true });
    expect(lock.holder).toBe("b");
    expect(clock.pending).toBe(0);
  });

  it("a lease expiring at the instant its waiter times out: the waiter is never made holder", async () => {
    const { runtime, clock } = testRuntime();
    const lock3 = new Lock("l3", { runtime });
    await lock3.acquire("holder"); // no lease yet
    const waiter = watch(lock3.acquire("waiter", { timeout: 100 }));
    const next = watch(lock3.acquire("next"));
    await lock3.acquire("holder", { ttl: 100 }); // renew: lease deadline created after waiter's
    await clock.advance(100);
    expect(waiter).toEqual({ settled: true, value: false });
    expect(next).toEqual({ settled: true, value: true });
    expect(lock3.holder).toBe("next");
    expect(clock.pending).toBe(0);
  });

  it("a deferred grant by a lease expiry wins over the waiter's deadline due in the same timer batch", async () => {
    const held = new HeldScheduler();
    const { runtime, clock } = testRuntime(held);
    const lock = new Lock("l", { runtime });
    await lock.acquire("holder", { ttl: 100 }); // lease deadline first...
    const waiter = watch(lock.acquire("waiter", { timeout: 100 })); // ...then the waiter's, same instant
    await clock.advance(100);
    expect(lock.holder).toBe("waiter");
    expect(waiter.settled).toBe(false); // the grant waits in the scheduler; the deadline did nothing
    held.runAll();
    await clock.settle();
    expect(waiter).toEqual({ settled: true, value: true });
    expect(clock.pending).toBe(0);
  });

  it("a lease expiring just before its waiter's timeout at the same instant grants the waiter", async () => {
    const { runtime, clock } = testRuntime();
    const lock = new Lock("l", { runtime });
    await lock.acquire("holder", { ttl: 100 }); // lease deadline created first
    const waiter = watch(lock.acquire("waiter", { timeout: 100 }));
    const next = watch(lock.acquire("next"));
    await clock.advance(100);
    expect(waiter).toEqual({ settled: true, value: true });
    expect(next.settled).toBe(false);
    expect(lock.holder).toBe("waiter");
    expect(clock.pending).toBe(0);
  });
});

describe("Lock#release", () => {
  it("returns false for a non-holder and for a second release", async () => {
    const lock = new Lock("l");
    expect(lock.release("a")).toBe(false);
    await lock.acquire("a");
    expect(lock.release("b")).toBe(false);
    expect(lock.release("a")).toBe(true);
    expect(lock.release("a")).toBe(false);
    expect(lock.holder).toBeUndefined();
  });

  it("returns false for a stale fencing token and leaves the holder alone", async () => {
    const lock = new Lock("l");
    await lock.acquire("a");
    const old = lock.fencingToken;
    await lock.acquire("a"); // renew: old becomes stale
    expect(lock.release("a", old)).toBe(false);
    expect(lock.holder).toBe("a");
    expect(lock.release("a", lock.fencingToken)).toBe(true);
  });

  it("hands the lock to the next live waiter, skipping aborted ones", async () => {
    const lock = new Lock("l");
    await lock.acquire("a");
    const ac = new AbortController();
    const b = lock.acquire("b", { signal: ac.signal });
    const c = lock.acquire("c");
    ac.abort(new Error("no"));
    await expect(b).rejects.toThrow("no");
    lock.release("a");
    expect(await c).toBe(true);
    expect(lock.holder).toBe("c");
  });
});

describe("Lock#withLock", () => {
  it("passes the fencing token, returns fn's result and releases afterwards", async () => {
    const lock = new Lock("l");
    const out = await lock.withLock("a", (token) => {
      expect(lock.holder).toBe("a");
      return token * 10;
    });
    expect(out).toBe(10);
    expect(lock.holder).toBeUndefined();
  });

  it("releases when fn throws, and rethrows", async () => {
    const lock = new Lock("l");
    const boom = new Error("boom");
    await expect(
      lock.withLock("a", async () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(lock.holder).toBeUndefined();
  });

  it("rejects with TimeoutError when not acquired in time, leaving nothing behind", async () => {
    const clock = new VirtualClock();
    const lock = new Lock("l", { clock });
    await lock.acquire("a");
    let ran = false;
    const p = lock.withLock("b", () => (ran = true), { timeout: 50 });
    const done = expect(p).rejects.toBeInstanceOf(TimeoutError);
    await clock.advance(50);
    await done;
    await expect(p).rejects.toMatchObject({ code: "TIMEOUT", timeout: 50 });
    expect(ran).toBe(false);
    expect(lock.waiting).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it("after its lease expired it does not release the newer holder", async () => {
    const clock = new VirtualClock();
    const lock = new Lock("l", { clock });
    let release!: () => void;
    const slow = lock.withLock("a", () => new Promise<void>((r) => (release = r)), { ttl: 10 });
    const b = lock.acquire("b");
    await clock.advance(10);
    expect(await b).toBe(true);
    release();
    // fn returned normally, but b ran in between: the result was not made under the lock.
    await expect(slow).rejects.toBeInstanceOf(TimeoutError);
    expect(lock.holder).toBe("b");
  });

  it("waits in the FIFO queue like acquire", async () => {
    const lock = new Lock("l");
    await lock.acquire("a");
    const order: string[] = [];
    const p = lock.withLock("b", () => void order.push("b"));
    const q = lock.withLock("c", () => void order.push("c"));
    lock.release("a");
    await Promise.all([p, q]);
    expect(order).toEqual(["b", "c"]);
  });
});

describe("Lock#close", () => {
  it("rejects pending waits with ClosedError, clears the lease and timers, refuses later acquires", async () => {
    const clock = new VirtualClock();
    const lock = new Lock("l", { clock });
    await lock.acquire("a", { ttl: 1000 });
    const ac = new AbortController();
    const b = lock.acquire("b", { timeout: 500, signal: ac.signal });
    const c = lock.acquire("c");
    lock.close();
    lock.close();
    await expect(b).rejects.toBeInstanceOf(ClosedError);
    await expect(c).rejects.toBeInstanceOf(ClosedError);
    expect(clock.pending).toBe(0);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    expect(lock.closed).toBe(true);
    await expect(lock.acquire("d")).rejects.toBeInstanceOf(ClosedError);
    await expect(lock.withLock("d", () => 1)).rejects.toBeInstanceOf(ClosedError);
    expect(lock.release("a")).toBe(false);
  });
});

describe("Lock (properties)", () => {
  interface Op {
    timeout: number | undefined;
    ttl: number | undefined;
    hold: number;
  }
  const opArb: fc.Arbitrary<Op> = fc.record({
    timeout: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
    ttl: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
    hold: fc.integer({ min: 0, max: 3 }),
  });

  it("never two live holders, FIFO among waiters, no stale release frees a newer holder", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(opArb, { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 15 }), { maxLength: 10 }),
        async (s, ops, ticks) => {
          const { runtime, clock, records } = fcTestRuntime(s);
          const lock = new Lock("L", { runtime });
          const ttlOf = new Map<string, number | undefined>();
          const expiredTokens = (): number[] =>
            records.filter((r) => r.kind === "lock-expired").map((r) => (r.detail as { token: number }).token);
          const grants = (): { agent: string; token: number; at: number }[] =>
            records
              .filter((r) => r.kind === "lock")
              .map((r) => ({ agent: r.agent!, token: (r.detail as { token: number }).token, at: r.at }));
          const inside = new Map<string, number>(); // agent -> token
          const queued: { agent: string; timeoutAt: number | undefined }[] = [];
          const timedOut = new Set<string>();

          const run = async (op: Op, i: number): Promise<void> => {
            const agent = `agent-${i}`;
            ttlOf.set(agent, op.ttl);
            await s.schedule(Promise.resolve(), `start ${agent}`);
            const before = lock.waiting;
            const p = lock.withLock(
              agent,
              async (token) => {
                inside.set(agent, token);
                // Of everyone inside now, all but the newest grant must have had their lease expire.
                const tokens = [...inside.values()].sort((a, b) => a - b);
                const all = grants();
                for (const t of tokens.slice(0, -1)) {
                  const g = all.find((x) => x.token === t)!;
                  const ttl = ttlOf.get(g.agent);
                  expect(ttl, `${g.agent} overlaps a newer holder without a lease`).toBeDefined();
                  expect(g.at + ttl!).toBeLessThanOrEqual(clock.now());
                }
                for (let k = 0; k < op.hold; k++) await s.schedule(Promise.resolve(), `work ${agent}`);
                if (lock.fencingToken !== token) {
                  // Our lease expired: a stale release must change nothing.
                  const [holder, current] = [lock.holder, lock.fencingToken];
                  expect(lock.release(agent, token)).toBe(false);
                  expect([lock.holder, lock.fencingToken]).toEqual([holder, current]);
                }
                inside.delete(agent);
              },
              { timeout: op.timeout, ttl: op.ttl },
            );
            if (lock.waiting === before + 1) {
              queued.push({ agent, timeoutAt: op.timeout === undefined ? undefined : clock.now() + op.timeout });
            }
            try {
              await p;
              // Returned normally: its lease never expired while it held the lock.
              const mine = grants().find((g) => g.agent === agent)!;
              expect(expiredTokens().includes(mine.token), `${agent} returned normally after losing its lease`).toBe(false);
            } catch (err) {
              expect(err).toBeInstanceOf(TimeoutError);
              const mine = grants().find((g) => g.agent === agent);
              // Granted, then rejected: only because its lease expired under it.
              if (mine !== undefined) expect(expiredTokens()).toContain(mine.token);
              else timedOut.add(agent);
            }
          };

          const ticker = async (): Promise<void> => {
            for (const ms of ticks) {
              await s.schedule(Promise.resolve(), `tick ${ms}`);
              clock.advanceSync(ms);
            }
            await s.schedule(Promise.resolve(), "time runs out");
            clock.runAllSync();
          };

          await s.waitFor(Promise.all([...ops.map(run), ticker()]));
          await s.waitAll();

          const all = grants();
          // Tokens increase by one per grant, in decision order.
          expect(all.map((g) => g.token)).toEqual(all.map((_, i) => i + 1));
          // A waiter that timed out was never handed the lock.
          for (const agent of timedOut) expect(all.some((g) => g.agent === agent)).toBe(false);
          // FIFO: queued waiters were granted in queue order, and nobody was overtaken by a later
          // waiter while it was still waiting.
          const grantAt = new Map(all.map((g) => [g.agent, g.at]));
          const grantedQueued = queued.filter((q) => grantAt.has(q.agent)).map((q) => q.agent);
          const grantOrder = all.map((g) => g.agent).filter((a) => grantedQueued.includes(a));
          expect(grantOrder).toEqual(grantedQueued);
          queued.forEach((earlier, i) => {
            if (!timedOut.has(earlier.agent)) return;
            for (const later of queued.slice(i + 1)) {
              const at = grantAt.get(later.agent);
              if (at !== undefined) expect(earlier.timeoutAt!).toBeLessThanOrEqual(at);
            }
          });
          // Everything ended: lock free, nobody queued, no timer left.
          expect(lock.holder).toBeUndefined();
          expect(lock.waiting).toBe(0);
          expect(clock.pending).toBe(0);
        },
      ),
      { numRuns: 150, timeout: 2000 },
    );
  });
});

describe("Lock#withLock (lease scope)", () => {
  it("aborts the scope's signal when the lease expires, and rejects though fn returned", async () => {
    const clock = new VirtualClock();
    const lock = new Lock("l", { clock });
    let seen: AbortSignal | undefined;
    let finish!: () => void;
    const run = lock.withLock(
      "a",
      async (token, { signal }) => {
        expect(token).toBe(1);
        seen = signal;
        await new Promise<void>((r) => (finish = r));
        return "done";
      },
      { ttl: 100 },
    );
    await clock.advance(99);
    expect(seen?.aborted).toBe(false);
    await clock.advance(1);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(TimeoutError);
    finish();
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBe(seen?.reason);
    expect(String((err as Error).message)).toContain('lease of lock "l" held by "a" (fencing token 1)');
    expect(clock.pending).toBe(0);
  });

  it("passes on fn's own error when fn throws after losing the lease", async () => {
    const clock = new VirtualClock();
    const lock = new Lock("l", { clock });
    const mine = new Error("gave up");
    const run = lock.withLock(
      "a",
      async (_token, { signal }) => {
        await new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
        throw mine;
      },
      { ttl: 10 },
    );
    const outcome = expect(run).rejects.toBe(mine);
    await clock.advance(10);
    await outcome;
  });

  it("with autoRenew keeps the lock and its token past many ttls, then releases", async () => {
    const clock = new VirtualClock();
    const lock = new Lock("l", { clock });
    let finish!: () => void;
    let aborted: AbortSignal | undefined;
    const run = lock.withLock(
      "a",
      async (token, { signal }) => {
        aborted = signal;
        await new Promise<void>((r) => (finish = r));
        return token;
      },
      { ttl: 100, autoRenew: true },
    );
    const b = watch(lock.acquire("b"));
    for (let i = 0; i < 10; i++) await clock.advance(60);
    expect(lock.holder).toBe("a");
    expect(lock.fencingToken).toBe(1);
    expect(lock.snapshot().leaseRemaining).toBeGreaterThan(0);
    expect(b.settled).toBe(false);
    expect(aborted?.aborted).toBe(false);
    finish();
    expect(await run).toBe(1);
    await clock.settle();
    expect(b).toEqual({ settled: true, value: true });
    lock.release("b");
    expect(clock.pending).toBe(0);
  });

  it("with autoRenew aborts the signal when a renewal fails (the lock was closed)", async () => {
    const clock = new VirtualClock();
    const lock = new Lock("l", { clock });
    let signal!: AbortSignal;
    let finish!: () => void;
    const run = lock.withLock(
      "a",
      async (_token, scope) => {
        signal = scope.signal;
        await new Promise<void>((r) => (finish = r));
      },
      { ttl: 100, autoRenew: true },
    );
    await clock.advance(60);
    lock.close();
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(ClosedError);
    finish();
    await expect(run).rejects.toBeInstanceOf(ClosedError);
    expect(clock.pending).toBe(0);
  });

  it("aborts the scope's signal when the caller's signal aborts while fn runs, and leaves no listener", async () => {
    const lock = new Lock("l");
    const ac = new AbortController();
    let finish!: () => void;
    let inner!: AbortSignal;
    const run = lock.withLock(
      "a",
      async (_t, { signal }) => {
        inner = signal;
        await new Promise<void>((r) => (finish = r));
        return "kept the slot";
      },
      { signal: ac.signal },
    );
    await Promise.resolve();
    await Promise.resolve();
    const reason = new Error("caller left");
    ac.abort(reason);
    expect(inner.aborted).toBe(true);
    expect(inner.reason).toBe(reason);
    finish();
    // The lock was not lost: fn decides, and its result comes back.
    expect(await run).toBe("kept the slot");
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    expect(lock.holder).toBeUndefined();
  });

  it("stays source-compatible with a one-argument fn and costs no signal it never reads", async () => {
    const clock = new VirtualClock();
    const lock = new Lock("l", { clock });
    const fn = (token: number): number => token * 10;
    expect(await lock.withLock("a", fn, { ttl: 50 })).toBe(10);
    expect(clock.pending).toBe(0);
  });
});

describe("Lock#extendLease", () => {
  it("extends the holder's lease without a new token; false for a stale token or non-holder", async () => {
    const clock = new VirtualClock();
    const lock = new Lock("l", { clock });
    await lock.acquire("a", { ttl: 100 });
    const token = lock.fencingToken;
    await clock.advance(90);
    expect(lock.extendLease("a", token, 100)).toBe(true);
    expect(lock.fencingToken).toBe(token);
    await clock.advance(90);
    expect(lock.holder).toBe("a");
    expect(lock.extendLease("b", token, 100)).toBe(false);
    expect(lock.extendLease("a", token + 1, 100)).toBe(false);
    await clock.advance(10);
    expect(lock.holder).toBeUndefined();
    expect(lock.extendLease("a", token, 100)).toBe(false);
    expect(() => lock.extendLease("a", token, -1)).toThrow(ValidationError);
  });

  it("with ttl Infinity removes the lease", async () => {
    const clock = new VirtualClock();
    const lock = new Lock("l", { clock });
    await lock.acquire("a", { ttl: 10 });
    expect(lock.extendLease("a", lock.fencingToken, Infinity)).toBe(true);
    expect(clock.pending).toBe(0);
    await clock.advance(100);
    expect(lock.holder).toBe("a");
  });
});
