import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UnknownNamespaceError, ValidationError } from "../../src/errors.js";
import { InMemoryStateStore } from "../../src/state/in-memory-store.js";
import { NamespacedState } from "../../src/state/namespaced-state.js";
import type { StateChange, StateStore } from "../../src/state/types.js";
import { PassThroughStore } from "./pass-through-store.js";
import { stateStoreContract } from "./store-contract.js";

// Each view shares its store with another namespace holding look-alike keys, so a leak
// between namespaces would show up in keys, watch and history.
async function scopedView(store: StateStore): Promise<StateStore> {
  const state = new NamespacedState(store);
  state.createNamespace("n");
  state.createNamespace("n:k");
  await state.set("n:k", "x", 0);
  return state.namespace("n");
}

stateStoreContract("NamespacedState#namespace view", (o) => scopedView(new InMemoryStateStore(o)));
stateStoreContract("NamespacedState#namespace view over another backend", (o) => scopedView(new PassThroughStore(new InMemoryStateStore(o))));

describe("NamespacedState#createNamespace", () => {
  it("adds the name to namespaces; creating it again changes nothing", async () => {
    const state = new NamespacedState();
    state.createNamespace("shared");
    await state.set("shared", "k", 1);
    state.createNamespace("shared");
    state.createNamespace("agents");
    expect([...state.namespaces]).toEqual(["shared", "agents"]);
    expect(await state.get("shared", "k")).toBe(1);
  });

  it("refuses a name that is not a non-empty string", () => {
    const state = new NamespacedState();
    expect(() => state.createNamespace("")).toThrow(ValidationError);
    expect(() => state.createNamespace(3 as unknown as string)).toThrow(ValidationError);
  });
});

describe("NamespacedState#namespace", () => {
  it("throws UnknownNamespaceError for a namespace never created", () => {
    const state = new NamespacedState();
    expect(() => state.namespace("missing")).toThrow(UnknownNamespaceError);
    expect(() => state.namespace("")).toThrow(UnknownNamespaceError);
    expect(() => state.namespace(Object.create(null) as string)).toThrow(UnknownNamespaceError);
  });

  it("returns the same view every time", () => {
    const state = new NamespacedState();
    state.createNamespace("a");
    expect(state.namespace("a")).toBe(state.namespace("a"));
  });

  it("reports keys, entries, changes and history without the namespace prefix", async () => {
    const store = new InMemoryStateStore();
    const state = new NamespacedState(store);
    state.createNamespace("team");
    const view = state.namespace("team");
    const changes: StateChange[] = [];
    view.watch("task:*", (c) => changes.push(c));
    const entry = await view.set("task:1", { done: false }, { by: "lead" });
    await view.update<{ done: boolean }>("task:1", (d) => void (d!.done = true));
    expect(entry.key).toBe("task:1");
    expect((await view.get("task:1"))!.key).toBe("task:1");
    expect(await view.keys()).toEqual(["task:1"]);
    expect(await view.keys("task:")).toEqual(["task:1"]);
    expect(changes.map((c) => [c.key, c.entry!.key, c.previous?.key])).toEqual([
      ["task:1", "task:1", undefined],
      ["task:1", "task:1", "task:1"],
    ]);
    expect((await view.history()).map((c) => c.key)).toEqual(["task:1", "task:1"]);
    const raw = (await store.get("task:1")) ?? (await store.get((await store.keys())[0]!));
    expect(raw!.key).not.toBe("task:1");
    expect(entry.checksum).toBe((await store.history())[0]!.entry!.checksum);
  });

  it("applies limit to the namespace's own history", async () => {
    const state = new NamespacedState();
    state.createNamespace("a");
    state.createNamespace("b");
    for (let i = 0; i < 4; i++) {
      await state.set("a", "k", i);
      await state.set("b", "k", i * 10);
    }
    expect((await state.namespace("a").history({ limit: 2 })).map((c) => c.entry!.value)).toEqual([2, 3]);
    expect((await state.namespace("b").history({ key: "k", limit: 1 })).map((c) => c.entry!.value)).toEqual([30]);
  });
});

