import { nothing } from "immer";
import { afterEach, describe, expect, it } from "vitest";
import { ValidationError, VersionConflictError } from "../../src/errors.js";
import type { StateChange, StateEntry, StateStore, WatchOptions } from "../../src/state/types.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";

/** What a contract test asks of a backend; each test gets a fresh clock and store. */
export interface ContractOptions {
  clock: VirtualClock;
  historyLimit: number;
  maxValueBytes: number;
  onListenerError: (error: unknown, change: StateChange) => void;
}

export type StoreFactory = (opts: ContractOptions) => StateStore | Promise<StateStore>;

interface Setup {
  store: StateStore;
  clock: VirtualClock;
  listenerErrors: { error: unknown; change: StateChange }[];
}

class Point {
  readonly x: number;
  readonly y: number;
  constructor(x: number, y: number) {
    this.x = x;
    this.y = y;
  }
}

function cyclicObject(): unknown {
  const o: Record<string, unknown> = { a: 1 };
  o["self"] = o;
  return o;
}

function cyclicArray(): unknown {
  const a: unknown[] = [1];
  a.push([a]);
  return a;
}

/** Values that are not JSON data; each must be refused with a ValidationError. */
export const badValues: readonly [string, () => unknown][] = [
  ["a function", () => () => 1],
  ["undefined", () => undefined],
  ["NaN", () => NaN],
  ["Infinity", () => Infinity],
  ["-Infinity", () => -Infinity],
  ["a BigInt", () => 10n],
  ["a symbol", () => Symbol("s")],
  ["a Map", () => new Map([["a", 1]])],
  ["a Set", () => new Set([1])],
  ["a Date", () => new Date(0)],
  ["a class instance", () => new Point(1, 2)],
  ["an object with a non-plain prototype", () => Object.create({ inherited: 1 }) as unknown],
  ["a cyclic object", cyclicObject],
  ["a cyclic array", cyclicArray],
  ["a sparse array", () => [1, , 3]], // eslint-disable-line no-sparse-arrays
  ["a nested function", () => ({ a: [1, { b: () => 2 }] })],
  ["a nested undefined", () => ({ a: { b: undefined } })],
  ["a nested NaN", () => [1, 2, NaN]],
  ["a nested BigInt", () => ({ n: 1n })],
  ["a nested symbol", () => ({ s: Symbol("x") })],
  ["a nested class instance", () => ({ when: new Date(0) })],
  ["a typed array", () => new Uint8Array(2)],
];

const HEX64 = /^[0-9a-f]{64}$/;

async function versionsOf(store: StateStore, key: string): Promise<number | undefined> {
  return (await store.get(key))?.version;
}

/**
 * The behaviour every {@link StateStore} must have. Call it from a test file with a factory
 * building a fresh store on the given clock and options.
 *
 * @example
 * ```ts
 * stateStoreContract("InMemoryStateStore", (o) => new InMemoryStateStore(o));
 * ```
 */
