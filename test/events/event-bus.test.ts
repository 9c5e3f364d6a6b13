import { afterEach, describe, expect, it, vi } from "vitest";
import { ClosedError, ValidationError } from "../../src/errors.js";
import { EventBus } from "../../src/events/event-bus.js";
import { EventType } from "../../src/events/event-type.js";
import type { CoveyEvent } from "../../src/events/types.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import type { DeliveryKind, Scheduler } from "../../src/runtime/scheduler.js";
import { TraceBuffer } from "../../src/runtime/trace.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";
import { hostileOutcomes, unhandledRejectionsDuring } from "../channels/hostile.js";

/** A scheduler that holds deliveries until the test runs them, in an order it chooses. */
class HeldScheduler implements Scheduler {
  readonly queue: { kind: DeliveryKind; fn: () => void }[] = [];
  deliver(kind: DeliveryKind, fn: () => void): void {
    this.queue.push({ kind, fn });
  }
  get pending(): number {
    return this.queue.length;
  }
  runAll(reverse = false): void {
    while (this.queue.length > 0) (reverse ? this.queue.pop()! : this.queue.shift()!).fn();
  }
}

const settled = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe("EventBus#emit", () => {
  it("builds the event with a per-bus id, the clock's time and {} defaults", async () => {
    const clock = new VirtualClock(5000);
    const bus = new EventBus({ clock });
    const e1 = await bus.emit({ type: "task_created", source: "planner" });
    await clock.advance(250);
    const e2 = await bus.emit({ type: "task_created", source: "planner", payload: { taskId: "t1" }, metadata: { trace: "x" } });
    expect(e1).toEqual({ id: "evt-1", type: "task_created", source: "planner", timestamp: 5000, payload: {}, metadata: {} });
    expect(e2).toMatchObject({ id: "evt-2", timestamp: 5250, payload: { taskId: "t1" }, metadata: { trace: "x" } });
    // ids are per bus (per runtime), not process-wide
    expect((await new EventBus({ clock }).emit({ type: "a", source: "b" })).id).toBe("evt-1");
    expect(clock.pending).toBe(0);
  });

  it("calls sync handlers synchronously, inside the emit call", () => {
    const bus = new EventBus();
    const seen: string[] = [];
    bus.subscribe("x", (e) => void seen.push(e.id));
    const p = bus.emit({ type: "x", source: "s" });
    expect(seen).toEqual(["evt-1"]);
    return p;
  });

  it("resolves only after every promise-returning handler has finished", async () => {
    const bus = new EventBus();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let finished = false;
    bus.subscribe("x", async () => {
      await gate;
      finished = true;
    });
    bus.subscribe("x", () => undefined);
    const p = bus.emit({ type: "x", source: "s" });
    expect(await settled(p)).toBe(false);
    release();
    const e = await p;
    expect(finished).toBe(true);
    expect(e.type).toBe("x");
  });

  it("runs the handlers of the type, then the '*' handlers", async () => {
    const bus = new EventBus();
    const calls: string[] = [];
    bus.subscribe("*", (e) => void calls.push(`*:${e.type}`));
    bus.subscribe("a", () => void calls.push("a"));
    bus.subscribe("b", () => void calls.push("b"));
    await bus.emit({ type: "a", source: "s" });
    await bus.emit({ type: "c", source: "s" });
    expect(calls).toEqual(["a", "*:a", "*:c"]);
  });

  it("rejects '*', empty types and empty sources with ValidationError and stores nothing", async () => {
    const bus = new EventBus();
    await expect(bus.emit({ type: "*", source: "s" })).rejects.toBeInstanceOf(ValidationError);
    await expect(bus.emit({ type: "", source: "s" })).rejects.toBeInstanceOf(ValidationError);
    await expect(bus.emit({ type: "a", source: "" })).rejects.toBeInstanceOf(ValidationError);
    expect(bus.getHistory()).toEqual([]);
  });

  it("checks payloads and metadata to be JSON data when the runtime asks for it", async () => {
    const runtime = createRuntime({ checkPayloads: true });
    const bus = new EventBus({ runtime });
    const handler = vi.fn();
    bus.subscribe("*", handler);
    await expect(bus.emit({ type: "a", source: "s", payload: { when: new Date() } })).rejects.toBeInstanceOf(ValidationError);
    await expect(bus.emit({ type: "a", source: "s", metadata: { f: () => 1 } })).rejects.toBeInstanceOf(ValidationError);
    expect(handler).not.toHaveBeenCalled();
    expect(bus.getHistory()).toEqual([]);
    await expect(bus.emit({ type: "a", source: "s", payload: { ok: [1, "two", null] } })).resolves.toMatchObject({ id: "evt-1" });
  });

  it("does not check payloads by default (they pass by reference)", async () => {
    const bus = new EventBus();
    const payload = { when: new Date(0) };
    const e = await bus.emit({ type: "a", source: "s", payload });
    expect(e.payload).toBe(payload);
  });

  it("records a trace entry per event when tracing is on", async () => {
    const clock = new VirtualClock(7);
    const tracer = new TraceBuffer(() => clock.now());
    const bus = new EventBus({ runtime: createRuntime({ clock, tracer }) });
    await bus.emit({ type: "agent_joined", source: "w1", payload: { agentId: "w1" } });
    expect(tracer.records).toEqual([{ seq: 1, at: 7, kind: "event", from: "w1", name: "agent_joined", correlationId: "evt-1" }]);
  });

  it("hands every handler call to the scheduler and waits for deferred deliveries", async () => {
    const scheduler = new HeldScheduler();
    const bus = new EventBus({ runtime: createRuntime({ scheduler }) });
    const calls: string[] = [];
    bus.subscribe("a", () => void calls.push("a1"));
    bus.subscribe("a", () => void calls.push("a2"));
    bus.subscribe("*", () => void calls.push("*"));
    const p = bus.emit({ type: "a", source: "s" });
    expect(scheduler.queue.map((d) => d.kind)).toEqual(["event", "event", "event"]);
    expect(calls).toEqual([]);
    expect(await settled(p)).toBe(false);
    scheduler.runAll(true);
    await p;
    expect(calls).toEqual(["*", "a2", "a1"]);
  });

  it("rejects with ClosedError after close", async () => {
    const bus = new EventBus();
    bus.close();
    await expect(bus.emit({ type: "a", source: "s" })).rejects.toBeInstanceOf(ClosedError);
  });
});

