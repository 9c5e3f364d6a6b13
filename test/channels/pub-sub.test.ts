import { afterEach, describe, expect, it, vi } from "vitest";
import { getEventListeners } from "node:events";
import { ClosedError, TimeoutError, ValidationError } from "../../src/errors.js";
import { PubSubChannel } from "../../src/channels/pub-sub.js";
import type { Message } from "../../src/channels/message.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import type { DeliveryKind, Scheduler } from "../../src/runtime/scheduler.js";
import { TraceBuffer } from "../../src/runtime/trace.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";
import { hostileOutcomes, trapProxy, unhandledRejectionsDuring } from "./hostile.js";

afterEach(() => {
  vi.restoreAllMocks();
});

/** A scheduler that holds deliveries until the test runs them. */
class ManualScheduler implements Scheduler {
  readonly queue: { kind: DeliveryKind; fn: () => void }[] = [];
  deliver(kind: DeliveryKind, fn: () => void): void {
    this.queue.push({ kind, fn });
  }
  get pending(): number {
    return this.queue.length;
  }
  runAll(): void {
    while (this.queue.length > 0) this.queue.shift()!.fn();
  }
}

describe("PubSubChannel#publish", () => {
  it("delivers to every matching subscription, exact and wildcard, and counts them", async () => {
    const ps = new PubSubChannel({ clock: new VirtualClock(5) });
    const got: string[] = [];
    ps.subscribe("orders.eu.created", (m) => void got.push(`exact:${m.topic}`));
    ps.subscribe("orders.*.created", (m) => void got.push(`star:${m.topic}`));
    ps.subscribe("orders.>", (m) => void got.push(`tail:${m.topic}`));
    ps.subscribe("orders.us.>", () => void got.push("other"));
    await expect(ps.publish("shop", "orders.eu.created", { id: 1 })).resolves.toEqual({ delivered: 3, failed: 0 });
    expect(got).toEqual(["exact:orders.eu.created", "star:orders.eu.created", "tail:orders.eu.created"]);
    await expect(ps.publish("shop", "nothing.here", 1)).resolves.toEqual({ delivered: 0, failed: 0 });
  });

  it("hands subscribers a complete publish_subscribe message", async () => {
    const ps = new PubSubChannel({ clock: new VirtualClock(7) });
    let seen: Message | undefined;
    ps.subscribe("t", (m) => void (seen = m));
    const payload = { a: 1 };
    await ps.publish("me", "t", payload);
    expect(seen).toMatchObject({ sender: "me", topic: "t", pattern: "publish_subscribe", timestamp: 7 });
    expect(seen?.payload).toBe(payload);
  });

  it("calls sync handlers before returning and resolves after async handlers finish", async () => {
    const clock = new VirtualClock();
    const ps = new PubSubChannel({ clock });
    const log: string[] = [];
    ps.subscribe("t", () => void log.push("sync"));
    ps.subscribe("t", async () => {
      await new Promise<void>((r) => clock.setTimeout(r, 10));
      log.push("async");
    });
    let done = false;
    const p = ps.publish("me", "t", 1).then((r) => ((done = true), r));
    expect(log).toEqual(["sync"]);
    await clock.advance(9);
    expect(done).toBe(false);
    await clock.advance(1);
    await expect(p).resolves.toEqual({ delivered: 2, failed: 0 });
    expect(log).toEqual(["sync", "async"]);
  });

  it("counts a throwing or rejecting handler as failed, reports it and still runs the others", async () => {
    const onError = vi.fn();
    const ps = new PubSubChannel({ onError });
    const boom = new Error("boom");
    const ran: number[] = [];
    ps.subscribe("t", () => {
      throw boom;
    });
    ps.subscribe("t", () => void ran.push(2));
    ps.subscribe("t", async () => Promise.reject(new Error("later")));
    ps.subscribe("t", async () => void ran.push(4));
    await expect(ps.publish("me", "t", 1)).resolves.toEqual({ delivered: 2, failed: 2 });
    expect(ran).toEqual([2, 4]);
    expect(onError).toHaveBeenCalledTimes(2);
    expect(onError.mock.calls[0]![0]).toBe(boom);
    expect(onError.mock.calls[0]![1]).toMatchObject({ topic: "t", sender: "me" });
  });

  it("writes failures to console.error without an onError option", async () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const ps = new PubSubChannel();
    const boom = new Error("boom");
    ps.subscribe("t", () => {
      throw boom;
    });
    await expect(ps.publish("me", "t", 1)).resolves.toEqual({ delivered: 0, failed: 1 });
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0]).toContain(boom);
  });

  it("survives an onError that throws itself", async () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const ps = new PubSubChannel({
      onError: () => {
        throw new Error("reporter broke");
      },
    });
    ps.subscribe("t", () => {
      throw new Error("boom");
    });
    ps.subscribe("t", () => undefined);
    await expect(ps.publish("me", "t", 1)).resolves.toEqual({ delivered: 1, failed: 1 });
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it("rejects wildcard or malformed topics with ValidationError", async () => {
    const ps = new PubSubChannel();
    await expect(ps.publish("me", "a.*", 1)).rejects.toBeInstanceOf(ValidationError);
    await expect(ps.publish("me", "a..b", 1)).rejects.toBeInstanceOf(ValidationError);
    await expect(ps.publish("", "a", 1)).rejects.toBeInstanceOf(ValidationError);
  });

  it("checks payloads when the runtime checks payloads", async () => {
    const ps = new PubSubChannel({ runtime: createRuntime({ checkPayloads: true }) });
    await expect(ps.publish("me", "t", { n: NaN })).rejects.toBeInstanceOf(ValidationError);
    await expect(ps.publish("me", "t", { n: 1 })).resolves.toEqual({ delivered: 0, failed: 0 });
  });

  it("records each publication in the trace", async () => {
    const tracer = new TraceBuffer(() => 0);
    const ps = new PubSubChannel({ runtime: createRuntime({ tracer }) });
    await ps.publish("me", "a.b", 1);
    expect(tracer.records).toMatchObject([{ kind: "publish", from: "me", name: "a.b" }]);
  });

  it("delivers each subscriber through the scheduler and waits for deferred deliveries", async () => {
    const scheduler = new ManualScheduler();
    const ps = new PubSubChannel({ runtime: createRuntime({ scheduler }) });
    const got: number[] = [];
    ps.subscribe("t", () => void got.push(1));
    ps.subscribe("t", () => void got.push(2));
    let result: unknown;
    const p = ps.publish("me", "t", 0).then((r) => (result = r));
    await Promise.resolve();
    expect(scheduler.queue.map((d) => d.kind)).toEqual(["publish", "publish"]);
    expect(got).toEqual([]);
    scheduler.runAll();
    await p;
    expect(got).toEqual([1, 2]);
    expect(result).toEqual({ delivered: 2, failed: 0 });
  });

  it("does not call a handler unsubscribed while its delivery was on its way", async () => {
    const scheduler = new ManualScheduler();
    const ps = new PubSubChannel({ runtime: createRuntime({ scheduler }) });
    const got: string[] = [];
    const off = ps.subscribe("t", () => void got.push("gone"));
    ps.subscribe("t", () => void got.push("kept"));
    const p = ps.publish("me", "t", 0);
    await Promise.resolve();
    off();
    scheduler.runAll();
    await expect(p).resolves.toEqual({ delivered: 1, failed: 0 });
    expect(got).toEqual(["kept"]);
  });
});

