import { describe, expect, it, vi } from "vitest";
import { ValidationError } from "../../src/errors.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import type { DeliveryKind, Scheduler } from "../../src/runtime/scheduler.js";
import { TraceBuffer } from "../../src/runtime/trace.js";
import { checksumOf } from "../../src/state/checksum.js";
import { InMemoryStateStore } from "../../src/state/in-memory-store.js";
import { NamespacedState } from "../../src/state/namespaced-state.js";
import type { StateChange } from "../../src/state/types.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";
import { stateStoreContract } from "./store-contract.js";

stateStoreContract("InMemoryStateStore", (o) => new InMemoryStateStore(o));

/** A scheduler that holds deliveries until the test runs them, as a seeded one may. */
class HeldScheduler implements Scheduler {
  readonly held: (() => void)[] = [];
  deliver(_kind: DeliveryKind, fn: () => void): void {
    this.held.push(fn);
  }
  get pending(): number {
    return this.held.length;
  }
  runOne(): void {
    this.held.shift()?.();
  }
}

describe("InMemoryStateStore#constructor", () => {
  it("refuses a negative or fractional historyLimit and a maxValueBytes below 1", () => {
    expect(() => new InMemoryStateStore({ historyLimit: -1 })).toThrow(ValidationError);
    expect(() => new InMemoryStateStore({ historyLimit: 1.5 })).toThrow(ValidationError);
    expect(() => new InMemoryStateStore({ maxValueBytes: 0 })).toThrow(ValidationError);
  });

  it("keeps no history with historyLimit 0", async () => {
    const store = new InMemoryStateStore({ historyLimit: 0 });
    await store.set("k", 1);
    expect(await store.history()).toEqual([]);
  });

  it("accepts 1 MiB of JSON by default and refuses more", async () => {
    const store = new InMemoryStateStore();
    await store.set("big", "x".repeat(1024 * 1024 - 2));
    await expect(store.set("bigger", "x".repeat(1024 * 1024 - 1))).rejects.toBeInstanceOf(ValidationError);
    expect(await store.keys()).toEqual(["big"]);
  });
});

