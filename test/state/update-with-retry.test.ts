import { describe, expect, it } from "vitest";
import { VersionConflictError } from "../../src/errors.js";
import type { StateEntry } from "../../src/state/types.js";
import { updateWithRetry, type VersionedReadWrite } from "../../src/state/update-with-retry.js";

/** A one-key store whose local copy (peek) can be made to lag the real value. */
function lagging(initial: { value: unknown; version: number }) {
  let current = initial;
  let copy = initial;
  const calls = { get: 0, set: 0, peek: 0 };
  const entry = (e: { value: unknown; version: number }): StateEntry =>
    ({ key: "k", value: e.value, version: e.version, timestamp: 0, updatedBy: "t", checksum: "" });
  const store: VersionedReadWrite = {
    async get() {
      calls.get++;
      return entry(current);
    },
    async set(_key, value, { expectedVersion }) {
      calls.set++;
      if (expectedVersion !== current.version) throw new VersionConflictError("k", expectedVersion, current.version);
      current = { value, version: current.version + 1 };
      return entry(current);
    },
    peek() {
      calls.peek++;
      return entry(copy);
    },
  };
  return {
    store,
    calls,
    /** Another writer changed the value; the local copy has not seen it yet. */
    writeElsewhere(value: unknown) {
      current = { value, version: current.version + 1 };
    },
    catchUp() {
      copy = current;
    },
  };
}

describe("updateWithRetry with a local copy", () => {
  it("writes on the copy's version without reading the store when the copy is current", async () => {
    const s = lagging({ value: 1, version: 1 });
    const out = await updateWithRetry<number, unknown>(s.store, "k", ((n: number) => n + 1));
    expect(out.value).toBe(2);
    expect(s.calls).toEqual({ get: 0, set: 1, peek: 1 });
  });

  it("retries on a fresh read when the copy lagged (the revision check caught it)", async () => {
    const s = lagging({ value: 1, version: 1 });
    s.writeElsewhere(10);
    const out = await updateWithRetry<number, unknown>(s.store, "k", ((n: number) => n + 1));
    expect(out.value).toBe(11);
    expect(s.calls.get).toBe(1);
  });

  it("does not decide 'nothing to write' on a copy that lagged: it checks a fresh read first", async () => {
    const s = lagging({ value: { claimed: true }, version: 1 });
    // Released elsewhere; the copy still says claimed, where the recipe would write nothing.
    s.writeElsewhere({ claimed: false });
    const out = await updateWithRetry<{ claimed: boolean }, unknown>(
      s.store,
      "k",
      ((d: { claimed: boolean }) => {
        if (!d.claimed) d.claimed = true;
      }),
    );
    expect(out.changed).toBe(true);
    expect(out.value).toEqual({ claimed: true });
    expect(out.version).toBe(3);
  });

  it("returns unchanged after a fresh read confirms there is nothing to write", async () => {
    const s = lagging({ value: { claimed: true }, version: 1 });
    s.catchUp();
    const out = await updateWithRetry<{ claimed: boolean }, unknown>(s.store, "k", (() => undefined));
    expect(out.changed).toBe(false);
    expect(s.calls).toEqual({ get: 1, set: 0, peek: 1 });
  });
});
