import type { Draft } from "immer";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/errors.js";
import { InMemoryStateStore } from "../../src/state/in-memory-store.js";
import { ReplicatedState } from "../../src/state/replicated-state.js";
import type { StateChange, StateEntry, StateStore } from "../../src/state/types.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";

/** A replica that can be told to fail, and counts the writes it was asked for. */
class FlakyStore implements StateStore {
  readonly inner: InMemoryStateStore;
  failing = false;
  writes = 0;
  constructor(inner: InMemoryStateStore) {
    this.inner = inner;
  }
  #check(): void {
    if (this.failing) throw new Error("replica down");
  }
  async get<T>(key: string): Promise<StateEntry<T> | undefined> {
    this.#check();
    return this.inner.get<T>(key);
  }
  async set<T>(key: string, value: T, opts?: { by?: string; expectedVersion?: number }): Promise<StateEntry<T>> {
    this.writes++;
    this.#check();
    return this.inner.set(key, value, opts);
  }
  async delete(key: string, opts?: { by?: string; expectedVersion?: number }): Promise<boolean> {
    this.#check();
    return this.inner.delete(key, opts);
  }
  async compareAndSwap<T>(key: string, expectedValue: T | undefined, newValue: T, opts?: { by?: string }): Promise<boolean> {
    this.#check();
    return this.inner.compareAndSwap(key, expectedValue, newValue, opts);
  }
  async update<T>(key: string, fn: (draft: Draft<T> | undefined) => T | void, opts?: { by?: string; maxRetries?: number }): Promise<StateEntry<T>> {
    this.#check();
    return this.inner.update(key, fn, opts);
  }
  async keys(prefix?: string): Promise<string[]> {
    return this.inner.keys(prefix);
  }
  watch(filter: string, listener: (change: StateChange) => void): () => void {
    return this.inner.watch(filter, listener);
  }
  async history(opts?: { key?: string; limit?: number }): Promise<StateChange[]> {
    return this.inner.history(opts);
  }
}

function replicas(n: number, clock = new VirtualClock()): { clock: VirtualClock; stores: FlakyStore[]; record: Record<string, FlakyStore> } {
  const stores = Array.from({ length: n }, () => new FlakyStore(new InMemoryStateStore({ clock })));
  return { clock, stores, record: Object.fromEntries(stores.map((s, i) => [`r${i}`, s])) };
}

describe("ReplicatedState#constructor", () => {
  it("refuses an empty set of stores", () => {
    expect(() => new ReplicatedState({ stores: {} })).toThrow(ValidationError);
  });
});

describe("ReplicatedState#get", () => {
  it("reads from the first store, in the record's order, that has the key", async () => {
    const { stores, record } = replicas(3);
    await stores[1]!.inner.set("k", "from r1");
    await stores[2]!.inner.set("k", "from r2");
    const replicated = new ReplicatedState({ stores: record });
    expect(await replicated.get("k")).toBe("from r1");
    await stores[0]!.inner.set("k", "from r0");
    expect(await replicated.get("k")).toBe("from r0");
    expect(await replicated.get("missing")).toBeUndefined();
  });

  it("skips a failing store, and throws only when every store fails", async () => {
    const { stores, record } = replicas(2);
    await stores[1]!.inner.set("k", 1);
    stores[0]!.failing = true;
    const replicated = new ReplicatedState({ stores: record });
    expect(await replicated.get("k")).toBe(1);
    stores[1]!.failing = true;
    await expect(replicated.get("k")).rejects.toThrow("replica down");
  });
});

describe("ReplicatedState#setReplicated", () => {
  it("writes to every store and is true when the quorum took it", async () => {
    const { stores, record } = replicas(3);
    const replicated = new ReplicatedState({ stores: record });
    expect(await replicated.setReplicated("k", { v: 1 }, "writer", 3)).toBe(true);
    for (const s of stores) {
      const entry = await s.inner.get("k");
      expect(entry!.value).toEqual({ v: 1 });
      expect(entry!.updatedBy).toBe("writer");
    }
  });

  it("counts a store whose write throws as failed", async () => {
    const { stores, record } = replicas(3);
    stores[1]!.failing = true;
    const replicated = new ReplicatedState({ stores: record });
    expect(await replicated.setReplicated("k", 1, "w", 2)).toBe(true);
    expect(await replicated.setReplicated("k", 2, "w", 3)).toBe(false);
    expect(await replicated.setReplicated("k", 3, "w")).toBe(true);
    stores[0]!.failing = true;
    stores[2]!.failing = true;
    expect(await replicated.setReplicated("k", 4, "w")).toBe(false);
  });

  it("rejects a value that is not JSON data before any store is written", async () => {
    const { stores, record } = replicas(2);
    const replicated = new ReplicatedState({ stores: record });
    await expect(replicated.setReplicated("k", { f: () => 1 }, "w")).rejects.toBeInstanceOf(ValidationError);
    await expect(replicated.setReplicated("k", 1n, "w")).rejects.toBeInstanceOf(ValidationError);
    expect(stores.map((s) => s.writes)).toEqual([0, 0]);
  });

  it("rejects a quorum that is not an integer >= 1", async () => {
    const { record } = replicas(1);
    const replicated = new ReplicatedState({ stores: record });
    await expect(replicated.setReplicated("k", 1, "w", 0)).rejects.toBeInstanceOf(ValidationError);
    await expect(replicated.setReplicated("k", 1, "w", 1.5)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe("ReplicatedState#syncStores", () => {
  it("makes every store hold the newest value and its writer", async () => {
    const { clock, stores, record } = replicas(3);
    await stores[0]!.inner.set("k", "old", { by: "a" });
    await clock.advance(10);
    await stores[1]!.inner.set("k", "newest", { by: "b" });
    const replicated = new ReplicatedState({ stores: record });
    await replicated.syncStores("k");
    for (const s of stores) {
      const entry = await s.inner.get("k");
      expect(entry!.value).toBe("newest");
      expect(entry!.updatedBy).toBe("b");
    }
  });

  it("does not rewrite stores that already agree", async () => {
    const { stores, record } = replicas(2);
    const replicated = new ReplicatedState({ stores: record });
    await replicated.setReplicated("k", { same: true }, "w");
    const versions = await Promise.all(stores.map(async (s) => (await s.inner.get("k"))!.version));
    await replicated.syncStores("k");
    expect(await Promise.all(stores.map(async (s) => (await s.inner.get("k"))!.version))).toEqual(versions);
  });

  it("does nothing when no store has the key", async () => {
    const { stores, record } = replicas(2);
    await new ReplicatedState({ stores: record }).syncStores("none");
    expect(stores.map((s) => s.writes)).toEqual([0, 0]);
  });

  it("uses the given conflict resolver", async () => {
    const { clock, stores, record } = replicas(2);
    await stores[0]!.inner.set("k", 5, { by: "a" });
    await clock.advance(10);
    await stores[1]!.inner.set("k", 1, { by: "b" });
    const highest = (entries: StateEntry[]): StateEntry => entries.reduce((m, e) => ((e.value as number) > (m.value as number) ? e : m));
    await new ReplicatedState({ stores: record, conflictResolver: highest }).syncStores("k");
    for (const s of stores) expect((await s.inner.get("k"))!.value).toBe(5);
  });

  it("rejects when a store cannot be written", async () => {
    const { stores, record } = replicas(2);
    await stores[0]!.inner.set("k", 1);
    const replicated = new ReplicatedState({ stores: record });
    stores[1]!.failing = true;
    await expect(replicated.syncStores("k")).rejects.toThrow("replica down");
  });
});
