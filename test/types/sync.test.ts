// Type-level tests of the sync API: compiled by `npm test` (typecheck), and run by vitest.
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  Lock,
  SynchronizationManager,
  type LockScope,
  type LockSnapshot,
  type SyncSnapshot,
  type WithLockOptions,
} from "../../src/index.js";

describe("Lock#withLock types", () => {
  it("keeps a one-argument fn source-compatible and infers the result", async () => {
    const lock = new Lock("plan");
    const result = await lock.withLock("a", (token: number) => `v${token}`);
    expectTypeOf(result).toEqualTypeOf<string>();
    expect(result).toBe("v1");
  });

  it("hands fn the token and a scope with an AbortSignal", async () => {
    const lock = new Lock("plan");
    const result = await lock.withLock(
      "a",
      async (token, scope) => {
        expectTypeOf(token).toEqualTypeOf<number>();
        expectTypeOf(scope).toEqualTypeOf<LockScope>();
        expectTypeOf(scope.signal).toEqualTypeOf<AbortSignal>();
        return scope.signal.aborted;
      },
      { ttl: 1000, autoRenew: true },
    );
    expectTypeOf(result).toEqualTypeOf<boolean>();
    expect(result).toBe(false);
  });

  it("rejects options and functions of the wrong shape at compile time", async () => {
    const lock = new Lock("plan");
    const opts: WithLockOptions = { timeout: 10, ttl: 100, autoRenew: true };
    // @ts-expect-error autoRenew is a boolean
    const bad: WithLockOptions = { autoRenew: "yes" };
    // @ts-expect-error the token is a number, not a string
    await lock.withLock("a", (token: string) => token, opts);
    expect(bad.autoRenew).toBe("yes");
  });
});

describe("SynchronizationManager#snapshot types", () => {
  it("is read-only plain data", () => {
    const sync = new SynchronizationManager();
    const snap = sync.snapshot();
    expectTypeOf(snap).toEqualTypeOf<SyncSnapshot>();
    expectTypeOf(snap.locks).toEqualTypeOf<readonly LockSnapshot[]>();
    expectTypeOf<LockSnapshot["leaseRemaining"]>().toEqualTypeOf<number | undefined>();
    const overwrite = (lock: LockSnapshot): void => {
      // @ts-expect-error a snapshot cannot be written to
      lock.holder = "x";
    };
    expectTypeOf(overwrite).toBeFunction();
    expect(snap.locks).toEqual([]);
  });
});
