import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { ClosedError, TimeoutError, ValidationError } from "../../src/errors.js";
import { EventBus } from "../../src/events/event-bus.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";

type Events = { job: { n: number }; other: { s: string } };

function setup() {
  const clock = new VirtualClock();
  return { clock, bus: new EventBus<Events>({ clock }) };
}

async function state(p: Promise<unknown>): Promise<"pending" | "fulfilled" | "rejected"> {
  const marker = {};
  return Promise.race([p, Promise.resolve(marker)]).then(
    (v) => (v === marker ? "pending" : "fulfilled"),
    () => "rejected",
  );
}

describe("EventBus#once", () => {
  it("resolves with the next event of the type and leaves no subscription", async () => {
    const { bus } = setup();
    const next = bus.once("job");
    await bus.emit({ type: "other", source: "s", payload: { s: "x" } });
    expect(await state(next)).toBe("pending");
    await bus.emit({ type: "job", source: "s", payload: { n: 1 } });
    await bus.emit({ type: "job", source: "s", payload: { n: 2 } });
    const e = await next;
    expect(e.payload.n).toBe(1);
    expect(bus.listenerCount()).toBe(0);
  });

  it("takes any type with '*'", async () => {
    const { bus } = setup();
    const next = bus.once("*");
    await bus.emit({ type: "other", source: "s", payload: { s: "x" } });
    expect((await next).type).toBe("other");
  });

  it("rejects with TimeoutError on the virtual clock, leaving no subscription and no timer", async () => {
    const { bus, clock } = setup();
    const next = bus.once("job", { timeout: 100 });
    const check = expect(next).rejects.toBeInstanceOf(TimeoutError);
    await clock.advance(99);
    expect(await state(next)).toBe("pending");
    await clock.advance(1);
    await check;
    expect(bus.listenerCount()).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it("rejects with the signal's reason, at once if already aborted, leaving no listener", async () => {
    const { bus, clock } = setup();
    const ac = new AbortController();
    const next = bus.once("job", { signal: ac.signal, timeout: 1000 });
    ac.abort("stop");
    await expect(next).rejects.toBe("stop");
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    await expect(bus.once("job", { signal: ac.signal })).rejects.toBe("stop");
    expect(bus.listenerCount()).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it("leaves no listener on a signal once the event came", async () => {
    const { bus, clock } = setup();
    const ac = new AbortController();
    const next = bus.once("job", { signal: ac.signal, timeout: 1000 });
    await bus.emit({ type: "job", source: "s", payload: { n: 1 } });
    await next;
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    expect(clock.pending).toBe(0);
  });

  it("rejects with ClosedError when the bus closes, and after", async () => {
    const { bus, clock } = setup();
    const next = bus.once("job", { timeout: 1000 });
    bus.close();
    await expect(next).rejects.toBeInstanceOf(ClosedError);
    await expect(bus.once("job")).rejects.toBeInstanceOf(ClosedError);
    expect(clock.pending).toBe(0);
  });

  it("rejects a bad type or timeout with ValidationError", async () => {
    const { bus } = setup();
    await expect(bus.once("" as "job")).rejects.toBeInstanceOf(ValidationError);
    await expect(bus.once("job", { timeout: -1 })).rejects.toBeInstanceOf(ValidationError);
    expect(bus.listenerCount()).toBe(0);
  });
});

describe("EventBus#iterate", () => {
  it("yields the events of the type in order and unsubscribes when the loop breaks", async () => {
    const { bus } = setup();
    const seen: number[] = [];
    const loop = (async () => {
      for await (const e of bus.iterate("job")) {
        seen.push(e.payload.n);
        if (seen.length === 3) break;
      }
    })();
    for (let n = 1; n <= 5; n++) await bus.emit({ type: "job", source: "s", payload: { n } });
    await loop;
    expect(seen).toEqual([1, 2, 3]);
    expect(bus.listenerCount()).toBe(0);
  });

  it("buffers up to bufferSize for a slow loop and drops the oldest past it, counting them", async () => {
    const { bus } = setup();
    const it = bus.iterate("job", { bufferSize: 3 });
    for (let n = 1; n <= 5; n++) await bus.emit({ type: "job", source: "s", payload: { n } });
    expect(it.dropped).toBe(2);
    const got: number[] = [];
    for (let i = 0; i < 3; i++) got.push(((await it.next()).value as { payload: { n: number } }).payload.n);
    expect(got).toEqual([3, 4, 5]);
    await it.return();
    expect(bus.listenerCount()).toBe(0);
    expect(() => bus.iterate("job", { bufferSize: 0 })).toThrow(ValidationError);
  });

  it("rejects the pending next() with the signal's reason and leaves nothing behind", async () => {
    const { bus } = setup();
    const ac = new AbortController();
    const it = bus.iterate("*", { signal: ac.signal });
    const pending = it.next();
    ac.abort(new Error("halt"));
    await expect(pending).rejects.toThrow("halt");
    await expect(it.next()).rejects.toThrow("halt");
    expect(bus.listenerCount()).toBe(0);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    // Already aborted: nothing is subscribed at all.
    const late = bus.iterate("job", { signal: ac.signal });
    expect(bus.listenerCount()).toBe(0);
    await expect(late.next()).rejects.toThrow("halt");
  });

  it("leaves no abort listener once the loop breaks", async () => {
    const { bus } = setup();
    const ac = new AbortController();
    const loop = (async () => {
      for await (const e of bus.iterate("job", { signal: ac.signal })) if (e.payload.n === 2) break;
    })();
    await bus.emit({ type: "job", source: "s", payload: { n: 1 } });
    await bus.emit({ type: "job", source: "s", payload: { n: 2 } });
    await loop;
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    expect(bus.listenerCount()).toBe(0);
  });

  it("ends the loop when the bus closes", async () => {
    const { bus } = setup();
    const seen: number[] = [];
    const loop = (async () => {
      for await (const e of bus.iterate("job")) seen.push(e.payload.n);
    })();
    await bus.emit({ type: "job", source: "s", payload: { n: 1 } });
    bus.close();
    await loop;
    expect(seen).toEqual([1]);
    expect(() => bus.iterate("job")).toThrow(ClosedError);
  });
});

describe("EventBus#subscribe with a signal", () => {
  it("unsubscribes when the signal aborts and leaves no listener when unsubscribed by hand", async () => {
    const { bus } = setup();
    const ac = new AbortController();
    const seen: number[] = [];
    bus.subscribe("job", (e) => void seen.push(e.payload.n), { signal: ac.signal });
    await bus.emit({ type: "job", source: "s", payload: { n: 1 } });
    ac.abort();
    await bus.emit({ type: "job", source: "s", payload: { n: 2 } });
    expect(seen).toEqual([1]);
    expect(bus.listenerCount()).toBe(0);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);

    const ac2 = new AbortController();
    const off = bus.subscribe("job", () => undefined, { signal: ac2.signal });
    expect(getEventListeners(ac2.signal, "abort")).toHaveLength(1);
    off();
    expect(getEventListeners(ac2.signal, "abort")).toHaveLength(0);
    expect(bus.listenerCount()).toBe(0);
  });

  it("subscribes nothing with an already-aborted signal", () => {
    const { bus } = setup();
    const off = bus.subscribe("job", () => undefined, { signal: AbortSignal.abort() });
    expect(bus.listenerCount()).toBe(0);
    off();
  });

  it("puts one listener on a signal shared by many subscriptions", () => {
    const { bus } = setup();
    const ac = new AbortController();
    for (let i = 0; i < 50; i++) bus.subscribe("job", () => undefined, { signal: ac.signal });
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(1);
    ac.abort();
    expect(bus.listenerCount()).toBe(0);
  });
});
