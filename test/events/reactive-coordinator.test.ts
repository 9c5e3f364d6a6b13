import type { Draft } from "immer";
import { describe, expect, it, vi } from "vitest";
import { ClosedError, VersionConflictError } from "../../src/errors.js";
import { EventBus } from "../../src/events/event-bus.js";
import { EventType } from "../../src/events/event-type.js";
import { ReactiveCoordinator } from "../../src/events/reactive-coordinator.js";
import type { CoveyEvent } from "../../src/events/types.js";
import { InMemoryStateStore } from "../../src/state/in-memory-store.js";
import type { StateChange, StateEntry, StateStore, UpdateOptions, UpdateRecipe, UpdateResult, WatchOptions } from "../../src/state/types.js";
import { updateWithRetry } from "../../src/state/update-with-retry.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";

/**
 * A store whose update is a real optimistic read-modify-write with an await between the read
 * and the conditional write, as a networked backend's would be: concurrent updates of one key
 * conflict and retry.
 */
class RacyStore implements StateStore {
  readonly inner = new InMemoryStateStore();
  get<T>(key: string): Promise<StateEntry<T> | undefined> {
    return this.inner.get<T>(key);
  }
  set<T>(key: string, value: T, opts?: { by?: string; expectedVersion?: number }): Promise<StateEntry<T>> {
    return this.inner.set(key, value, opts);
  }
  delete(key: string, opts?: { by?: string; expectedVersion?: number }): Promise<boolean> {
    return this.inner.delete(key, opts);
  }
  compareAndSwap<T>(key: string, expectedValue: T | undefined, newValue: T, opts?: { by?: string }): Promise<boolean> {
    return this.inner.compareAndSwap(key, expectedValue, newValue, opts);
  }
  update<T, R = unknown>(key: string, fn: UpdateRecipe<T, R, Draft<T>>, opts: UpdateOptions & { exists: true }): Promise<UpdateResult<T, R>>;
  update<T, R = unknown>(key: string, fn: UpdateRecipe<T, R>, opts?: UpdateOptions): Promise<UpdateResult<T, R>>;
  async update<T, R>(key: string, fn: UpdateRecipe<T, R>, opts?: UpdateOptions): Promise<UpdateResult<T, R>> {
    const racy = {
      get: async (k: string) => {
        const prev = await this.inner.get(k);
        await new Promise((r) => setImmediate(r)); // the round trip
        return prev;
      },
      set: (k: string, v: unknown, o: { by: string; expectedVersion: number }) => this.inner.set(k, v, o),
    };
    return updateWithRetry<T, R>(racy, key, fn, opts);
  }
  keys(prefix?: string): Promise<string[]> {
    return this.inner.keys(prefix);
  }
  watch<T = unknown>(filter: string, listener: (change: StateChange<T>) => void, opts?: WatchOptions): () => void {
    return this.inner.watch(filter, listener, opts);
  }
  history(opts?: { key?: string; limit?: number }): Promise<StateChange[]> {
    return this.inner.history(opts);
  }
}

const activeAgents = async (state: StateStore): Promise<readonly string[] | undefined> =>
  (await state.get<string[]>("active_agents"))?.value;

