import { describe, expect, expectTypeOf, it } from "vitest";
import { ValidationError } from "../../src/errors.js";
import { EventBus } from "../../src/events/event-bus.js";
import { EventType } from "../../src/events/event-type.js";
import type { CoveyEvent, ErrorOccurredPayload, EventOf } from "../../src/events/types.js";

type MyEvents = {
  task_completed: { taskId: string; durationMs?: number };
  agent_joined: { agentId: string };
  heartbeat: { at?: number };
};

interface InterfaceEvents {
  ping: { n: number };
}

// These tests are checked by `tsc` (npm test runs the typechecker first); each
// `@ts-expect-error` line fails the typecheck if it ever compiles.
describe("EventBus types", () => {
  it("types handlers and payloads from the event map", async () => {
    const bus = new EventBus<MyEvents>();
    const ids: string[] = [];
    bus.subscribe("task_completed", (e) => {
      expectTypeOf(e.payload.taskId).toEqualTypeOf<string>();
      expectTypeOf(e.type).toEqualTypeOf<"task_completed">();
      ids.push(e.payload.taskId);
    });
    const e = await bus.emit({ type: "task_completed", source: "w", payload: { taskId: "t1" } });
    expectTypeOf(e).toEqualTypeOf<CoveyEvent<{ taskId: string; durationMs?: number }, "task_completed">>();
    expect(ids).toEqual(["t1"]);

    // @ts-expect-error wrong payload field
    await bus.emit({ type: "task_completed", source: "w", payload: { task_id: "t1" } });
    // @ts-expect-error wrong payload field type
    await bus.emit({ type: "agent_joined", source: "w", payload: { agentId: 7 } });
    // @ts-expect-error a required payload cannot be left out
    await bus.emit({ type: "agent_joined", source: "w" });
    // @ts-expect-error not an event type of this bus
    await bus.emit({ type: "unknown_type", source: "w" });
    // @ts-expect-error not an event type of this bus
    bus.subscribe("unknown_type", () => undefined);
    // @ts-expect-error the handler's payload does not have that field
    bus.subscribe("agent_joined", (ev) => void ev.payload.taskId);

    // a payload with only optional fields may be left out
    await bus.emit({ type: "heartbeat", source: "w" });
  });

  it("gives '*' handlers a union they can narrow by type", async () => {
    const bus = new EventBus<MyEvents>();
    const seen: string[] = [];
    bus.subscribe("*", (e) => {
      // The map's types plus every built-in one the bus may carry.
      expectTypeOf(e.type).toEqualTypeOf<
        | "task_completed"
        | "agent_joined"
        | "heartbeat"
        | "error_occurred"
        | "task_created"
        | "task_started"
        | "task_failed"
        | "agent_left"
        | "state_changed"
      >();
      if (e.type === "agent_joined") {
        expectTypeOf(e.payload).toEqualTypeOf<{ agentId: string }>();
        seen.push(e.payload.agentId);
      }
    });
    await bus.emit({ type: "agent_joined", source: "w", payload: { agentId: "a1" } });
    expect(seen).toEqual(["a1"]);
  });

  it("always knows the error_occurred event the bus emits itself", async () => {
    const bus = new EventBus<MyEvents>();
    const errors: string[] = [];
    bus.subscribe(EventType.ERROR_OCCURRED, (e) => {
      expectTypeOf(e.payload).toEqualTypeOf<ErrorOccurredPayload>();
      errors.push(e.payload.eventType);
    });
    bus.subscribe("heartbeat", () => {
      throw new Error("boom");
    });
    await bus.emit({ type: "heartbeat", source: "w" });
    expect(errors).toEqual(["heartbeat"]);
  });

  it("types getHistory by the type filter", async () => {
    const bus = new EventBus<MyEvents>();
    await bus.emit({ type: "agent_joined", source: "w", payload: { agentId: "a1" } });
    const joined = bus.getHistory({ type: "agent_joined" });
    expectTypeOf(joined).toEqualTypeOf<CoveyEvent<{ agentId: string }, "agent_joined">[]>();
    expectTypeOf(bus.getHistory()).toEqualTypeOf<EventOf<MyEvents>[]>();
    expect(joined[0]!.payload.agentId).toBe("a1");
  });

  it("accepts event maps declared as an interface", async () => {
    const bus = new EventBus<InterfaceEvents>();
    const ns: number[] = [];
    bus.subscribe("ping", (e) => void ns.push(e.payload.n));
    await bus.emit({ type: "ping", source: "w", payload: { n: 3 } });
    expect(ns).toEqual([3]);
    // @ts-expect-error payloads must be objects
    new EventBus<{ bad: number }>();
  });

  it("keeps untyped use open to any string and any object payload", async () => {
    const bus = new EventBus();
    bus.subscribe("anything", (e) => {
      expectTypeOf(e).toEqualTypeOf<CoveyEvent<Record<string, unknown>, "anything">>();
      expectTypeOf(e.payload["whatever"]).toEqualTypeOf<unknown>();
    });
    bus.subscribe("async", async () => {
      await Promise.resolve();
    });
    const e = await bus.emit({ type: "anything", source: "s", payload: { x: 1 } });
    expectTypeOf(e).toExtend<CoveyEvent>();
    expect(e.payload).toEqual({ x: 1 });
    const dynamic: string = ["a", "b"].join("");
    expectTypeOf(await bus.emit({ type: dynamic, source: "s" })).toEqualTypeOf<CoveyEvent>();
    // untyped: any object is a payload, interface-typed ones included
    const interfacePayload: InterfaceEvents["ping"] = { n: 1 };
    const anyObject: object = { k: 1 };
    await bus.emit({ type: "anything", source: "s", payload: interfacePayload });
    await bus.emit({ type: "anything", source: "s", payload: anyObject });
    // @ts-expect-error a payload is an object, not a primitive (and at run time a ValidationError)
    await expect(bus.emit({ type: "anything", source: "s", payload: 42 })).rejects.toBeInstanceOf(ValidationError);
    // @ts-expect-error the source is required
    await expect(bus.emit({ type: "anything" })).rejects.toBeInstanceOf(ValidationError);
  });
});