describe("NamespacedState isolation", () => {
  it("keeps ('a', 'b:c') and ('a:b', 'c') apart", async () => {
    const state = new NamespacedState();
    state.createNamespace("a");
    state.createNamespace("a:b");
    await state.set("a", "b:c", "first");
    await state.set("a:b", "c", "second");
    expect(await state.get("a", "b:c")).toBe("first");
    expect(await state.get("a:b", "c")).toBe("second");
    expect(await state.listKeys("a")).toEqual(["b:c"]);
    expect(await state.listKeys("a:b")).toEqual(["c"]);
  });

  it("never lets one (namespace, key) pair reach another's data, whatever the characters", async () => {
    const name = fc.string({ minLength: 1, maxLength: 6, unit: fc.constantFrom("a", ":", "1", "0", "*", "_", "é", "\u0000") });
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.tuple(name, name), { minLength: 2, maxLength: 8, selector: ([n, k]) => JSON.stringify([n, k]) }), async (pairs) => {
        const state = new NamespacedState();
        for (const [ns] of pairs) state.createNamespace(ns);
        for (const [i, [ns, key]] of pairs.entries()) await state.set(ns, key, i);
        for (const [i, [ns, key]] of pairs.entries()) expect(await state.get(ns, key)).toBe(i);
        for (const ns of new Set(pairs.map(([n]) => n))) {
          const own = pairs.filter(([n]) => n === ns).map(([, k]) => k).sort();
          expect(await state.listKeys(ns)).toEqual(own);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("keeps watch listeners to their own namespace", async () => {
    const state = new NamespacedState();
    state.createNamespace("a");
    state.createNamespace("ab");
    const seen: string[] = [];
    state.namespace("a").watch("*", (c) => seen.push(c.key));
    await state.set("ab", "x", 1);
    await state.set("a", "bx", 2);
    expect(seen).toEqual(["bx"]);
  });
});

describe("NamespacedState#get", () => {
  it("returns the value (not the entry), or undefined", async () => {
    const state = new NamespacedState(new InMemoryStateStore());
    state.createNamespace("shared");
    await state.set("shared", "goal", { text: "ship" });
    expect(await state.get("shared", "goal")).toEqual({ text: "ship" });
    expect(await state.get("shared", "missing")).toBeUndefined();
  });

  it("rejects an unknown namespace with UnknownNamespaceError", async () => {
    const state = new NamespacedState();
    await expect(state.get("nope", "k")).rejects.toBeInstanceOf(UnknownNamespaceError);
  });
});

describe("NamespacedState#set", () => {
  it("records the writer as updatedBy and returns the un-prefixed entry", async () => {
    const state = new NamespacedState();
    state.createNamespace("shared");
    const entry = await state.set("shared", "k", 1, "agent-7");
    expect(entry.key).toBe("k");
    expect(entry.updatedBy).toBe("agent-7");
    expect((await state.set("shared", "k", 2)).updatedBy).toBe("system");
  });

  it("rejects an unknown namespace with UnknownNamespaceError and writes nothing", async () => {
    const store = new InMemoryStateStore();
    const state = new NamespacedState(store);
    await expect(state.set("nope", "k", 1)).rejects.toBeInstanceOf(UnknownNamespaceError);
    expect(await store.keys()).toEqual([]);
  });
});

describe("NamespacedState#listKeys", () => {
  it("lists the namespace's keys sorted", async () => {
    const state = new NamespacedState();
    state.createNamespace("n");
    for (const k of ["b", "a", "c"]) await state.set("n", k, k);
    expect(await state.listKeys("n")).toEqual(["a", "b", "c"]);
    await expect(state.listKeys("other")).rejects.toBeInstanceOf(UnknownNamespaceError);
  });
});