describe("EventBus#emit (failing handlers)", () => {
  it("isolates a throwing and a rejecting handler, and emits error_occurred for each", async () => {
    const onError = vi.fn();
    const bus = new EventBus({ onError });
    const calls: string[] = [];
    const errors: CoveyEvent[] = [];
    bus.subscribe(EventType.ERROR_OCCURRED, (e) => void errors.push(e));
    bus.subscribe("a", () => {
      throw new TypeError("sync boom");
    });
    bus.subscribe("a", async () => {
      await Promise.resolve();
      throw new Error("async boom");
    });
    bus.subscribe("a", () => void calls.push("third"));
    bus.subscribe("*", (e) => void calls.push(`*:${e.type}`));

    const e = await bus.emit({ type: "a", source: "agent-1" });

    // every other handler ran, and emit resolved (it does not reject for handler failures)
    expect(calls).toContain("third");
    expect(calls).toContain("*:a");
    // both error events were handled before emit resolved
    expect(errors.map((x) => x.payload)).toEqual([
      { error: "sync boom", errorName: "TypeError", eventType: "a", eventId: e.id, eventSource: "agent-1" },
      { error: "async boom", errorName: "Error", eventType: "a", eventId: e.id, eventSource: "agent-1" },
    ]);
    expect(errors.every((x) => x.source === "event-bus")).toBe(true);
    expect(bus.getHistory({ type: EventType.ERROR_OCCURRED })).toEqual(errors);
    expect(onError).toHaveBeenCalledTimes(2);
    expect(onError.mock.calls[0]![0]).toBeInstanceOf(TypeError);
    expect(onError.mock.calls[0]![1]).toBe(e);
  });

  it("reports a non-Error throw by its string form", async () => {
    const bus = new EventBus();
    bus.subscribe("a", () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a non-Error throw is what this test is about
      throw "plain string";
    });
    await bus.emit({ type: "a", source: "s" });
    expect(bus.getHistory({ type: "error_occurred" })[0]!.payload).toMatchObject({ error: "plain string", errorName: "unknown" });
  });

  it("does not recurse when an error_occurred handler throws", async () => {
    const onError = vi.fn();
    const bus = new EventBus({ onError });
    const errorHandler = vi.fn(() => {
      throw new Error("error handler is broken too");
    });
    bus.subscribe(EventType.ERROR_OCCURRED, errorHandler);
    bus.subscribe("a", () => {
      throw new Error("first");
    });
    await bus.emit({ type: "a", source: "s" });
    expect(errorHandler).toHaveBeenCalledTimes(1);
    expect(bus.getHistory({ type: EventType.ERROR_OCCURRED })).toHaveLength(1);
    expect(onError).toHaveBeenCalledTimes(2);
    expect((onError.mock.calls[1]![0] as Error).message).toBe("error handler is broken too");
    expect((onError.mock.calls[1]![1] as CoveyEvent).type).toBe(EventType.ERROR_OCCURRED);
  });

  it("falls back to a process warning when nothing else can receive the failure", async () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const bus = new EventBus();
    bus.subscribe(EventType.ERROR_OCCURRED, () => {
      throw new Error("nobody hears me");
    });
    bus.subscribe("a", () => {
      throw new Error("first");
    });
    await bus.emit({ type: "a", source: "s" });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toContain("nobody hears me");
  });

  it("warns when onError itself throws, and still emits error_occurred", async () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const bus = new EventBus({
      onError: () => {
        throw new Error("reporter broke");
      },
    });
    bus.subscribe("a", () => {
      throw new Error("first");
    });
    await bus.emit({ type: "a", source: "s" });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toContain("reporter broke");
    expect(bus.getHistory({ type: "error_occurred" })).toHaveLength(1);
  });
});

