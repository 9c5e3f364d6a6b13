import "./warm-globals.js";
import { assertNoPoisoning, restoreGlobals } from "@fast-check/poisoning";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { createSystem, defineAgent } from "../../src/agents/index.js";
import { CommunicationHub } from "../../src/channels/index.js";
import { CoveyError, ValidationError } from "../../src/errors.js";
import { EventBus, ReactiveCoordinator } from "../../src/events/index.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import { InMemoryStateStore, NamespacedState, type StateStore } from "../../src/state/index.js";
import { SynchronizationManager } from "../../src/sync/index.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";
import { report, runs } from "./fc-runtime.js";

/*
 * Arbitrary values and hostile keys at every public entry point. Each call must either work
 * or fail with a CoveyError (never a TypeError, never a synchronous throw from an async
 * method), a failed write must leave the store exactly as it was, and nothing may reach
 * Object.prototype or any other global.
 */

const HUGE = "k".repeat(200_000);
const hostileKey = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf", "", " ", HUGE, "\u0000", "a.b", "*", ">", "x:*", "💥"),
  fc.string({ maxLength: 8 }),
  fc.anything({ maxDepth: 1 }),
);
const pollutingJson = fc.constantFrom(
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '{"a":{"__proto__":{"polluted":1}},"b":[{"__proto__":{"polluted":1}}]}',
);
const hostileValue = fc.oneof(
  fc.anything({
    maxDepth: 3,
    withBigInt: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withTypedArray: true,
    withSparseArray: true,
    withNullPrototype: true,
    withBoxedValues: true,
    withObjectString: true,
  }),
  fc.jsonValue({ maxDepth: 3 }),
  pollutingJson.map((s) => JSON.parse(s) as unknown),
  fc.constantFrom(undefined, NaN, Infinity, () => 1, Symbol("s"), new Error("e"), { big: "x".repeat(5000) }),
);

let calls = 0;
let rejected = 0;
let otherErrors = 0;
/** Violations of the current run (reset before each run, so a shrunk counterexample reports its own). */
let violations: string[] = [];

function fresh(): void {
  otherErrors += violations.length;
  violations = [];
}