describe("InMemoryStateStore#set", () => {
  it("numbers the first write of a key 1 and records 'system' when no writer is named", async () => {
    const store = new InMemoryStateStore();
    const entry = await store.set("k", 1);
    expect(entry.version).toBe(1);
    expect(entry.updatedBy).toBe("system");
    expect(entry.timestamp).toBeTypeOf("number");
  });

  it("rejects an empty `by`", async () => {
    const store = new InMemoryStateStore();
    await expect(store.set("k", 1, { by: "" })).rejects.toBeInstanceOf(ValidationError);
  });

  it("stores a value it already holds without copying it again", async () => {
    const store = new InMemoryStateStore();
    const a = await store.set("a", { deep: { list: [1] } });
    const b = await store.set("b", a.value);
    expect(b.value).toBe(a.value);
    const other = new InMemoryStateStore();
    expect((await other.set("c", { wrap: a.value })).value.wrap).toBe(a.value);
  });

  it("names the path of the offending node in the error", async () => {
    const store = new InMemoryStateStore();
    const err: unknown = await store.set("k", { a: [1, { b: () => 1 }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues[0]!.path).toEqual(["a", 1, "b"]);
    expect((err as ValidationError).message).toContain("a.1.b");
  });

  it("leaves symbol-keyed properties out of the stored copy, as JSON does", async () => {
    const store = new InMemoryStateStore();
    const entry = await store.set("k", { a: 1, [Symbol("hidden")]: { mutable: true } });
    expect(Object.getOwnPropertySymbols(entry.value)).toEqual([]);
    expect(entry.value).toEqual({ a: 1 });
  });

  it("stores values nested deeper than the fast walk and still refuses deep cycles", async () => {
    const store = new InMemoryStateStore();
    let deep: unknown = "leaf";
    for (let i = 0; i < 1000; i++) deep = [deep];
    const entry = await store.set("deep", deep);
    expect(JSON.stringify(entry.value)).toBe(JSON.stringify(deep));
    const ring: Record<string, unknown> = {};
    let node = ring;
    for (let i = 0; i < 500; i++) {
      const next: Record<string, unknown> = {};
      node["next"] = next;
      node = next;
    }
    node["next"] = ring;
    await expect(store.set("ring", ring)).rejects.toBeInstanceOf(ValidationError);
  });

  it("refuses a value nested too deeply to walk with a ValidationError, not a crash", async () => {
    const store = new InMemoryStateStore({ maxValueBytes: 10_000_000 });
    let deep: unknown = 0;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    await expect(store.set("k", deep)).rejects.toBeInstanceOf(ValidationError);
    expect(await store.get("k")).toBeUndefined();
  });
});

describe("InMemoryStateStore#update", () => {
  it("shares the subtrees the recipe did not touch with the previous value", async () => {
    const store = new InMemoryStateStore();
    const before = await store.set("k", { big: { list: Array.from({ length: 100 }, (_, i) => ({ i })) }, n: 0 });
    const after = await store.update<{ big: { list: { i: number }[] }; n: number }>("k", (d) => {
      d!.n++;
    });
    expect(after.value.big).toBe(before.value.big);
    expect(after.value).not.toBe(before.value);
    expect(Object.isFrozen(after.value)).toBe(true);
  });

  it("counts the size of shared subtrees against maxValueBytes", async () => {
    const store = new InMemoryStateStore({ maxValueBytes: 60 });
    await store.set("k", { text: "x".repeat(40), n: 1 }); // 55 bytes
    await store.update<{ text: string; n: number }>("k", (d) => void (d!.n = 9999)); // 58 bytes
    await expect(store.update<{ text: string; n: number }>("k", (d) => void (d!.n = 999_999))).rejects.toBeInstanceOf(ValidationError);
    expect((await store.get<{ n: number }>("k"))!.value.n).toBe(9999);
  });

  it("refuses a recipe that returns a promise", async () => {
    const store = new InMemoryStateStore();
    const asyncRecipe = (async () => 1) as unknown as () => number;
    await expect(store.update("k", asyncRecipe)).rejects.toBeInstanceOf(ValidationError);
    expect(await store.get("k")).toBeUndefined();
  });

  it("refuses a negative maxRetries", async () => {
    const store = new InMemoryStateStore();
    await expect(store.update<number>("k", () => 1, { maxRetries: -1 })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe("InMemoryStateStore checksums", () => {
  it("is the sha256 of the canonical JSON, serialised by toJSON", async () => {
    const store = new InMemoryStateStore();
    const entry = await store.set("k", { b: 1, a: [true, "x"] });
    expect(entry.checksum).toBe(checksumOf({ a: [true, "x"], b: 1 }));
    const json = JSON.parse(JSON.stringify(entry)) as Record<string, unknown>;
    expect(json).toEqual({ key: "k", value: { b: 1, a: [true, "x"] }, version: 1, timestamp: entry.timestamp, updatedBy: "system", checksum: entry.checksum });
  });
});

describe("InMemoryStateStore#watch", () => {
  it("reports a throwing listener as a process warning by default", async () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    try {
      const store = new InMemoryStateStore();
      const boom = new Error("listener failed");
      store.watch("k", () => {
        throw boom;
      });
      await store.set("k", 1);
      expect(warn).toHaveBeenCalledTimes(1);
      const warning = warn.mock.calls[0]![0] as Error;
      expect(warning.name).toBe("CoveyListenerWarning");
      expect(warning.cause).toBe(boom);
      expect(warning.message).toContain("listener failed");
    } finally {
      warn.mockRestore();
    }
  });

  it("reports a listener that throws something that cannot be turned into a string", async () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    try {
      const store = new InMemoryStateStore();
      const odd: unknown = Object.create(null);
      store.watch("k", () => {
        throw odd;
      });
      expect((await store.set("k", 1)).value).toBe(1);
      expect(warn).toHaveBeenCalledTimes(1);
      expect((warn.mock.calls[0]![0] as Error).cause).toBe(odd);
    } finally {
      warn.mockRestore();
    }
  });

  it("falls back to the default report when onListenerError itself throws", async () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    try {
      const store = new InMemoryStateStore({
        onListenerError: () => {
          throw new Error("reporter failed");
        },
      });
      store.watch("k", () => {
        throw new Error("listener failed");
      });
      await store.set("k", 1);
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });

  it("hands every delivery to the runtime's scheduler, one at a time, keeping commit order", async () => {
    const scheduler = new HeldScheduler();
    const store = new InMemoryStateStore({ runtime: createRuntime({ scheduler }) });
    const a: string[] = [];
    const b: string[] = [];
    store.watch("*", (c) => {
      a.push(c.key);
      if (c.key === "x") void store.set("from-listener", 1);
    });
    store.watch("*", (c) => b.push(c.key));
    await store.set("x", 1);
    await store.set("y", 2);
    // Writes are committed at once; only the notifications wait for the scheduler, which is
    // given one delivery at a time.
    expect(await store.keys()).toEqual(["x", "y"]);
    expect(a).toEqual([]);
    expect(scheduler.pending).toBe(1);
    while (scheduler.pending > 0) scheduler.runOne();
    expect(await store.keys()).toEqual(["from-listener", "x", "y"]);
    expect(a).toEqual(["x", "y", "from-listener"]);
    expect(b).toEqual(["x", "y", "from-listener"]);
  });

  it("does not deliver to a listener unsubscribed while its delivery was held", async () => {
    const scheduler = new HeldScheduler();
    const store = new InMemoryStateStore({ runtime: createRuntime({ scheduler }) });
    const seen: StateChange[] = [];
    const stop = store.watch("*", (c) => seen.push(c));
    await store.set("k", 1);
    stop();
    while (scheduler.pending > 0) scheduler.runOne();
    expect(seen).toEqual([]);
  });

  it("returns frozen changes", async () => {
    const store = new InMemoryStateStore();
    const changes: StateChange[] = [];
    store.watch("*", (c) => changes.push(c));
    await store.set("k", 1);
    expect(Object.isFrozen(changes[0])).toBe(true);
    expect(Object.isFrozen((await store.history())[0])).toBe(true);
  });
});

describe("InMemoryStateStore tracing", () => {
  it("records each write when the runtime traces, without payloads unless asked", async () => {
    const clock = new VirtualClock(5);
    const tracer = new TraceBuffer(() => clock.now());
    const store = new InMemoryStateStore({ runtime: createRuntime({ clock, tracer }) });
    await store.set("k", { secret: 1 }, { by: "agent-a" });
    await store.delete("k", { by: "agent-b" });
    expect(tracer.records.map((r) => [r.kind, r.from, r.name, r.detail])).toEqual([
      ["state", "agent-a", "k", { type: "set", version: 1 }],
      ["state", "agent-b", "k", { type: "delete" }],
    ]);
  });
});

// The recipe runs inside the commit, so no update of this store can conflict with another
// caller's: only a write made by the recipe itself can.
for (const [label, make] of [
  ["InMemoryStateStore", () => new InMemoryStateStore()],
  [
    "InMemoryStateStore namespace view",
    () => {
      const state = new NamespacedState(new InMemoryStateStore());
      state.createNamespace("shared");
      return state.namespace("shared");
    },
  ],
] as const) {
  describe(`${label}#update is atomic`, () => {
    it("loses no increment in a storm of 1,000 concurrent updates on default retries", async () => {
      const store = make();
      await Promise.all(Array.from({ length: 1000 }, () => store.update<number>("count", (d) => (d ?? 0) + 1)));
      expect((await store.get("count"))!.value).toBe(1000);
    });

    it("re-runs the recipe once when it runs a nested update of the key", async () => {
      const store = make();
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
  });
}

describe("InMemoryStateStore versions", () => {
  it("come from one store-wide sequence: a later write has a higher version whatever its key", async () => {
    const store = new InMemoryStateStore();
    const versions: number[] = [];
    for (const k of ["a", "b", "a", "c", "b"]) versions.push((await store.set(k, 1)).version);
    for (let i = 1; i < versions.length; i++) expect(versions[i]).toBeGreaterThan(versions[i - 1]!);
  });

  it("replays from a version only what history still retains", async () => {
    const store = new InMemoryStateStore({ historyLimit: 2 });
    const first = await store.set("k", 0);
    for (let i = 1; i <= 4; i++) await store.set("k", i);
    const seen: unknown[] = [];
    await new Promise<void>((resolve) => store.watch("k", (c) => seen.push(c.entry?.value), { fromVersion: first.version, onReady: resolve }));
    expect(seen).toEqual([3, 4]);
  });

  it("does not deliver the initial values before watch() returns, so a listener can stop itself", async () => {
    const store = new InMemoryStateStore();
    await store.set("a", 1);
    await store.set("b", 2);
    const seen: string[] = [];
    const stop = store.watch(
      "*",
      (c) => {
        seen.push(c.key);
        stop();
      },
      { includeCurrent: true },
    );
    expect(seen).toEqual([]);
    await Promise.resolve();
    expect(seen).toEqual(["a"]);
  });
});
