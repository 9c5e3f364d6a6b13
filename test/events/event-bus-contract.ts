import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/errors.js";
import type { EventBus } from "../../src/events/event-bus.js";
import { EventType } from "../../src/events/event-type.js";
import type { CoveyEvent } from "../../src/events/types.js";

/** Two buses that share their events (the same bus twice in-process; two processes' buses on a mesh). */
export interface SharedBuses {
  /** One side. */
  readonly a: EventBus;
  /** The other side (may be `a` itself). */
  readonly b: EventBus;
  /**
   * Resolves with `probe()` once `done` holds for it, and rejects if it never does: what one
   * side emitted becomes visible on the other side by then. In-process it checks once (an
   * emit is complete when it resolves); across processes it waits for delivery.
   */
  eventually<T>(probe: () => T, done: (value: T) => boolean): Promise<T>;
  /** Closes both sides. */
  close(): Promise<void>;
}

/** What a contract factory is asked for. */
export interface SharedBusOptions {
  /** The buses' `historyLimit`. @default 1000 */
  historyLimit?: number;
}

const ids = (events: readonly CoveyEvent[]): string[] => events.map((e) => e.id);

/**
 * The event bus contract: whatever carries the events (one process or several), an emit on
 * one side reaches the handlers, waits and history of the other side, in one shared order.
 */