describe("EventBus#subscribe", () => {
  it("returns an idempotent unsubscribe function", async () => {
    const bus = new EventBus();
    const a = vi.fn();
    const b = vi.fn();
    const offA = bus.subscribe("x", a);
    bus.subscribe("x", b);
    offA();
    offA();
    await bus.emit({ type: "x", source: "s" });
    expect(a).not.toHaveBeenCalled();
    expect(b).toHaveBeenCalledTimes(1);
    expect(bus.listenerCount("x")).toBe(1);
  });

  it("runs a handler subscribed twice twice; each unsubscribe removes one", async () => {
    const bus = new EventBus();
    const h = vi.fn();
    const off1 = bus.subscribe("x", h);
    bus.subscribe("x", h);
    await bus.emit({ type: "x", source: "s" });
    expect(h).toHaveBeenCalledTimes(2);
    off1();
    off1();
    await bus.emit({ type: "x", source: "s" });
    expect(h).toHaveBeenCalledTimes(3);
  });

  it("a '*' handler sees every type", async () => {
    const bus = new EventBus();
    const types: string[] = [];
    bus.subscribe("*", (e) => void types.push(e.type));
    await bus.emit({ type: "a", source: "s" });
    await bus.emit({ type: EventType.AGENT_LEFT, source: "s" });
    expect(types).toEqual(["a", "agent_left"]);
  });

  it("is safe to unsubscribe during an emit: a removed handler is not called any more", async () => {
    const bus = new EventBus();
    const calls: string[] = [];
    let offB: () => void = () => undefined;
    const offA = bus.subscribe("x", () => {
      calls.push("a");
      offA();
      offB();
    });
    offB = bus.subscribe("x", () => void calls.push("b"));
    bus.subscribe("x", () => void calls.push("c"));
    await bus.emit({ type: "x", source: "s" });
    await bus.emit({ type: "x", source: "s" });
    expect(calls).toEqual(["a", "c", "c"]);
  });

  it("a handler subscribed during an emit starts with the next event", async () => {
    const bus = new EventBus();
    const late = vi.fn();
    bus.subscribe("x", () => void bus.subscribe("x", late));
    await bus.emit({ type: "x", source: "s" });
    expect(late).not.toHaveBeenCalled();
    await bus.emit({ type: "x", source: "s" });
    expect(late).toHaveBeenCalledTimes(1);
  });

  it("skips a deferred delivery whose handler was unsubscribed before it ran", async () => {
    const scheduler = new HeldScheduler();
    const bus = new EventBus({ runtime: createRuntime({ scheduler }) });
    const h = vi.fn();
    const off = bus.subscribe("x", h);
    const p = bus.emit({ type: "x", source: "s" });
    off();
    scheduler.runAll();
    await p;
    expect(h).not.toHaveBeenCalled();
  });

  it("rejects an empty type or a non-function handler, and throws ClosedError after close", () => {
    const bus = new EventBus();
    expect(() => bus.subscribe("", () => undefined)).toThrow(ValidationError);
    expect(() => bus.subscribe("x", 42 as unknown as () => void)).toThrow(ValidationError);
    bus.close();
    expect(() => bus.subscribe("x", () => undefined)).toThrow(ClosedError);
  });
});

describe("EventBus#unsubscribe", () => {
  it("removes every subscription of the handler to that type only", async () => {
    const bus = new EventBus();
    const h = vi.fn();
    bus.subscribe("x", h);
    bus.subscribe("x", h);
    bus.subscribe("y", h);
    bus.unsubscribe("x", h);
    bus.unsubscribe("nothing", h);
    await bus.emit({ type: "x", source: "s" });
    await bus.emit({ type: "y", source: "s" });
    expect(h).toHaveBeenCalledTimes(1);
    expect(h.mock.calls[0]![0]).toMatchObject({ type: "y" });
  });

  it("leaves a later subscription alone when an older unsubscribe function is called", async () => {
    const bus = new EventBus();
    const h = vi.fn();
    const offOld = bus.subscribe("x", h);
    bus.unsubscribe("x", h);
    bus.subscribe("x", h);
    offOld();
    await bus.emit({ type: "x", source: "s" });
    expect(h).toHaveBeenCalledTimes(1);
  });
});

