import type { Draft } from "immer";
import { describe, expect, expectTypeOf, it } from "vitest";
import { PubSubChannel } from "../../src/channels/pub-sub.js";
import type { Message } from "../../src/channels/message.js";
import { StreamingChannel } from "../../src/channels/streaming.js";
import { EventBus } from "../../src/events/event-bus.js";
import { EventType } from "../../src/events/event-type.js";
import { ReactiveCoordinator } from "../../src/events/reactive-coordinator.js";
import type { AgentEventPayload, CoveyEvent } from "../../src/events/types.js";
import { InMemoryStateStore } from "../../src/state/in-memory-store.js";
import { NamespacedState } from "../../src/state/namespaced-state.js";
import type { StateChange, StateEntry, StateStore, UpdateResult } from "../../src/state/types.js";

// Type-level tests: `npm test` type-checks this file first, so every `@ts-expect-error` line
// fails the run if it ever compiles, and every expectTypeOf is checked by the compiler. The
// runtime assertions keep the calls honest.

interface Task {
  id: string;
  owner?: string;
}

type CrewEvents = {
  plan_ready: { planId: string; steps: number };
  heartbeat: { at?: number };
};

function sharedKv(): StateStore {
  const state = new NamespacedState(new InMemoryStateStore());
  state.createNamespace("shared");
  return state.namespace("shared");
}

describe("StateStore types", () => {
  it("types get, watch and update by the value type the caller states", async () => {
    const kv = sharedKv();
    await kv.set<Task[]>("tasks", [{ id: "t1" }]);
    const entry = await kv.get<Task[]>("tasks");
    expectTypeOf(entry).toEqualTypeOf<StateEntry<Task[]> | undefined>();
    expect(entry?.value[0]?.id).toBe("t1");

    const seen: string[] = [];
    const stop = kv.watch<Task[]>("tasks", (change) => {
      expectTypeOf(change).toEqualTypeOf<StateChange<Task[]>>();
      expectTypeOf(change.entry?.value).toEqualTypeOf<Task[] | undefined>();
      seen.push(change.type);
    });
    // @ts-expect-error fromVersion is a number
    expect(() => kv.watch("tasks", () => undefined, { fromVersion: "3" })).toThrow();
    // @ts-expect-error includeCurrent is a boolean
    expect(() => kv.watch("tasks", () => undefined, { includeCurrent: 1 })).toThrow();

    // The "claim one task" two-liner: the draft has no `| undefined`, the result is typed.
    const { result: claimed } = await kv.update<Task[], string>("tasks", (tasks, out) => {
      const t = tasks.find((x) => x.owner === undefined); if (t) { t.owner = "me"; out.result = t.id; } }, { exists: true }); // prettier-ignore
    expectTypeOf(claimed).toEqualTypeOf<string | undefined>();
    expect(claimed).toBe("t1");
    stop();
    expect(seen).toEqual(["set"]);

    // Without exists the draft may be undefined and must be checked.
    await kv.update<Task[]>("tasks", (draft) => {
      expectTypeOf(draft).toEqualTypeOf<Draft<Task[]> | undefined>();
      // @ts-expect-error the draft may be undefined
      draft.push({ id: "t2" });
    }).catch(() => undefined);
    await kv.update<Task[]>(
      "tasks",
      (draft) => {
        expectTypeOf(draft).toEqualTypeOf<Draft<Task[]>>();
        draft.push({ id: "t3" });
      },
      { exists: true },
    );

    const r = await kv.update<number, "created" | "bumped">("n", (d, out) => {
      out.result = d === undefined ? "created" : "bumped";
      // @ts-expect-error the result type is "created" | "bumped"
      out.result = "other";
      out.result = d === undefined ? "created" : "bumped";
      return (d ?? 0) + 1;
    });
    expectTypeOf(r).toEqualTypeOf<UpdateResult<number, "created" | "bumped">>();
    expectTypeOf(r.changed).toEqualTypeOf<boolean>();
    expect(r.result).toBe("created");
    // @ts-expect-error the recipe must return the value type (or mutate the draft)
    await kv.update<number>("n", () => "text").catch(() => undefined);
  });
});