export function eventBusContract(name: string, factory: (opts?: SharedBusOptions) => Promise<SharedBuses>): void {
  async function withBuses(opts: SharedBusOptions | undefined, body: (buses: SharedBuses) => Promise<void>): Promise<void> {
    const buses = await factory(opts);
    try {
      await body(buses);
    } finally {
      await buses.close();
    }
  }

  describe(`EventBus contract: ${name}`, () => {
    it("runs the other side's handlers of the emitted type with the same event", () =>
      withBuses(undefined, async ({ a, b, eventually }) => {
        const got: CoveyEvent[] = [];
        b.subscribe("order.created", (e) => {
          got.push(e);
        });
        b.subscribe("order.paid", () => {
          throw new Error("must not run for order.created");
        });
        const sent = await a.emit({ type: "order.created", source: "shop", payload: { orderId: 7, items: ["a", "b"] }, metadata: { trace: "t1" } });
        const seen = await eventually(() => got, (g) => g.length === 1);
        expect(seen[0]).toEqual(sent);
        expect(sent).toMatchObject({ type: "order.created", source: "shop", payload: { orderId: 7, items: ["a", "b"] }, metadata: { trace: "t1" } });
        expect(typeof sent.id).toBe("string");
        expect(typeof sent.timestamp).toBe("number");
      }));

    it("resolves emit once the event is in the emitter's history and its own handlers finished", () =>
      withBuses(undefined, async ({ a }) => {
        const done: string[] = [];
        a.subscribe("job", async (e) => {
          await new Promise((resolve) => setImmediate(resolve));
          done.push(e.id);
        });
        const e = await a.emit({ type: "job", source: "s" });
        expect(done).toEqual([e.id]);
        expect(ids(a.getHistory({ type: "job" }))).toEqual([e.id]);
        // The emitter's own event is stored once, as the object emit returned.
        expect(a.getHistory({ type: "job" })[0]).toBe(e);
      }));

    it('runs "*" handlers on the other side for every type, in emit order', () =>
      withBuses(undefined, async ({ a, b, eventually }) => {
        const got: string[] = [];
        b.subscribe("*", (e) => {
          if (e.source === "star") got.push(e.type);
        });
        await a.emit({ type: "one", source: "star" });
        await a.emit({ type: "two", source: "star" });
        await a.emit({ type: "three", source: "star" });
        expect(await eventually(() => got, (g) => g.length === 3)).toEqual(["one", "two", "three"]);
      }));

    it("answers getHistory on the other side by type, source and limit, oldest first", () =>
      withBuses(undefined, async ({ a, b, eventually }) => {
        const sent: CoveyEvent[] = [];
        for (let i = 0; i < 6; i++) sent.push(await a.emit({ type: i % 2 === 0 ? "h.even" : "h.odd", source: i < 3 ? "low" : "high", payload: { i } }));
        await eventually(() => b.getHistory({ type: "h.odd" }).length + b.getHistory({ type: "h.even" }).length, (n) => n === 6);
        expect(ids(b.getHistory({ type: "h.even" }))).toEqual(ids([sent[0]!, sent[2]!, sent[4]!]));
        expect(ids(b.getHistory({ source: "high" }))).toEqual(ids(sent.slice(3)));
        expect(ids(b.getHistory({ type: "h.odd", source: "low" }))).toEqual([sent[1]!.id]);
        expect(ids(b.getHistory({ type: "h.even", limit: 2 }))).toEqual(ids([sent[2]!, sent[4]!]));
        expect(b.getHistory({ type: "h.odd", limit: 0 })).toEqual([]);
        expect(b.getHistory({ type: "h.odd" }).map((e) => e.payload)).toEqual([{ i: 1 }, { i: 3 }, { i: 5 }]);
      }));

    it("keeps at most historyLimit events on both sides, the newest", () =>
      withBuses({ historyLimit: 4 }, async ({ a, b, eventually }) => {
        const sent: CoveyEvent[] = [];
        for (let i = 0; i < 10; i++) sent.push(await a.emit({ type: "bounded", source: "s", payload: { i } }));
        const last4 = ids(sent.slice(6));
        expect(await eventually(() => ids(b.getHistory({ limit: Infinity })), (h) => h.at(-1) === sent[9]!.id)).toEqual(last4);
        expect(ids(a.getHistory({ limit: Infinity }))).toEqual(last4);
      }));

    it("resolves once() on the other side with the next event, and iterates the other side's events", () =>
      withBuses(undefined, async ({ a, b }) => {
        const next = b.once("ping", { timeout: 10_000 });
        const sent = await a.emit({ type: "ping", source: "s", payload: { n: 1 } });
        expect((await next).id).toBe(sent.id);

        const controller = new AbortController();
        const it = b.iterate("tick", { signal: controller.signal });
        const got: unknown[] = [];
        const loop = (async () => {
          for await (const e of it) {
            got.push(e.payload["n"]);
            if (got.length === 3) break;
          }
        })();
        for (let n = 1; n <= 3; n++) await a.emit({ type: "tick", source: "s", payload: { n } });
        await loop;
        expect(got).toEqual([1, 2, 3]);
        expect(b.listenerCount("tick")).toBe(0);
      }));

    it("keeps running the other handlers when one throws, and announces the failure on both sides", () =>
      withBuses(undefined, async ({ a, b, eventually }) => {
        const ran: string[] = [];
        b.subscribe("risky", () => {
          throw new RangeError("boom");
        });
        b.subscribe("risky", (e) => {
          ran.push(e.id);
        });
        a.subscribe("risky", async () => {
          await Promise.resolve();
          throw new TypeError("local boom");
        });
        a.subscribe("risky", (e) => {
          ran.push(`a:${e.id}`);
        });
        const sent = await a.emit({ type: "risky", source: "s" });
        expect(ran).toContain(`a:${sent.id}`);
        await eventually(() => ran, (r) => r.includes(sent.id));
        const failures = (bus: EventBus): unknown[] =>
          bus
            .getHistory({ type: EventType.ERROR_OCCURRED, limit: Infinity })
            .filter((e) => e.payload["eventId"] === sent.id)
            .map((e) => e.payload["errorName"])
            .sort();
        // One error_occurred per failing handler, wherever it ran, in both histories.
        expect(await eventually(() => failures(a), (f) => f.length === 2)).toEqual(["RangeError", "TypeError"]);
        expect(await eventually(() => failures(b), (f) => f.length === 2)).toEqual(["RangeError", "TypeError"]);
      }));

    it("gives both sides the same order for concurrent emits from both", () =>
      withBuses(undefined, async ({ a, b, eventually }) => {
        const emits: Promise<CoveyEvent>[] = [];
        for (let i = 0; i < 20; i++) {
          emits.push(a.emit({ type: "race", source: "a", payload: { i } }));
          emits.push(b.emit({ type: "race", source: "b", payload: { i } }));
        }
        const sent = await Promise.all(emits);
        const onA = await eventually(() => ids(a.getHistory({ type: "race", limit: Infinity })), (h) => h.length === 40);
        const onB = await eventually(() => ids(b.getHistory({ type: "race", limit: Infinity })), (h) => h.length === 40);
        expect(onA).toEqual(onB);
        expect([...onA].sort()).toEqual(ids(sent).sort());
        // Each side's own events keep the order they were emitted in.
        const own = (h: string[], from: CoveyEvent[]): string[] => h.filter((id) => from.some((e) => e.id === id));
        const fromA = sent.filter((e) => e.source === "a");
        expect(own(onA, fromA)).toEqual(ids(fromA));
      }));

    it("stops calling a handler once it is unsubscribed, either way", () =>
      withBuses(undefined, async ({ a, b, eventually }) => {
        const calls: string[] = [];
        const byFunction = (e: CoveyEvent): void => {
          calls.push(`fn:${String(e.payload["n"])}`);
        };
        const off = b.subscribe("unsub", (e) => {
          calls.push(`off:${String(e.payload["n"])}`);
        });
        b.subscribe("unsub", byFunction);
        const marks: unknown[] = [];
        b.subscribe("mark", (e) => {
          marks.push(e.payload["n"]);
        });
        await a.emit({ type: "unsub", source: "s", payload: { n: 1 } });
        await a.emit({ type: "mark", source: "s", payload: { n: 1 } });
        await eventually(() => marks, (m) => m.length === 1);
        off();
        off();
        b.unsubscribe("unsub", byFunction);
        await a.emit({ type: "unsub", source: "s", payload: { n: 2 } });
        await a.emit({ type: "mark", source: "s", payload: { n: 2 } });
        await eventually(() => marks, (m) => m.length === 2);
        expect(calls).toEqual(["off:1", "fn:1"]);
        expect(b.listenerCount("unsub")).toBe(0);
      }));

    it("lets a handler emit and await another event (no deadlock), on either side", () =>
      withBuses(undefined, async ({ a, b, eventually }) => {
        b.subscribe("step.one", async (e) => {
          await b.emit({ type: "step.two", source: "b", payload: { after: e.id } });
        });
        const chained: string[] = [];
        a.subscribe("step.one", async (e) => {
          const next = a.once("step.local", { timeout: 10_000 });
          await a.emit({ type: "step.local", source: "a", payload: { after: e.id } });
          chained.push((await next).type);
        });
        const first = await a.emit({ type: "step.one", source: "a" });
        expect(chained).toEqual(["step.local"]);
        const two = await eventually(() => a.getHistory({ type: "step.two" }), (h) => h.length === 1);
        expect(two[0]!.payload).toEqual({ after: first.id });
      }));

    it("refuses an event it cannot carry with ValidationError", () =>
      withBuses(undefined, async ({ a }) => {
        await expect(a.emit({ type: "*", source: "s" })).rejects.toBeInstanceOf(ValidationError);
        await expect(a.emit({ type: "", source: "s" })).rejects.toBeInstanceOf(ValidationError);
        await expect(a.emit({ type: "t", source: "s", payload: [1] })).rejects.toBeInstanceOf(ValidationError);
        expect(a.getHistory({ type: "t" })).toEqual([]);
      }));
  });
}