describe("PubSubChannel#subscribe", () => {
  it("returns an idempotent unsubscribe that removes only its own subscription", async () => {
    const ps = new PubSubChannel();
    let calls = 0;
    const h = () => void calls++;
    const off1 = ps.subscribe("t", h);
    ps.subscribe("t", h);
    await expect(ps.publish("me", "t", 1)).resolves.toEqual({ delivered: 2, failed: 0 });
    expect(calls).toBe(2);
    off1();
    off1();
    expect(ps.subscriptions).toBe(1);
    await expect(ps.publish("me", "t", 1)).resolves.toEqual({ delivered: 1, failed: 0 });
    expect(calls).toBe(3);
  });

  it("rejects invalid subscription topics with ValidationError", () => {
    const ps = new PubSubChannel();
    for (const bad of ["", "a.>.b", "a..b", "a*", ".a"]) expect(() => ps.subscribe(bad, () => undefined)).toThrow(ValidationError);
    expect(() => ps.subscribe("t", "nope" as unknown as () => void)).toThrow(ValidationError);
  });

  it("matches among thousands of subscriptions without delivering to the wrong ones", async () => {
    const ps = new PubSubChannel();
    const hits = new Map<string, number>();
    for (let i = 0; i < 1000; i++) ps.subscribe(`topic.${i}.event`, () => void hits.set(`t${i}`, (hits.get(`t${i}`) ?? 0) + 1));
    for (let i = 0; i < 10; i++) ps.subscribe("topic.500.*", () => void hits.set(`w${i}`, (hits.get(`w${i}`) ?? 0) + 1));
    await expect(ps.publish("me", "topic.500.event", 1)).resolves.toEqual({ delivered: 11, failed: 0 });
    await expect(ps.publish("me", "topic.500.event", 1)).resolves.toEqual({ delivered: 11, failed: 0 });
    expect(hits.size).toBe(11);
    expect(hits.get("t500")).toBe(2);
    await expect(ps.publish("me", "topic.7.event", 1)).resolves.toEqual({ delivered: 1, failed: 0 });
  });
});