/** Runs `fn`; it must succeed or fail with a CoveyError. Async entry points must not throw synchronously. */
async function probe(what: string, fn: () => unknown, isAsync: boolean): Promise<"ok" | "rejected"> {
  calls++;
  let result: unknown;
  try {
    result = fn();
  } catch (err) {
    if (isAsync) violations.push(`${what} threw synchronously: ${String(err)}`);
    else if (!(err instanceof CoveyError)) violations.push(`${what} threw ${String(err)}`);
    rejected++;
    return "rejected";
  }
  try {
    await result;
    return "ok";
  } catch (err) {
    if (!(err instanceof CoveyError)) violations.push(`${what} rejected with ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    rejected++;
    return "rejected";
  }
}

async function snapshot(store: StateStore): Promise<string> {
  const keys = await store.keys();
  const entries = await Promise.all(keys.map((k) => store.get(k)));
  return JSON.stringify([keys, entries.map((e) => [e?.version, e?.value]), (await store.history()).length]);
}

// Globals the test runner and Node itself add on their own: vitest's, and (Node 22+) the
// symbols under which Node's built-in fetch installs its dispatcher on first use.
const runnerGlobals = /^(__vitest|__VITEST|vi$|expect$|__coverage|__tinypool|Symbol\(undici\.)/;

function assertClean(): void {
  expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty("polluted");
  assertNoPoisoning({ ignoredRootRegex: runnerGlobals });
}

afterEach(() => {
  restoreGlobals({ ignoredRootRegex: runnerGlobals });
});

describe("state entry points (hostile keys and values)", () => {
  it("every store method either works or fails with a CoveyError, and a failed write changes nothing", async () => {
    await fc.assert(
      fc.asyncProperty(hostileKey, hostileValue, hostileValue, async (key, value, other) => {
        fresh();
        const store = new InMemoryStateStore({ maxValueBytes: 4096 });
        await store.set("seed", { ok: true });
        const k = key as string;
        const writes: [string, () => unknown][] = [
          ["set", () => store.set(k, value)],
          ["set(expectedVersion)", () => store.set(k, value, { expectedVersion: other as number })],
          ["set(by)", () => store.set(k, { n: 1 }, { by: other as string })],
          ["compareAndSwap", () => store.compareAndSwap(k, other, value)],
          ["update", () => store.update(k, () => value as never)],
          [
            "update(mutate)",
            () =>
              store.update<Record<string, unknown>>(k, (d) => {
                if (d === undefined || d === null || typeof d !== "object" || Array.isArray(d)) return { v: value };
                d["v"] = value;
              }),
          ],
          ["delete", () => store.delete(k, { expectedVersion: other as number })],
        ];
        for (const [name, fn] of writes) {
          const before = await snapshot(store);
          if ((await probe(`store.${name}`, fn, true)) === "rejected") expect(await snapshot(store), `${name} failed but changed the store`).toBe(before);
        }
        await probe("store.get", () => store.get(k), true);
        await probe("store.keys", () => store.keys(key as string), true);
        await probe("store.history", () => store.history({ key: k, limit: other as number }), true);
        await probe("store.watch", () => store.watch(k, () => undefined)(), false);
        const ns = new NamespacedState(store);
        await probe("createNamespace", () => ns.createNamespace(k), false);
        await probe("namespace", () => ns.namespace(k), false);
        await probe("NamespacedState.set", () => ns.set(k, k, value), true);
        await probe("NamespacedState.get", () => ns.get(k, k), true);
        await probe("NamespacedState.listKeys", () => ns.listKeys(k), true);
        expect(violations).toEqual([]);
        assertClean();
      }),
      { numRuns: runs(150, 2000) },
    );
  });

  it("__proto__, constructor and prototype are ordinary keys and ordinary value fields", async () => {
    const store = new InMemoryStateStore();
    for (const key of ["__proto__", "constructor", "prototype"]) {
      const value = JSON.parse(`{"${key}":{"polluted":1},"n":1}`) as unknown;
      const entry = await store.set(key, value);
      expect(Object.keys(entry.value as object)).toEqual([key, "n"]);
      expect((await store.get(key))?.value).toEqual(value);
      const updated = await store.update<Record<string, unknown>>(key, (d) => void (d!["n"] = 2));
      expect(Object.getPrototypeOf(updated.value)).not.toHaveProperty("polluted");
    }
    expect((await store.keys()).sort()).toEqual(["__proto__", "constructor", "prototype"]);
    const ns = new NamespacedState(store);
    ns.createNamespace("__proto__");
    await ns.set("__proto__", "constructor", { polluted: 1 });
    expect(await ns.get("__proto__", "constructor")).toEqual({ polluted: 1 });
    expect(await ns.listKeys("__proto__")).toEqual(["constructor"]);
    assertClean();
  });

  it("a value above maxValueBytes is rejected with ValidationError and nothing is written", async () => {
    const store = new InMemoryStateStore({ maxValueBytes: 1024 });
    await expect(store.set("big", { s: "x".repeat(2000) })).rejects.toBeInstanceOf(ValidationError);
    await expect(store.update("big", () => ({ s: "x".repeat(2000) }))).rejects.toBeInstanceOf(ValidationError);
    expect(await store.get("big")).toBeUndefined();
    expect(await store.history()).toEqual([]);
  });
});

describe("channel, sync and event entry points (hostile names and payloads)", () => {
  it("either work or fail with a CoveyError; nothing is polluted", async () => {
    await fc.assert(
      fc.asyncProperty(hostileKey, hostileKey, hostileValue, async (a, b, payload) => {
        fresh();
        const clock = new VirtualClock();
        // A test runtime: payloads that could not cross a process boundary are rejected.
        const runtime = createRuntime({ clock, checkPayloads: true });
        const hub = new CommunicationHub({ runtime });
        const x = a as string;
        const y = b as string;
        await probe("registerHandler", () => hub.requestReply.registerHandler(x, (m) => m.payload), false);
        await probe("request", () => hub.requestReply.request(y, x, payload, { timeout: b as number }), true);
        await probe("subscribe", () => hub.pubSub.subscribe(x, () => undefined), false);
        await probe("publish", () => hub.pubSub.publish(y, x, payload), true);
        await probe("unsubscribe", () => hub.pubSub.unsubscribe(x, () => undefined), false);
        await probe("createStream", () => hub.streaming.createStream(x, { highWaterMark: b as number }), false);
        await probe("send", () => hub.streaming.send(x, payload, { timeout: 0 }), true);
        await probe("receive", () => hub.streaming.receive(x, { timeout: 0 }), true);
        await probe("closeStream", () => hub.streaming.closeStream(x), false);

        const sync = new SynchronizationManager({ runtime });
        await probe("getLock", () => sync.getLock(x), false);
        await probe("lock.acquire", () => sync.getLock("l").acquire(x, { timeout: 0, ttl: b as number }), true);
        await probe("lock.release", () => sync.getLock("l").release(x, b as number), false);
        await probe("getSemaphore", () => sync.getSemaphore("s", a as number), false);
        await probe("getBarrier", () => sync.getBarrier("b", a as number), false);
        await probe("semaphore.acquire", () => sync.getSemaphore("s2", 1).acquire(x, { timeout: b as number }), true);
        await probe("barrier.wait", () => sync.getBarrier("b2", 2).wait(x, { timeout: 0 }), true);

        const bus = new EventBus({ runtime });
        await probe("bus.subscribe", () => bus.subscribe(x, () => undefined), false);
        await probe("bus.emit", () => bus.emit({ type: x, source: y, payload: payload as object }), true);
        await probe("bus.emit(raw)", () => bus.emit(payload as never), true);
        await probe("bus.getHistory", () => bus.getHistory({ type: x, limit: b as number }), false);
        const coordinator = new ReactiveCoordinator({ eventBus: bus, state: new InMemoryStateStore({ runtime }) });
        await probe("coordinator.emit", () => coordinator.emit(x, y, payload as object), true);

        hub.close();
        sync.close();
        bus.close();
        await clock.runAll();
        expect(violations).toEqual([]);
        assertClean();
      }),
      { numRuns: runs(150, 2000) },
    );
  });

  it("system entry points either work or fail with a CoveyError", async () => {
    await fc.assert(
      fc.asyncProperty(hostileKey, hostileValue, hostileValue, async (a, input, spec) => {
        fresh();
        const system = createSystem({ clock: new VirtualClock() });
        await system.addAgent(defineAgent({ name: "echo", handler: (v: unknown) => v }));
        const x = a as string;
        await probe("call", () => system.call(x, input, { timeout: 10 }), true);
        await probe("call(echo)", () => system.call("echo", input), true);
        await probe("addAgent(spec)", () => system.addAgent(spec as never), true);
        await probe("addAgent(id, caps)", () => system.addAgent(x, input as string[]), true);
        await probe("submitTask", () => system.submitTask(input as never), true);
        await probe("removeAgent", () => system.removeAgent(x), true);
        await probe("kv.set", () => system.kv.set(x, input), true);
        await probe("shutdown", () => system.shutdown(), true);
        await probe("call after shutdown", () => system.call("echo", 1), true);
        expect(violations).toEqual([]);
        assertClean();
      }),
      { numRuns: runs(100, 1000) },
    );
    await report("bad-input", { calls, rejectedWithCoveyError: rejected, otherErrors, pollution: 0 });
  });
});