describe("EventBus#getHistory", () => {
  it("keeps the last historyLimit events, oldest first", async () => {
    const bus = new EventBus({ historyLimit: 3 });
    for (let i = 1; i <= 5; i++) await bus.emit({ type: "t", source: "s", payload: { i } });
    expect(bus.getHistory().map((e) => e.payload["i"])).toEqual([3, 4, 5]);
  });

  it("filters by type and source and returns the last `limit` matches", async () => {
    const bus = new EventBus();
    await bus.emit({ type: "a", source: "x" });
    await bus.emit({ type: "b", source: "x" });
    await bus.emit({ type: "a", source: "y" });
    await bus.emit({ type: "a", source: "x" });
    expect(bus.getHistory({ type: "a" }).map((e) => e.id)).toEqual(["evt-1", "evt-3", "evt-4"]);
    expect(bus.getHistory({ source: "x" }).map((e) => e.id)).toEqual(["evt-1", "evt-2", "evt-4"]);
    expect(bus.getHistory({ type: "a", source: "x", limit: 1 }).map((e) => e.id)).toEqual(["evt-4"]);
    expect(bus.getHistory({ type: "none" })).toEqual([]);
  });

  it("returns at most 100 events by default", async () => {
    const bus = new EventBus();
    for (let i = 1; i <= 150; i++) await bus.emit({ type: "t", source: "s", payload: { i } });
    const h = bus.getHistory();
    expect(h).toHaveLength(100);
    expect(h[0]!.payload["i"]).toBe(51);
    expect(bus.getHistory({ limit: Infinity })).toHaveLength(150);
  });

  it("rejects a negative limit or historyLimit with ValidationError", () => {
    expect(() => new EventBus({ historyLimit: -1 })).toThrow(ValidationError);
    expect(() => new EventBus().getHistory({ limit: -5 })).toThrow(ValidationError);
  });

  it("stays readable after close", async () => {
    const bus = new EventBus();
    await bus.emit({ type: "t", source: "s" });
    bus.close();
    expect(bus.getHistory()).toHaveLength(1);
  });
});

describe("EventBus#close", () => {
  it("drops every handler, is idempotent and skips deliveries not yet run", async () => {
    const scheduler = new HeldScheduler();
    const bus = new EventBus({ runtime: createRuntime({ scheduler }) });
    const h = vi.fn();
    bus.subscribe("x", h);
    bus.subscribe("*", h);
    const p = bus.emit({ type: "x", source: "s" });
    bus.close();
    bus.close();
    expect(bus.closed).toBe(true);
    expect(bus.listenerCount()).toBe(0);
    scheduler.runAll();
    await p;
    expect(h).not.toHaveBeenCalled();
  });
});

describe("EventBus#emit (hostile handler results)", () => {
  for (const [label, outcome] of hostileOutcomes) {
    it(`isolates a handler that ${label}: later handlers run, error_occurred is emitted, nothing is unhandled`, async () => {
      vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
      for (const deferred of [false, true]) {
        const held = new HeldScheduler();
        const bus = deferred ? new EventBus({ runtime: createRuntime({ scheduler: held }) }) : new EventBus();
        const ran: string[] = [];
        const errors: { error: string; errorName: string }[] = [];
        bus.subscribe("job", () => void ran.push("first"));
        bus.subscribe("job", () => outcome() as void);
        bus.subscribe("job", () => void ran.push("last"));
        bus.subscribe("*", (e) => void ran.push(`any:${e.type}`));
        bus.subscribe(EventType.ERROR_OCCURRED, (e) => void errors.push({ error: e.payload["error"] as string, errorName: e.payload["errorName"] as string }));
        const unhandled = await unhandledRejectionsDuring(async () => {
          const p = bus.emit({ type: "job", source: "s" });
          for (let i = 0; i < 5; i++) {
            held.runAll();
            await new Promise((r) => setImmediate(r));
          }
          await p;
        });
        expect(ran.filter((r) => !r.startsWith("any:error"))).toEqual(["first", "last", "any:job"]);
        expect(errors).toHaveLength(1);
        expect(typeof errors[0]!.error).toBe("string");
        expect(unhandled).toEqual([]);
      }
    });
  }
});