describe("PubSubChannel#unsubscribe", () => {
  it("removes every subscription of the handler to exactly that topic", async () => {
    const ps = new PubSubChannel();
    let calls = 0;
    const h = () => void calls++;
    ps.subscribe("a.*", h);
    ps.subscribe("a.*", h);
    ps.subscribe("a.>", h);
    const other = () => undefined;
    ps.subscribe("a.*", other);
    ps.unsubscribe("a.*", h);
    ps.unsubscribe("a.*", h);
    ps.unsubscribe("never.subscribed", h);
    await expect(ps.publish("me", "a.b", 1)).resolves.toEqual({ delivered: 2, failed: 0 });
    expect(calls).toBe(1);
  });
});

describe("PubSubChannel#close", () => {
  it("drops subscriptions; later publishes and subscribes get ClosedError", async () => {
    const ps = new PubSubChannel();
    ps.subscribe("t", () => undefined);
    ps.close();
    ps.close();
    expect(ps.subscriptions).toBe(0);
    await expect(ps.publish("me", "t", 1)).rejects.toBeInstanceOf(ClosedError);
    expect(() => ps.subscribe("t", () => undefined)).toThrow(ClosedError);
  });
});

describe("PubSubChannel#publish (hostile handler results)", () => {
  for (const [label, outcome] of hostileOutcomes) {
    it(`counts a handler that ${label} as failed and still runs the later subscribers`, async () => {
      vi.spyOn(console, "error").mockImplementation(() => undefined);
      vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
      for (const scheduler of ["immediate", "deferred"] as const) {
        const manual = new ManualScheduler();
        const ps = scheduler === "immediate" ? new PubSubChannel() : new PubSubChannel({ runtime: createRuntime({ scheduler: manual }) });
        const ran: string[] = [];
        ps.subscribe("t", () => void ran.push("first"));
        ps.subscribe("t", () => outcome() as void);
        ps.subscribe("t.>", () => void ran.push("tail"));
        ps.subscribe("t", () => void ran.push("last"));
        let result: unknown;
        const unhandled = await unhandledRejectionsDuring(async () => {
          const p = ps.publish("me", "t", 1);
          manual.runAll();
          result = await p;
        });
        expect(ran).toEqual(["first", "last"]);
        expect(result).toEqual({ delivered: 2, failed: 1 });
        expect(unhandled).toEqual([]);
      }
    });
  }

  it("survives an onError that throws on a hostile error, reporting it once without throwing", async () => {
    const warn = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    vi.spyOn(console, "error").mockImplementation(() => {
      throw new Error("console broke");
    });
    const ps = new PubSubChannel({
      onError: () => {
        throw new Error("reporter broke");
      },
    });
    ps.subscribe("t", () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point: a hostile thrown value
      throw trapProxy();
    });
    ps.subscribe("t", () => undefined);
    await expect(ps.publish("me", "t", 1)).resolves.toEqual({ delivered: 1, failed: 1 });
    expect(warn).toHaveBeenCalledTimes(1);
  });
});

describe("PubSubChannel#publish (long topics)", () => {
  it.each([5_000, 50_000])("publishes to a %i-token topic with a > subscription", async (n) => {
    const ps = new PubSubChannel();
    const topic = Array.from({ length: n }, (_, i) => `k${i}`).join(".");
    const got: string[] = [];
    ps.subscribe(">", (m) => void got.push(m.topic!));
    ps.subscribe("k0.*.>", () => void got.push("star"));
    // A subscription as deep as the topic: matching walks the whole depth of the trie.
    ps.subscribe([...Array.from({ length: n - 1 }, () => "*"), ">"].join("."), () => void got.push("deep"));
    await expect(ps.publish("me", topic, 1)).resolves.toEqual({ delivered: 3, failed: 0 });
    expect(got).toEqual([topic, "star", "deep"]);
  });
});