const ids = (n: number, prefix = "agent"): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i + 1}`);

describe("ReactiveCoordinator", () => {
  it("creates an EventBus and an InMemoryStateStore on the given clock by default", async () => {
    const clock = new VirtualClock(1234);
    const c = new ReactiveCoordinator({ clock });
    expect(c.eventBus).toBeInstanceOf(EventBus);
    expect(c.state).toBeInstanceOf(InMemoryStateStore);
    const e = await c.emit("w1", EventType.TASK_COMPLETED, { taskId: "t1" });
    expect(e.timestamp).toBe(1234);
    expect((await c.state.get("task:t1:completed"))?.timestamp).toBe(1234);
    expect(clock.pending).toBe(0);
  });

  it("uses the bus and store it is given", async () => {
    const eventBus = new EventBus();
    const state = new InMemoryStateStore();
    const c = new ReactiveCoordinator({ eventBus, state });
    expect(c.eventBus).toBe(eventBus);
    expect(c.state).toBe(state);
    await eventBus.emit({ type: EventType.AGENT_JOINED, source: "w1", payload: { agentId: "w1" } });
    expect(await activeAgents(state)).toEqual(["w1"]);
  });
});

describe("ReactiveCoordinator (task_completed reaction)", () => {
  it("sets task:<taskId>:completed = true, written by the coordinator, before emit resolves", async () => {
    const c = new ReactiveCoordinator();
    await c.emit("w1", EventType.TASK_COMPLETED, { taskId: "t1" });
    const entry = await c.state.get<boolean>("task:t1:completed");
    expect(entry?.value).toBe(true);
    expect(entry?.updatedBy).toBe("coordinator");
  });

  it("accepts the textbook's snake_case payload and numeric ids", async () => {
    const c = new ReactiveCoordinator();
    await c.emit("w1", EventType.TASK_COMPLETED, { task_id: "t2" });
    await c.emit("w1", EventType.TASK_COMPLETED, { taskId: 7 });
    expect(await c.state.keys("task:")).toEqual(["task:7:completed", "task:t2:completed"]);
  });

  it("writes nothing for a payload without a usable id", async () => {
    const c = new ReactiveCoordinator();
    await c.emit("w1", EventType.TASK_COMPLETED, {});
    await c.emit("w1", EventType.TASK_COMPLETED, { taskId: "" });
    await c.emit("w1", EventType.TASK_COMPLETED, { taskId: { nested: true } });
    expect(await c.state.keys()).toEqual([]);
    expect(c.eventBus.getHistory({ type: EventType.ERROR_OCCURRED })).toEqual([]);
  });

  it("reports a failed write as error_occurred and still resolves emit", async () => {
    const state = new InMemoryStateStore();
    vi.spyOn(state, "set").mockRejectedValue(new Error("disk full"));
    const c = new ReactiveCoordinator({ state });
    await expect(c.emit("w1", EventType.TASK_COMPLETED, { taskId: "t1" })).resolves.toMatchObject({ type: "task_completed" });
    const [err] = c.eventBus.getHistory({ type: EventType.ERROR_OCCURRED });
    expect(err?.payload).toMatchObject({ error: "disk full", eventType: "task_completed" });
  });
});

describe("ReactiveCoordinator (agent_joined / agent_left reactions)", () => {
  it("keeps active_agents current, in join order, without duplicates", async () => {
    const c = new ReactiveCoordinator();
    await c.emit("a", EventType.AGENT_JOINED, { agentId: "a" });
    await c.emit("b", EventType.AGENT_JOINED, { agent_id: "b" });
    await c.emit("a", EventType.AGENT_JOINED, { agentId: "a" });
    expect(await activeAgents(c.state)).toEqual(["a", "b"]);
    await c.emit("a", EventType.AGENT_LEFT, { agent_id: "a" });
    await c.emit("zz", EventType.AGENT_LEFT, { agentId: "zz" });
    expect(await activeAgents(c.state)).toEqual(["b"]);
    expect((await c.state.get("active_agents"))?.updatedBy).toBe("coordinator");
  });

  it("writes an empty list when an agent leaves before any joined", async () => {
    const c = new ReactiveCoordinator();
    await c.emit("a", EventType.AGENT_LEFT, { agentId: "a" });
    expect(await activeAgents(c.state)).toEqual([]);
  });

  it.each([
    ["a string", "oops"],
    ["a number", 42],
    ["null", null],
    ["an object", { a: 1 }],
    ["true", true],
  ])("starts a fresh list when active_agents holds %s", async (_label, junk) => {
    const c = new ReactiveCoordinator();
    await c.state.set("active_agents", junk);
    await c.emit("a", EventType.AGENT_JOINED, { agentId: "a" });
    expect(await activeAgents(c.state)).toEqual(["a"]);
    expect(c.eventBus.getHistory({ type: EventType.ERROR_OCCURRED })).toEqual([]);
    await c.state.set("active_agents", junk);
    await c.emit("a", EventType.AGENT_LEFT, { agentId: "a" });
    expect(await activeAgents(c.state)).toEqual([]);
    expect(c.eventBus.getHistory({ type: EventType.ERROR_OCCURRED })).toEqual([]);
  });

  it("writes nothing when a join or leave changes nothing", async () => {
    const c = new ReactiveCoordinator();
    await c.emit("a", EventType.AGENT_JOINED, { agentId: "a" });
    const before = (await c.state.get("active_agents"))!.version;
    await c.emit("a", EventType.AGENT_JOINED, { agentId: "a" });
    await c.emit("zz", EventType.AGENT_LEFT, { agentId: "zz" });
    expect((await c.state.get("active_agents"))!.version).toBe(before);
  });

  it("keeps all 50 agents that join concurrently", async () => {
    const c = new ReactiveCoordinator();
    const agents = ids(50);
    await Promise.all(agents.map((id) => c.emit(id, EventType.AGENT_JOINED, { agentId: id })));
    expect([...(await activeAgents(c.state))!].sort()).toEqual([...agents].sort());
  });

  it("loses no join or leave on a store whose update is a racing round trip", async () => {
    const state = new RacyStore();
    const agents = ids(50);
    // The store really races: 50 concurrent raw updates exhaust the default 10 retries.
    const raw = await Promise.allSettled(agents.map((id) => state.update<string[]>("raw", (d) => [...(d ?? []), id])));
    expect(raw.some((r) => r.status === "rejected" && r.reason instanceof VersionConflictError)).toBe(true);

    const c = new ReactiveCoordinator({ state });
    await Promise.all(agents.map((id) => c.emit(id, EventType.AGENT_JOINED, { agentId: id })));
    expect(await activeAgents(state)).toHaveLength(50);
    const leaving = agents.filter((_, i) => i % 2 === 0);
    await Promise.all(leaving.map((id) => c.emit(id, EventType.AGENT_LEFT, { agentId: id })));
    expect(await activeAgents(state)).toEqual(agents.filter((_, i) => i % 2 === 1));
    expect(c.eventBus.getHistory({ type: EventType.ERROR_OCCURRED })).toEqual([]);
  });
});

describe("ReactiveCoordinator#addReaction", () => {
  it("runs the reaction for its type and waits for an async one", async () => {
    const c = new ReactiveCoordinator();
    const seen: CoveyEvent[] = [];
    let finished = false;
    c.addReaction(EventType.TASK_FAILED, (e) => void seen.push(e));
    c.addReaction(EventType.TASK_FAILED, async () => {
      await new Promise((r) => setImmediate(r));
      finished = true;
    });
    const e = await c.emit("w1", EventType.TASK_FAILED, { taskId: "t1", error: "oops" });
    expect(seen).toEqual([e]);
    expect(finished).toBe(true);
  });

  it("returns an idempotent remover", async () => {
    const c = new ReactiveCoordinator();
    const reaction = vi.fn();
    const off = c.addReaction("custom", reaction);
    await c.emit("s", "custom", {});
    off();
    off();
    await c.emit("s", "custom", {});
    expect(reaction).toHaveBeenCalledTimes(1);
  });
});

describe("ReactiveCoordinator#emit", () => {
  it("emits on the bus with the textbook's (source, type, payload) order", async () => {
    const c = new ReactiveCoordinator();
    const e = await c.emit("planner", "plan_ready", { steps: 3 });
    expect(e).toMatchObject({ id: "evt-1", type: "plan_ready", source: "planner", payload: { steps: 3 }, metadata: {} });
    expect(c.eventBus.getHistory()).toEqual([e]);
  });
});

describe("ReactiveCoordinator#close", () => {
  it("drops every reaction and closes the bus; the state stays usable", async () => {
    const c = new ReactiveCoordinator();
    const reaction = vi.fn();
    c.addReaction("*", reaction);
    c.close();
    c.close();
    expect(c.closed).toBe(true);
    expect(c.eventBus.closed).toBe(true);
    expect(c.eventBus.listenerCount()).toBe(0);
    await expect(c.emit("s", EventType.TASK_COMPLETED, { taskId: "t1" })).rejects.toBeInstanceOf(ClosedError);
    await expect(c.eventBus.emit({ type: "x", source: "s" })).rejects.toBeInstanceOf(ClosedError);
    expect(() => c.addReaction("x", () => undefined)).toThrow(ClosedError);
    expect(reaction).not.toHaveBeenCalled();
    await c.state.set("still", "open");
    expect((await c.state.get("still"))?.value).toBe("open");
  });
});