describe("PubSubChannel types", () => {
  it("types payloads in subscribe, publish, once and iterate", async () => {
    const ps = new PubSubChannel();
    const got: number[] = [];
    ps.subscribe<{ id: number }>("orders.>", (m) => {
      expectTypeOf(m).toEqualTypeOf<Message<{ id: number }>>();
      got.push(m.payload.id);
    });
    await ps.publish<{ id: number }>("shop", "orders.eu", { id: 1 });
    // Compiled, never run: the payload does not match the stated type.
    // @ts-expect-error the payload does not match the stated type
    void (() => ps.publish<{ id: number }>("shop", "orders.eu", { id: "1" }));
    const next = ps.once<{ id: number }>("orders.*");
    await ps.publish("shop", "orders.us", { id: 2 });
    expectTypeOf(await next).toEqualTypeOf<Message<{ id: number }>>();
    const it = ps.iterate<string>("text");
    await ps.publish("me", "text", "hello");
    const first = await it.next();
    if (first.done !== true) expectTypeOf(first.value.payload).toEqualTypeOf<string>();
    await it.return();
    expect(got).toEqual([1, 2]);
  });
});

describe("StreamingChannel types", () => {
  it("gives a typed handle from createStream<T>", async () => {
    const streams = new StreamingChannel();
    const tokens = streams.createStream<string>("tokens");
    await tokens.send("a");
    // @ts-expect-error the stream carries strings
    await tokens.send(42).catch(() => undefined);
    expectTypeOf(await tokens.receive()).toEqualTypeOf<string | undefined>();
    await tokens.send("b");
    tokens.close();
    for await (const t of tokens) expectTypeOf(t).toEqualTypeOf<string>();
    for await (const t of tokens.iterate()) expectTypeOf(t).toEqualTypeOf<string>();
    expect(streams.info("tokens")).toBeUndefined();
  });
});

describe("Typed events", () => {
  it("checks names and payloads against the map plus the built-in event types", async () => {
    const bus = new EventBus<CrewEvents>();
    bus.subscribe("plan_ready", (e) => {
      expectTypeOf(e.payload.steps).toEqualTypeOf<number>();
    });
    bus.subscribe(EventType.AGENT_JOINED, (e) => {
      expectTypeOf(e.payload).toEqualTypeOf<AgentEventPayload>();
    });
    await bus.emit({ type: "plan_ready", source: "planner", payload: { planId: "p1", steps: 3 } });
    await bus.emit({ type: "task_completed", source: "w", payload: { taskId: "t1", result: 1 } });
    // @ts-expect-error a typo in a type name
    await bus.emit({ type: "plan_redy", source: "planner", payload: { planId: "p1", steps: 3 } });
    // @ts-expect-error a typo in a type name
    bus.subscribe("plan_redy", () => undefined);
    // @ts-expect-error the payload misses a field
    await bus.emit({ type: "plan_ready", source: "planner", payload: { planId: "p1" } });

    const once = bus.once("plan_ready");
    await bus.emit({ type: "plan_ready", source: "planner", payload: { planId: "p2", steps: 1 } });
    expectTypeOf(await once).toEqualTypeOf<CoveyEvent<{ planId: string; steps: number }, "plan_ready">>();
    // @ts-expect-error a typo in a type name
    void bus.once("plan_redy").catch(() => undefined);
    const it = bus.iterate("heartbeat");
    await bus.emit({ type: "heartbeat", source: "s" });
    const beat = await it.next();
    if (beat.done !== true) expectTypeOf(beat.value.payload.at).toEqualTypeOf<number | undefined>();
    await it.return();
  });

  it("carries the map through ReactiveCoordinator<E>", async () => {
    const coordinator = new ReactiveCoordinator<CrewEvents>();
    const plans: string[] = [];
    coordinator.addReaction("plan_ready", (e) => void plans.push(e.payload.planId));
    const e = await coordinator.emit("planner", "plan_ready", { planId: "p1", steps: 2 });
    expectTypeOf(e.type).toEqualTypeOf<"plan_ready">();
    await coordinator.emit("worker", EventType.AGENT_JOINED, { agentId: "worker" });
    await coordinator.emit("s", "heartbeat");
    // Compiled, never run:
    // @ts-expect-error a typo in a type name
    void (() => coordinator.emit("planner", "plan_redy", { planId: "p1", steps: 2 }));
    // @ts-expect-error a required payload
    void (() => coordinator.emit("planner", "plan_ready"));
    // @ts-expect-error a typo in a type name
    coordinator.addReaction("plan_redy", () => undefined);
    expectTypeOf(coordinator.eventBus).toEqualTypeOf<EventBus<CrewEvents>>();
    expect(plans).toEqual(["p1"]);
    expect((await coordinator.state.get<string[]>("active_agents"))?.value).toEqual(["worker"]);

    // Untyped, as in the textbook: any name, any object payload.
    const plain = new ReactiveCoordinator();
    await plain.emit("a", "anything", { x: 1 });
    plain.addReaction("whatever", (ev) => {
      expectTypeOf(ev.payload).toEqualTypeOf<Record<string, unknown>>();
    });
  });
});