describe("PubSubChannel#once", () => {
  it("resolves with the next matching message, typed, and leaves no subscription", async () => {
    const ps = new PubSubChannel();
    const next = ps.once<{ id: number }>("orders.*.created");
    await ps.publish("shop", "orders.eu.updated", { id: 0 });
    await ps.publish("shop", "orders.eu.created", { id: 1 });
    await ps.publish("shop", "orders.us.created", { id: 2 });
    const m = await next;
    expect(m.payload.id).toBe(1);
    expect(m.topic).toBe("orders.eu.created");
    expect(ps.subscriptions).toBe(0);
  });

  it("rejects with TimeoutError on the virtual clock and with the signal's reason, leaving nothing behind", async () => {
    const clock = new VirtualClock();
    const ps = new PubSubChannel({ clock });
    const timed = ps.once("t", { timeout: 20 });
    const check = expect(timed).rejects.toBeInstanceOf(TimeoutError);
    await clock.advance(20);
    await check;
    const ac = new AbortController();
    const aborted = ps.once("t", { signal: ac.signal, timeout: 1000 });
    ac.abort("stop");
    await expect(aborted).rejects.toBe("stop");
    await expect(ps.once("t", { signal: ac.signal })).rejects.toBe("stop");
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    expect(ps.subscriptions).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it("rejects a bad pattern with ValidationError and a pending once with ClosedError on close", async () => {
    const clock = new VirtualClock();
    const ps = new PubSubChannel({ clock });
    await expect(ps.once("a.>.b")).rejects.toBeInstanceOf(ValidationError);
    const pending = ps.once("t", { timeout: 1000 });
    ps.close();
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
    await expect(ps.once("t")).rejects.toBeInstanceOf(ClosedError);
    expect(clock.pending).toBe(0);
  });
});

describe("PubSubChannel#iterate", () => {
  it("yields matching messages in order and unsubscribes when the loop breaks", async () => {
    const ps = new PubSubChannel();
    const seen: number[] = [];
    const loop = (async () => {
      for await (const m of ps.iterate<number>("n.>")) {
        seen.push(m.payload);
        if (seen.length === 2) break;
      }
    })();
    for (let i = 1; i <= 4; i++) await ps.publish("me", `n.${i}`, i);
    await loop;
    expect(seen).toEqual([1, 2]);
    expect(ps.subscriptions).toBe(0);
  });

  it("is bounded: past bufferSize the oldest buffered message is dropped and counted", async () => {
    const ps = new PubSubChannel();
    const it = ps.iterate<number>("t", { bufferSize: 2 });
    for (let i = 1; i <= 5; i++) await ps.publish("me", "t", i);
    expect(it.dropped).toBe(3);
    expect((await it.next()).value?.payload).toBe(4);
    expect((await it.next()).value?.payload).toBe(5);
    await it.return();
    expect(ps.subscriptions).toBe(0);
  });

  it("rejects the pending next() on abort, and ends on close, leaving nothing behind", async () => {
    const ps = new PubSubChannel();
    const ac = new AbortController();
    const it = ps.iterate("t", { signal: ac.signal });
    const pending = it.next();
    ac.abort("halt");
    await expect(pending).rejects.toBe("halt");
    expect(ps.subscriptions).toBe(0);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    expect(() => ps.iterate("a.>.b", { signal: ac.signal })).toThrow(ValidationError);
    const open = ps.iterate("t");
    const waiting = open.next();
    ps.close();
    await expect(waiting).resolves.toEqual({ done: true, value: undefined });
    expect(() => ps.iterate("t")).toThrow(ClosedError);
  });
});

describe("PubSubChannel#subscribe with a signal", () => {
  it("unsubscribes on abort; by hand it also removes the abort listener", async () => {
    const ps = new PubSubChannel();
    const ac = new AbortController();
    const seen: unknown[] = [];
    ps.subscribe("t", (m) => void seen.push(m.payload), { signal: ac.signal });
    await ps.publish("me", "t", 1);
    ac.abort();
    await ps.publish("me", "t", 2);
    expect(seen).toEqual([1]);
    expect(ps.subscriptions).toBe(0);
    const ac2 = new AbortController();
    const off = ps.subscribe("t", () => undefined, { signal: ac2.signal });
    off();
    expect(getEventListeners(ac2.signal, "abort")).toHaveLength(0);
    expect(ps.subscriptions).toBe(0);
    ps.subscribe("t", () => undefined, { signal: AbortSignal.abort() });
    expect(ps.subscriptions).toBe(0);
    expect(() => ps.subscribe("a.>.b", () => undefined, { signal: AbortSignal.abort() })).toThrow(ValidationError);
  });
});