export function stateStoreContract(name: string, factory: StoreFactory): void {
  let current: Setup | undefined;

  async function setup(overrides: Partial<Pick<ContractOptions, "historyLimit" | "maxValueBytes">> = {}): Promise<Setup> {
    const clock = new VirtualClock(1_000);
    const listenerErrors: Setup["listenerErrors"] = [];
    const store = await factory({
      clock,
      historyLimit: overrides.historyLimit ?? 1000,
      maxValueBytes: overrides.maxValueBytes ?? 1024 * 1024,
      onListenerError: (error, change) => listenerErrors.push({ error, change }),
    });
    current = { store, clock, listenerErrors };
    return current;
  }

  afterEach(() => {
    // A store holds no timer: nothing it did can still fire later.
    if (current !== undefined) expect(current.clock.pending).toBe(0);
    current = undefined;
  });

  describe(`${name}#get`, () => {
    it("returns undefined for a key that was never written", async () => {
      const { store } = await setup();
      expect(await store.get("missing")).toBeUndefined();
    });

    it("returns the entry with its value and metadata", async () => {
      const { store, clock } = await setup();
      await clock.advance(250);
      await store.set("plan", { steps: ["a", "b"] }, { by: "planner" });
      const entry = await store.get<{ steps: string[] }>("plan");
      expect(entry).toBeDefined();
      expect(entry!.key).toBe("plan");
      expect(entry!.value).toEqual({ steps: ["a", "b"] });
      expect(entry!.version).toBeGreaterThanOrEqual(1);
      expect(entry!.timestamp).toBe(1_250);
      expect(entry!.updatedBy).toBe("planner");
      expect(entry!.checksum).toMatch(HEX64);
    });

    it("rejects a key that is not a non-empty string", async () => {
      const { store } = await setup();
      await expect(store.get("")).rejects.toBeInstanceOf(ValidationError);
      await expect(store.get(42 as unknown as string)).rejects.toBeInstanceOf(ValidationError);
    });
  });

  describe(`${name}#set`, () => {
    it("stores every kind of JSON value and reads it back", async () => {
      const { store } = await setup();
      const values: unknown[] = ["text", "", 0, -0.5, 1e21, true, false, null, [], {}, [1, "a", null, { b: [true] }], { "": 1, "a b": { c: [] } }];
      for (const [i, v] of values.entries()) {
        await store.set(`k${i}`, v);
        expect((await store.get(`k${i}`))!.value).toEqual(v);
      }
    });

    it("gives each write of a key a higher version", async () => {
      const { store } = await setup();
      const a = await store.set("k", 1);
      const b = await store.set("k", 2);
      const c = await store.set("k", 3);
      expect(a.version).toBeGreaterThanOrEqual(1);
      expect(b.version).toBeGreaterThan(a.version);
      expect(c.version).toBeGreaterThan(b.version);
      expect(await versionsOf(store, "k")).toBe(c.version);
    });

    it("records the clock time of each write", async () => {
      const { store, clock } = await setup();
      const a = await store.set("k", 1);
      await clock.advance(40);
      const b = await store.set("k", 2);
      expect(b.timestamp - a.timestamp).toBe(40);
    });

    it("keeps a frozen copy: mutating the caller's object afterwards changes nothing stored", async () => {
      const { store } = await setup();
      const value = { list: [1, 2], inner: { n: 1 } };
      await store.set("k", value);
      value.list.push(3);
      value.inner.n = 99;
      (value as Record<string, unknown>)["added"] = true;
      const stored = (await store.get<typeof value>("k"))!.value;
      expect(stored).toEqual({ list: [1, 2], inner: { n: 1 } });
      expect(stored).not.toBe(value);
    });

    it("returns deeply frozen values that cannot be mutated behind the store's back", async () => {
      const { store } = await setup();
      await store.set("k", { list: [{ n: 1 }], inner: { n: 1 } });
      const stored = (await store.get<{ list: { n: number }[]; inner: { n: number } }>("k"))!.value;
      expect(Object.isFrozen(stored)).toBe(true);
      expect(Object.isFrozen(stored.list)).toBe(true);
      expect(Object.isFrozen(stored.list[0])).toBe(true);
      expect(Object.isFrozen(stored.inner)).toBe(true);
      expect(() => {
        stored.inner.n = 2;
      }).toThrow(TypeError);
      expect(() => stored.list.push({ n: 2 })).toThrow(TypeError);
      expect((await store.get<typeof stored>("k"))!.value.inner.n).toBe(1);
    });

    it("returns entries whose fields cannot be reassigned", async () => {
      const { store } = await setup();
      const entry = await store.set("k", 1);
      expect(() => {
        (entry as { version: number }).version = 999;
      }).toThrow(TypeError);
      expect((await store.get("k"))!.version).toBe(entry.version);
    });

    it("accepts a value read from the store, for the same or another key", async () => {
      const { store } = await setup();
      const a = await store.set("a", { deep: { list: [1, 2] } });
      await store.set("b", a.value);
      await store.set("a", a.value);
      expect((await store.get("b"))!.value).toEqual({ deep: { list: [1, 2] } });
      expect((await store.get("a"))!.version).toBeGreaterThan(a.version);
    });

    it("writes when expectedVersion matches the current version", async () => {
      const { store } = await setup();
      const a = await store.set("k", 1);
      const b = await store.set("k", 2, { expectedVersion: a.version });
      expect(b.value).toBe(2);
    });

    it("refuses with VersionConflictError when expectedVersion does not match, leaving the entry as it was", async () => {
      const { store } = await setup();
      const a = await store.set("k", 1);
      await store.set("k", 2);
      const err: unknown = await store.set("k", 3, { expectedVersion: a.version }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VersionConflictError);
      const conflict = err as VersionConflictError;
      expect(conflict.code).toBe("VERSION_CONFLICT");
      expect(conflict.key).toBe("k");
      expect(conflict.expectedVersion).toBe(a.version);
      expect(conflict.actualVersion).toBe(await versionsOf(store, "k"));
      expect((await store.get("k"))!.value).toBe(2);
    });

    it("treats expectedVersion 0 as 'must not exist'", async () => {
      const { store } = await setup();
      const created = await store.set("k", "first", { expectedVersion: 0 });
      expect(created.value).toBe("first");
      await expect(store.set("k", "second", { expectedVersion: 0 })).rejects.toBeInstanceOf(VersionConflictError);
      expect((await store.get("k"))!.value).toBe("first");
    });

    for (const [label, make] of badValues) {
      it(`rejects ${label} with a ValidationError and writes nothing`, async () => {
        const { store } = await setup();
        const before = await store.set("k", { ok: true });
        const err: unknown = await store.set("k", make()).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).code).toBe("INVALID");
        expect((err as ValidationError).issues.length).toBeGreaterThan(0);
        const after = await store.get("k");
        expect(after!.version).toBe(before.version);
        expect(after!.value).toEqual({ ok: true });
        await expect(store.set("fresh", make())).rejects.toBeInstanceOf(ValidationError);
        expect(await store.get("fresh")).toBeUndefined();
        expect(await store.keys()).toEqual(["k"]);
      });
    }

    it("rejects a key that is not a non-empty string", async () => {
      const { store } = await setup();
      await expect(store.set("", 1)).rejects.toBeInstanceOf(ValidationError);
      await expect(store.set(undefined as unknown as string, 1)).rejects.toBeInstanceOf(ValidationError);
      expect(await store.keys()).toEqual([]);
    });

    it("accepts a value of exactly maxValueBytes of JSON and refuses one byte more", async () => {
      const { store } = await setup({ maxValueBytes: 100 });
      await store.set("k", "x".repeat(98)); // 100 bytes with the quotes
      const err: unknown = await store.set("k", "y".repeat(99)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((await store.get("k"))!.value).toBe("x".repeat(98));
      await expect(store.set("obj", { text: "z".repeat(200) })).rejects.toBeInstanceOf(ValidationError);
      expect(await store.get("obj")).toBeUndefined();
    });

    it("counts bytes of JSON text, escapes and multi-byte characters included", async () => {
      const { store } = await setup({ maxValueBytes: 10 });
      await store.set("a", 'é"é'); // "é\"é" in JSON: 1 + 2 + 2 + 2 + 1 = 8 bytes
      await expect(store.set("b", "éééé€")).rejects.toBeInstanceOf(ValidationError); // 1 + 8 + 3 + 1 = 13 bytes
      await expect(store.set("c", { ab: 1234 })).rejects.toBeInstanceOf(ValidationError); // {"ab":1234}: 11 bytes
      expect((await store.set("d", { ab: 123 })).value).toEqual({ ab: 123 }); // exactly 10 bytes
      expect(await store.keys()).toEqual(["a", "d"]);
    });

    it("stores the keys __proto__, constructor and prototype like any other, never touching Object.prototype", async () => {
      const { store } = await setup();
      await store.set("__proto__", { polluted: true });
      await store.set("constructor", "c");
      await store.set("prototype", ["p"]);
      expect((await store.get("__proto__"))!.value).toEqual({ polluted: true });
      expect((await store.get("constructor"))!.value).toBe("c");
      expect((await store.get("prototype"))!.value).toEqual(["p"]);
      expect(await store.keys()).toEqual(["__proto__", "constructor", "prototype"]);
      expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
      expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain("polluted");
    });

    it("keeps __proto__, constructor and prototype keys inside values as ordinary keys", async () => {
      const { store } = await setup();
      const json = '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},"prototype":[1]}';
      await store.set("k", JSON.parse(json) as unknown);
      const value = (await store.get<Record<string, unknown>>("k"))!.value;
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
      expect(Object.hasOwn(value, "__proto__")).toBe(true);
      expect(Object.keys(value)).toEqual(["__proto__", "constructor", "prototype"]);
      expect(JSON.stringify(value)).toBe(json);
      expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
      expect((value as { polluted?: unknown }).polluted).toBeUndefined();
    });
  });

  describe(`${name} option checks`, () => {
    it("refuses options of the wrong type with a ValidationError, whatever they are", async () => {
      const { store } = await setup();
      await store.set("k", 1);
      const hostile: unknown[] = [Object.create(null) as unknown, "3", [], Symbol("s"), () => 1, NaN];
      for (const bad of hostile) {
        await expect(store.set("k", 2, { expectedVersion: bad as number })).rejects.toBeInstanceOf(ValidationError);
        await expect(store.delete("k", { expectedVersion: bad as number })).rejects.toBeInstanceOf(ValidationError);
        await expect(store.history({ limit: bad as number })).rejects.toBeInstanceOf(ValidationError);
        await expect(store.update<number>("k", () => 3, { maxRetries: bad as number })).rejects.toBeInstanceOf(ValidationError);
        if (typeof bad !== "string") await expect(store.set("k", 2, { by: bad as string })).rejects.toBeInstanceOf(ValidationError);
      }
      expect((await store.get("k"))!.value).toBe(1);
    });
  });

  describe(`${name}#delete`, () => {
    it("removes a key and says whether it existed", async () => {
      const { store } = await setup();
      await store.set("k", 1);
      expect(await store.delete("k")).toBe(true);
      expect(await store.get("k")).toBeUndefined();
      expect(await store.keys()).toEqual([]);
      expect(await store.delete("k")).toBe(false);
      expect(await store.delete("never")).toBe(false);
    });

    it("refuses with VersionConflictError when expectedVersion does not match", async () => {
      const { store } = await setup();
      const a = await store.set("k", 1);
      await store.set("k", 2);
      await expect(store.delete("k", { expectedVersion: a.version })).rejects.toBeInstanceOf(VersionConflictError);
      expect((await store.get("k"))!.value).toBe(2);
      const now = (await store.get("k"))!.version;
      expect(await store.delete("k", { expectedVersion: now })).toBe(true);
      await expect(store.delete("gone", { expectedVersion: 3 })).rejects.toBeInstanceOf(VersionConflictError);
    });

    it("never reuses a version after delete and re-create", async () => {
      const { store } = await setup();
      const seen: number[] = [];
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 3; i++) seen.push((await store.set("k", { round, i })).version);
        await store.set(`other${round}`, round);
        await store.delete("k");
      }
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
      expect(new Set(seen).size).toBe(seen.length);
    });

    it("lets a stale expectedVersion fail against a re-created key", async () => {
      const { store } = await setup();
      const old = await store.set("k", "old");
      await store.delete("k");
      await store.set("k", "new");
      await expect(store.set("k", "stale", { expectedVersion: old.version })).rejects.toBeInstanceOf(VersionConflictError);
      expect((await store.get("k"))!.value).toBe("new");
    });
  });

  describe(`${name}#compareAndSwap`, () => {
    it("creates an absent key when expectedValue is undefined", async () => {
      const { store } = await setup();
      expect(await store.compareAndSwap("k", undefined, { owner: "a" }, { by: "a" })).toBe(true);
      const entry = await store.get("k");
      expect(entry!.value).toEqual({ owner: "a" });
      expect(entry!.updatedBy).toBe("a");
    });

    it("does not write when the key is absent but a value was expected, or present but absence was expected", async () => {
      const { store } = await setup();
      expect(await store.compareAndSwap("k", 1, 2)).toBe(false);
      expect(await store.get("k")).toBeUndefined();
      await store.set("k", 1);
      expect(await store.compareAndSwap("k", undefined, 2)).toBe(false);
      expect((await store.get("k"))!.value).toBe(1);
    });

    it("compares deeply, whatever the key order or object identity", async () => {
      const { store } = await setup();
      await store.set("k", { a: 1, b: [1, { c: null }] });
      expect(await store.compareAndSwap<unknown>("k", { b: [1, { c: null }], a: 1 }, "swapped")).toBe(true);
      expect((await store.get("k"))!.value).toBe("swapped");
    });

    it("does not write when the current value differs", async () => {
      const { store } = await setup();
      const a = await store.set("k", { a: 1, b: [1, 2] });
      for (const expected of [{ a: 1 }, { a: 1, b: [1, 2], c: 3 }, { a: 1, b: [2, 1] }, { a: "1", b: [1, 2] }, [1, 2], null, 1]) {
        expect(await store.compareAndSwap<unknown>("k", expected, "no")).toBe(false);
      }
      expect((await store.get("k"))!.version).toBe(a.version);
    });

    it("rejects a new value that is not JSON data, writing nothing", async () => {
      const { store } = await setup();
      await store.set("k", 1);
      await expect(store.compareAndSwap<unknown>("k", 1, () => 2)).rejects.toBeInstanceOf(ValidationError);
      expect((await store.get("k"))!.value).toBe(1);
    });

    it("lets exactly one of many concurrent claims win", async () => {
      const { store } = await setup();
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => store.compareAndSwap("lock", undefined, `agent-${i}`)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await store.get("lock"))!.value).toBe(`agent-${results.indexOf(true)}`);
    });

    it("can be called from a watch listener and from an update recipe without deadlocking", async () => {
      const { store } = await setup();
      const fromListener: Promise<boolean>[] = [];
      store.watch("trigger", () => fromListener.push(store.compareAndSwap("flag", undefined, "set-by-listener")));
      await store.set("trigger", 1);
      expect(await Promise.all(fromListener)).toEqual([true]);
      let fromRecipe: Promise<boolean> | undefined;
      await store.update<number>("counter", (d) => {
        fromRecipe ??= store.compareAndSwap("other", undefined, 1);
        return (d ?? 0) + 1;
      });
      expect(await fromRecipe).toBe(true);
    });
  });

  describe(`${name}#update`, () => {
    it("passes undefined for an absent key and stores what the recipe returns", async () => {
      const { store } = await setup();
      const drafts: unknown[] = [];
      const entry = await store.update<{ n: number }>(
        "k",
        (d) => {
          drafts.push(d);
          return { n: 1 };
        },
        { by: "worker" },
      );
      expect(drafts).toEqual([undefined]);
      expect(entry.value).toEqual({ n: 1 });
      expect(entry.updatedBy).toBe("worker");
      expect((await store.get("k"))!.value).toEqual({ n: 1 });
    });

    it("applies draft mutations without changing the previous entry's value", async () => {
      const { store } = await setup();
      const before = await store.set("k", { list: [1], n: 1 });
      const after = await store.update<{ list: number[]; n: number }>("k", (d) => {
        d!.list.push(2);
        d!.n++;
      });
      expect(after.value).toEqual({ list: [1, 2], n: 2 });
      expect(after.version).toBeGreaterThan(before.version);
      expect(before.value).toEqual({ list: [1], n: 1 });
      expect(Object.isFrozen(after.value)).toBe(true);
      expect(Object.isFrozen(after.value.list)).toBe(true);
    });

    it("updates primitive values by returning the new value", async () => {
      const { store } = await setup();
      await store.set("n", 41);
      expect((await store.update<number>("n", (d) => (d ?? 0) + 1)).value).toBe(42);
    });

    it("rejects with ValidationError and writes nothing when the result is undefined", async () => {
      const { store } = await setup();
      await expect(store.update("k", () => undefined)).rejects.toBeInstanceOf(ValidationError);
      await expect(store.update("k", () => nothing as unknown as undefined)).rejects.toBeInstanceOf(ValidationError);
      expect(await store.get("k")).toBeUndefined();
      expect(await store.history({ key: "k" })).toEqual([]);
      const e = await store.set("k", 1);
      await expect(store.update("k", () => nothing as unknown as undefined)).rejects.toBeInstanceOf(ValidationError);
      expect((await store.get("k"))!.version).toBe(e.version);
    });

    it("rejects a result that is not JSON data, writing nothing", async () => {
      const { store } = await setup({ maxValueBytes: 50 });
      const e = await store.set("k", { a: 1 });
      await expect(store.update<Record<string, unknown>>("k", (d) => void (d!["f"] = () => 1))).rejects.toBeInstanceOf(ValidationError);
      await expect(store.update<Record<string, unknown>>("k", (d) => void (d!["big"] = "x".repeat(60)))).rejects.toBeInstanceOf(ValidationError);
      expect((await store.get("k"))!.version).toBe(e.version);
      expect((await store.get("k"))!.value).toEqual({ a: 1 });
    });

    it("rejects with what the recipe threw, writing nothing", async () => {
      const { store } = await setup();
      const boom = new Error("boom");
      await expect(
        store.update("k", () => {
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(await store.get("k")).toBeUndefined();
    });

    it("loses no increment in a storm of 1,000 concurrent updates", async () => {
      const { store } = await setup();
      await Promise.all(Array.from({ length: 1000 }, () => store.update<number>("count", (d) => (d ?? 0) + 1)));
      expect((await store.get("count"))!.value).toBe(1000);
      await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          store.update<{ n: number; seen: number[] }>("obj", (d) => {
            if (d === undefined) return { n: 1, seen: [i] };
            d.n++;
            d.seen.push(i);
          }),
        ),
      );
      const obj = (await store.get<{ n: number; seen: number[] }>("obj"))!.value;
      expect(obj.n).toBe(1000);
      expect(new Set(obj.seen).size).toBe(1000);
    });

    it("retries on a real version conflict and succeeds", async () => {
      const { store } = await setup();
      await store.set("k", 1);
      let calls = 0;
      const entry = await store.update<number>("k", (d) => {
        calls++;
        // The first run writes the key behind the update's back: its commit must conflict.
        if (calls === 1) void store.set("k", 100);
        return (d ?? 0) + 1;
      });
      expect(calls).toBe(2);
      expect(entry.value).toBe(101);
      expect((await store.get("k"))!.value).toBe(101);
    });

    it("retries when the recipe itself runs a nested update of the key", async () => {
      const { store } = await setup();
      let calls = 0;
      let inner: Promise<unknown> | undefined;
      const entry = await store.update<number>("k", (d) => {
        calls++;
        inner ??= store.update<number>("k", (x) => (x ?? 0) + 10);
        return (d ?? 0) + 1;
      });
      await inner;
      expect(calls).toBe(2);
      expect(entry.value).toBe(11);
    });

    it("throws the last VersionConflictError once maxRetries are exhausted, writing nothing of its own", async () => {
      const { store } = await setup();
      await store.set("k", 0);
      let calls = 0;
      const err: unknown = await store
        .update<number>(
          "k",
          (d) => {
            calls++;
            void store.set("k", -calls);
            return (d ?? 0) + 1000;
          },
          { maxRetries: 2 },
        )
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VersionConflictError);
      expect((err as VersionConflictError).key).toBe("k");
      expect(calls).toBe(3);
      expect((await store.get("k"))!.value).toBe(-3);
    });

    it("retries 10 times by default", async () => {
      const { store } = await setup();
      let calls = 0;
      await expect(
        store.update<number>("k", () => {
          calls++;
          void store.set("k", calls);
          return 0;
        }),
      ).rejects.toBeInstanceOf(VersionConflictError);
      expect(calls).toBe(11);
    });

    it("keeps __proto__ keys inside values intact through an update", async () => {
      const { store } = await setup();
      await store.set("k", JSON.parse('{"__proto__":{"x":1},"n":1}') as unknown);
      const entry = await store.update<Record<string, { x: number } | number>>("k", (d) => {
        (d!["n"] as number)++;
        (d!["__proto__"] as { x: number }).x = 2;
      });
      expect(JSON.stringify(entry.value)).toBe('{"__proto__":{"x":2},"n":2}');
      expect(Object.getPrototypeOf(entry.value)).toBe(Object.prototype);
      expect(({} as Record<string, unknown>)["x"]).toBeUndefined();
    });
  });

  describe(`${name}#update result`, () => {
    interface Task {
      id: string;
      owner?: string;
    }

    it("hands back what the committing run of the recipe set as ctx.result", async () => {
      const { store } = await setup();
      await store.set<Task[]>("tasks", [{ id: "t1" }, { id: "t2" }]);
      // The common "claim one task": two lines, no closure variable.
      const { result: claimed } = await store.update<Task[], string>("tasks", (tasks, out) => {
        const t = tasks.find((x) => x.owner === undefined); if (t) { t.owner = "a"; out.result = t.id; } }, { exists: true }); // prettier-ignore
      expect(claimed).toBe("t1");
      const second = await store.update<Task[], string>("tasks", (tasks, out) => {
        const t = tasks.find((x) => x.owner === undefined); if (t) { t.owner = "b"; out.result = t.id; } }, { exists: true }); // prettier-ignore
      expect(second.result).toBe("t2");
      expect(second.changed).toBe(true);
      expect(second.value).toEqual([
        { id: "t1", owner: "a" },
        { id: "t2", owner: "b" },
      ]);
      expect(second.version).toBe((await store.get("tasks"))!.version);
    });

    it("gives each claimant of a storm a different task, and the rest nothing", async () => {
      const { store } = await setup();
      await store.set<Task[]>("tasks", [{ id: "t1" }, { id: "t2" }, { id: "t3" }]);
      const claims = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          store.update<Task[], string>(
            "tasks",
            (tasks, out) => {
              const t = tasks.find((x) => x.owner === undefined);
              if (t) {
                t.owner = `w${i}`;
                out.result = t.id;
              }
            },
            { exists: true, maxRetries: 20 },
          ),
        ),
      );
      const ids = claims.map((c) => c.result).filter((r) => r !== undefined);
      expect(ids.sort()).toEqual(["t1", "t2", "t3"]);
      expect(claims.filter((c) => c.changed)).toHaveLength(3);
      const final = (await store.get<Task[]>("tasks"))!.value;
      expect(final.every((t) => t.owner !== undefined)).toBe(true);
    });

    it("starts every attempt with a fresh context: a retried run's result never leaks", async () => {
      const { store } = await setup();
      await store.set("k", 1);
      let calls = 0;
      const seen: (string | undefined)[] = [];
      const entry = await store.update<number, string>("k", (d, out) => {
        calls++;
        seen.push(out.result);
        if (calls === 1) {
          out.result = "stale";
          void store.set("k", 100);
        } else {
          out.result = `attempt ${out.attempt}`;
        }
        return (d ?? 0) + 1;
      });
      expect(seen.every((r) => r === undefined)).toBe(true);
      expect(entry.result).toBe(calls === 1 ? "stale" : `attempt ${calls - 1}`);
      expect(entry.value).toBe((await store.get("k"))!.value);
    });

    it("leaves result undefined when the recipe sets none", async () => {
      const { store } = await setup();
      const entry = await store.update<number>("n", (d) => (d ?? 0) + 1);
      expect(entry.result).toBeUndefined();
      expect(entry.changed).toBe(true);
      expect(entry.value).toBe(1);
    });

    it("writes nothing for a recipe that changes nothing: no new version, no notification, no history", async () => {
      const { store } = await setup();
      const before = await store.set("k", { list: [1], n: 1 });
      const seen: string[] = [];
      store.watch("k", (c) => seen.push(c.type));
      const untouched = await store.update<{ list: number[]; n: number }>("k", () => undefined as unknown as void, { exists: true }).catch(
        (e: unknown) => e,
      );
      // A recipe that returns nothing and mutates nothing keeps the value as it is.
      expect(untouched).not.toBeInstanceOf(Error);
      const same = await store.update<{ list: number[]; n: number }>(
        "k",
        (d) => {
          d.n = 1; // assigning the same value is no change
        },
        { exists: true },
      );
      const equal = await store.update<{ list: number[]; n: number }>("k", () => ({ n: 1, list: [1] }));
      for (const r of [untouched as { changed: boolean; version: number }, same, equal]) {
        expect(r.changed).toBe(false);
        expect(r.version).toBe(before.version);
      }
      expect(same.value).toEqual({ list: [1], n: 1 });
      expect((await store.get("k"))!.version).toBe(before.version);
      expect(await store.history({ key: "k" })).toHaveLength(1);
      await store.set("other", 1); // a later write is still delivered
      const changed = await store.update<{ list: number[]; n: number }>("k", (d) => void d!.n++);
      expect(changed.changed).toBe(true);
      expect(changed.version).toBeGreaterThan(before.version);
      expect(seen).toEqual(["set"]);
    });

    it("with exists: true, rejects an absent key with a ValidationError that says what to do, without running the recipe", async () => {
      const { store } = await setup();
      let ran = false;
      const err: unknown = await store
        .update<{ n: number }>(
          "plan:p9",
          (d) => {
            ran = true;
            d.n++;
          },
          { exists: true },
        )
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toContain('"plan:p9"');
      expect((err as Error).message).toMatch(/does not exist/);
      expect((err as Error).message).toMatch(/set/);
      expect(ran).toBe(false);
      expect(await store.get("plan:p9")).toBeUndefined();
      await expect(store.update("k", () => 1, { exists: "yes" as unknown as true })).rejects.toBeInstanceOf(ValidationError);
    });

    it("names the key as the caller wrote it in every update error, and says what to do", async () => {
      const { store } = await setup({ maxValueBytes: 30 });
      const noValue = (await store.update("plan:p9", () => undefined).catch((e: unknown) => e)) as Error;
      expect(noValue).toBeInstanceOf(ValidationError);
      expect(noValue.message).toContain('update of key "plan:p9" produced undefined');
      expect(noValue.message).toMatch(/return the value to create/);
      const promise = (await store.update("plan:p9", (() => Promise.resolve(1)) as unknown as () => number).catch((e: unknown) => e)) as Error;
      expect(promise).toBeInstanceOf(ValidationError);
      expect(promise.message).toContain('"plan:p9"');
      const big = (await store.update("plan:p9", () => "x".repeat(40)).catch((e: unknown) => e)) as Error;
      expect(big).toBeInstanceOf(ValidationError);
      expect(big.message).toContain('"plan:p9"');
      await store.set("plan:p9", 0);
      let calls = 0;
      const conflict = (await store
        .update<number>(
          "plan:p9",
          (d) => {
            calls++;
            void store.set("plan:p9", -calls);
            return (d ?? 0) + 1;
          },
          { maxRetries: 1 },
        )
        .catch((e: unknown) => e)) as VersionConflictError;
      expect(conflict).toBeInstanceOf(VersionConflictError);
      expect(conflict.key).toBe("plan:p9");
      expect(conflict.message).toContain('"plan:p9"');
      expect(conflict.message).toMatch(/maxRetries/);
      for (const e of [noValue, promise, big, conflict]) expect(e.message).not.toMatch(/\d+:[^"]*:plan:p9/);
    });
  });

  describe(`${name}#watch from the current values`, () => {
    /** Watches with `opts` and resolves when its initial part is done. */
    function watchReady(store: StateStore, filter: string, log: string[], opts: WatchOptions): { ready: Promise<void>; stop: () => void } {
      let stop: () => void = () => undefined;
      const ready = new Promise<void>((resolve) => {
        stop = store.watch(filter, (c) => log.push(`${c.type}:${c.key}:${String(c.entry?.value)}:${c.previous === undefined ? "-" : "p"}`), {
          ...opts,
          onReady: () => {
            log.push("ready");
            resolve();
          },
        });
      });
      return { ready, stop };
    }

    it("delivers the current values first, in key order, then a ready marker, then live changes", async () => {
      const { store } = await setup();
      await store.set("task:2", "b");
      await store.set("task:1", "a");
      await store.set("other", "x");
      await store.set("task:2", "b2");
      const log: string[] = [];
      const { ready } = watchReady(store, "task:*", log, { includeCurrent: true });
      await ready;
      await store.set("task:3", "c");
      await store.set("other", "y");
      await store.delete("task:1");
      expect(log).toEqual(["set:task:1:a:-", "set:task:2:b2:-", "ready", "set:task:3:c:-", "delete:task:1:undefined:p"]);
    });

    it("marks the end of the initial values for an empty match too, and for an exact key", async () => {
      const { store } = await setup();
      await store.set("k", 1);
      const empty: string[] = [];
      await watchReady(store, "none:*", empty, { includeCurrent: true }).ready;
      expect(empty).toEqual(["ready"]);
      const exact: string[] = [];
      await watchReady(store, "k", exact, { includeCurrent: true }).ready;
      expect(exact).toEqual(["set:k:1:-", "ready"]);
      const missing: string[] = [];
      await watchReady(store, "absent", missing, { includeCurrent: true }).ready;
      expect(missing).toEqual(["ready"]);
    });

    it("loses and repeats nothing written right after the watch started", async () => {
      const { store } = await setup();
      for (let i = 0; i < 5; i++) await store.set(`k${i}`, i);
      const log: string[] = [];
      const { ready } = watchReady(store, "*", log, { includeCurrent: true });
      const writes = [store.set("k0", 100), store.set("k9", 9), store.delete("k1")];
      await ready;
      await Promise.all(writes);
      // Each key's last event is its final state, and every live change appears once.
      const lines = log.filter((l) => l !== "ready");
      const final = new Map<string, string>();
      for (const l of lines) final.set(l.split(":")[1]!, l);
      expect(final.get("k0")).toBe("set:k0:100:p");
      expect(final.get("k9")).toBe("set:k9:9:-");
      expect(final.get("k1")).toBe("delete:k1:undefined:p");
      expect(lines.filter((l) => l.startsWith("set:k0:100"))).toHaveLength(1);
      expect(lines.filter((l) => l.startsWith("delete:k1"))).toHaveLength(1);
      // The initial part comes before the marker; only live changes follow it.
      const at = log.indexOf("ready");
      expect(log.slice(0, at).every((l) => l.endsWith(":-"))).toBe(true);
    });

    it("never calls onReady or the listener after the watch was stopped", async () => {
      const { store } = await setup();
      await store.set("k", 1);
      const log: string[] = [];
      const stop = store.watch("k", (c) => log.push(c.key), { includeCurrent: true, onReady: () => log.push("ready") });
      stop();
      await store.set("k", 2);
      await new Promise((resolve) => setImmediate(resolve));
      expect(log).toEqual([]);
    });

    it("refuses bad options with a ValidationError", async () => {
      const { store } = await setup();
      expect(() => store.watch("k", () => undefined, { includeCurrent: true, fromVersion: 0 })).toThrow(ValidationError);
      expect(() => store.watch("k", () => undefined, { fromVersion: -1 })).toThrow(ValidationError);
      expect(() => store.watch("k", () => undefined, { fromVersion: 1.5 })).toThrow(ValidationError);
      expect(() => store.watch("k", () => undefined, { includeCurrent: "yes" as unknown as boolean })).toThrow(ValidationError);
      expect(() => store.watch("k", () => undefined, { onReady: 1 as unknown as () => void })).toThrow(ValidationError);
    });
  });

  describe(`${name}#watch from a version`, () => {
    function watchFrom(store: StateStore, filter: string, fromVersion: number, log: string[]): Promise<void> {
      return new Promise<void>((resolve) => {
        store.watch(filter, (c) => log.push(`${c.type}:${c.key}:${String(c.entry?.value)}`), {
          fromVersion,
          onReady: () => {
            log.push("ready");
            resolve();
          },
        });
      });
    }

    it("replays the retained changes committed after that version, in commit order, then continues live", async () => {
      const { store } = await setup();
      const a = await store.set("a", 1);
      await store.set("b", 1);
      await store.set("a", 2);
      await store.delete("b");
      const log: string[] = [];
      await watchFrom(store, "*", a.version, log);
      await store.set("c", 1);
      expect(log).toEqual(["set:b:1", "set:a:2", "delete:b:undefined", "ready", "set:c:1"]);
    });

    it("filters the replay like live changes, and replays everything retained from version 0", async () => {
      const { store } = await setup();
      await store.set("task:1", 1);
      await store.set("agent", 1);
      await store.set("task:2", 2);
      const tasks: string[] = [];
      await watchFrom(store, "task:*", 0, tasks);
      expect(tasks).toEqual(["set:task:1:1", "set:task:2:2", "ready"]);
      const last = (await store.get("task:2"))!.version;
      const none: string[] = [];
      await watchFrom(store, "*", last, none);
      expect(none).toEqual(["ready"]);
    });

    it("resumes a watch where it left off: every change exactly once across the two", async () => {
      const { store } = await setup();
      const first: string[] = [];
      let lastSeen = 0;
      const stop = store.watch("*", (c) => {
        first.push(`${c.type}:${c.key}`);
        lastSeen = c.entry?.version ?? lastSeen;
      });
      await store.set("x", 1);
      await store.set("y", 1);
      stop();
      await store.set("x", 2);
      await store.set("z", 1);
      const second: string[] = [];
      await watchFrom(store, "*", lastSeen, second);
      expect(first).toEqual(["set:x", "set:y"]);
      expect(second).toEqual(["set:x:2", "set:z:1", "ready"]);
    });
  });

  describe(`${name}#keys`, () => {
    it("lists the keys sorted, optionally by prefix, without deleted keys", async () => {
      const { store } = await setup();
      for (const k of ["task:2", "agent:b", "task:10", "task:1", "agent:a", "tas"]) await store.set(k, 1);
      await store.delete("task:10");
      expect(await store.keys()).toEqual(["agent:a", "agent:b", "tas", "task:1", "task:2"]);
      expect(await store.keys("task:")).toEqual(["task:1", "task:2"]);
      expect(await store.keys("")).toHaveLength(5);
      expect(await store.keys("nothing")).toEqual([]);
      await expect(store.keys(7 as unknown as string)).rejects.toBeInstanceOf(ValidationError);
    });
  });

  describe(`${name}#watch`, () => {
    it("filters by exact key, by prefix and by *", async () => {
      const { store } = await setup();
      const exact: string[] = [];
      const prefix: string[] = [];
      const all: string[] = [];
      store.watch("task:1", (c) => exact.push(c.key));
      store.watch("task:*", (c) => prefix.push(c.key));
      store.watch("*", (c) => all.push(c.key));
      for (const k of ["task:1", "task:12", "agent", "task:", "task:1"]) await store.set(k, 1);
      expect(exact).toEqual(["task:1", "task:1"]);
      expect(prefix).toEqual(["task:1", "task:12", "task:", "task:1"]);
      expect(all).toEqual(["task:1", "task:12", "agent", "task:", "task:1"]);
    });

    it("describes each change with its type, new entry and previous entry", async () => {
      const { store } = await setup();
      const changes: StateChange[] = [];
      store.watch("*", (c) => changes.push(c));
      const a = await store.set("k", 1, { by: "x" });
      const b = await store.set("k", 2, { by: "y" });
      await store.delete("k");
      expect(changes.map((c) => c.type)).toEqual(["set", "set", "delete"]);
      expect(changes[0]!.entry!.version).toBe(a.version);
      expect(changes[0]!.previous).toBeUndefined();
      expect(changes[1]!.entry!.value).toBe(2);
      expect(changes[1]!.entry!.updatedBy).toBe("y");
      expect(changes[1]!.previous!.version).toBe(a.version);
      expect(changes[2]!.key).toBe("k");
      expect(changes[2]!.entry).toBeUndefined();
      expect(changes[2]!.previous!.version).toBe(b.version);
    });

    it("delivers every committed change to every listener exactly once, in commit order", async () => {
      const { store } = await setup();
      const logs: string[][] = [[], [], []];
      for (const log of logs) store.watch("*", (c) => log.push(`${c.type}:${c.key}:${String(c.entry?.value)}`));
      await Promise.all([
        store.set("a", 1),
        store.update<number>("a", (d) => (d ?? 0) + 1),
        store.compareAndSwap("b", undefined, 1),
        store.delete("a"),
        store.set("b", 2),
      ]);
      const expected = ["set:a:1", "set:a:2", "set:b:1", "delete:a:undefined", "set:b:2"];
      for (const log of logs) expect(log).toEqual(expected);
      const history = (await store.history()).map((c) => `${c.type}:${c.key}:${String(c.entry?.value)}`);
      expect(history).toEqual(expected);
    });

    it("delivers a change made by a listener after the current change has reached every listener", async () => {
      const { store } = await setup();
      const first: string[] = [];
      const second: string[] = [];
      let running = 0;
      let overlapped = false;
      store.watch("*", (c) => {
        overlapped ||= running > 0;
        running++;
        first.push(c.key);
        if (c.key === "a") void store.set("b", 1);
        running--;
      });
      store.watch("*", (c) => {
        overlapped ||= running > 0;
        second.push(c.key);
      });
      await store.set("a", 1);
      await store.set("c", 1);
      expect(first).toEqual(["a", "b", "c"]);
      expect(second).toEqual(["a", "b", "c"]);
      // No listener is ever called while another is still running.
      expect(overlapped).toBe(false);
    });

    it("reports a throwing listener without breaking the store or the other listeners", async () => {
      const { store, listenerErrors } = await setup();
      const boom = new Error("listener failed");
      const seen: string[] = [];
      store.watch("*", () => {
        throw boom;
      });
      store.watch("*", (c) => seen.push(c.key));
      await store.set("a", 1);
      await store.set("b", 2);
      expect(seen).toEqual(["a", "b"]);
      expect(listenerErrors.map((e) => e.error)).toEqual([boom, boom]);
      // The reporter belongs to the backend, so the change it gets may name the key as the
      // backend stores it (a namespace view's key carries its prefix there).
      expect(listenerErrors.map((e) => e.change.entry!.value)).toEqual([1, 2]);
      expect((await store.get("b"))!.value).toBe(2);
    });

    it("reports a listener whose promise rejects", async () => {
      const { store, listenerErrors } = await setup();
      const boom = new Error("async listener failed");
      // Typed as returning void, as a caller's async function passed where a listener goes.
      const asyncListener = (async () => {
        await Promise.resolve();
        throw boom;
      }) as () => void;
      store.watch("k", asyncListener);
      await store.set("k", 1);
      await new Promise((resolve) => setImmediate(resolve));
      expect(listenerErrors.map((e) => e.error)).toEqual([boom]);
    });

    it("stops delivering after unsubscribe; unsubscribing twice is harmless", async () => {
      const { store } = await setup();
      const a: string[] = [];
      const b: string[] = [];
      const stopA = store.watch("*", (c) => a.push(c.key));
      store.watch("*", (c) => b.push(c.key));
      await store.set("one", 1);
      stopA();
      stopA();
      await store.set("two", 2);
      expect(a).toEqual(["one"]);
      expect(b).toEqual(["one", "two"]);
    });

    it("does not deliver the current change to a listener unsubscribed earlier in the same delivery", async () => {
      const { store } = await setup();
      const late: string[] = [];
      let stopLate: () => void = () => undefined;
      store.watch("*", () => stopLate());
      stopLate = store.watch("*", (c) => late.push(c.key));
      await store.set("k", 1);
      expect(late).toEqual([]);
    });

    it("gives a listener subscribed during a delivery only the changes committed after it", async () => {
      const { store } = await setup();
      const late: string[] = [];
      let subscribed = false;
      store.watch("*", () => {
        if (subscribed) return;
        subscribed = true;
        store.watch("*", (c) => late.push(c.key));
      });
      await store.set("first", 1);
      await store.set("second", 2);
      expect(late).toEqual(["second"]);
    });

    it("rejects an empty filter", async () => {
      const { store } = await setup();
      expect(() => store.watch("", () => undefined)).toThrow(ValidationError);
    });
  });

  describe(`${name}#history`, () => {
    it("lists changes oldest first, sets and deletes", async () => {
      const { store } = await setup();
      await store.set("a", 1);
      await store.set("b", 2);
      await store.delete("a");
      const history = await store.history();
      expect(history.map((c) => [c.type, c.key])).toEqual([
        ["set", "a"],
        ["set", "b"],
        ["delete", "a"],
      ]);
      expect(history[2]!.previous!.value).toBe(1);
    });

    it("keeps at most historyLimit changes, dropping the oldest", async () => {
      const { store } = await setup({ historyLimit: 5 });
      for (let i = 0; i < 12; i++) await store.set(`k${i}`, i);
      const history = await store.history();
      expect(history.map((c) => c.entry!.value)).toEqual([7, 8, 9, 10, 11]);
    });

    it("filters by key and keeps the last `limit` changes", async () => {
      const { store } = await setup();
      for (let i = 0; i < 6; i++) await store.set(i % 2 === 0 ? "even" : "odd", i);
      expect((await store.history({ key: "even" })).map((c) => c.entry!.value)).toEqual([0, 2, 4]);
      expect((await store.history({ key: "odd", limit: 2 })).map((c) => c.entry!.value)).toEqual([3, 5]);
      expect((await store.history({ limit: 1 })).map((c) => c.entry!.value)).toEqual([5]);
      expect(await store.history({ limit: 0 })).toEqual([]);
      expect(await store.history({ key: "none" })).toEqual([]);
    });

    it("reports the same entries that writes returned", async () => {
      const { store } = await setup();
      const written: StateEntry[] = [await store.set("k", 1), await store.set("k", 2)];
      const history = await store.history({ key: "k" });
      expect(history.map((c) => c.entry!.version)).toEqual(written.map((e) => e.version));
      expect(history.map((c) => c.entry!.checksum)).toEqual(written.map((e) => e.checksum));
    });
  });

  describe(`${name} checksums`, () => {
    it("gives equal values the same checksum whatever their key order, and different values different ones", async () => {
      const { store } = await setup();
      const a = await store.set("a", { x: 1, y: [1, { p: true, q: null }] });
      const b = await store.set("b", { y: [1, { q: null, p: true }], x: 1 });
      const c = await store.set("c", { x: 2, y: [1, { p: true, q: null }] });
      expect(a.checksum).toBe(b.checksum);
      expect(a.checksum).not.toBe(c.checksum);
      expect((await store.get("a"))!.checksum).toBe(a.checksum);
    });
  });
}
