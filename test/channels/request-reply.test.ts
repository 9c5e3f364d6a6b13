import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { ClosedError, HandlerError, NoResponderError, TimeoutError, ValidationError } from "../../src/errors.js";
import { RequestReplyChannel } from "../../src/channels/request-reply.js";
import type { Message } from "../../src/channels/message.js";
import { passThrough } from "../../src/runtime/pass-through.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import type { DeliveryKind, Scheduler } from "../../src/runtime/scheduler.js";
import { TraceBuffer } from "../../src/runtime/trace.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";

/** A promise's state without waiting for it. */
async function state(p: Promise<unknown>): Promise<"pending" | "fulfilled" | "rejected"> {
  const marker = {};
  return Promise.race([p, Promise.resolve(marker)]).then(
    (v) => (v === marker ? "pending" : "fulfilled"),
    () => "rejected",
  );
}

/** A scheduler that holds deliveries until the test runs them. */
class ManualScheduler implements Scheduler {
  readonly queue: { kind: DeliveryKind; fn: () => void; to: string | undefined }[] = [];
  deliver(kind: DeliveryKind, fn: () => void, to?: string): void {
    this.queue.push({ kind, fn, to });
  }
  get pending(): number {
    return this.queue.length;
  }
  runNext(): void {
    this.queue.shift()!.fn();
  }
  runAll(): void {
    while (this.queue.length > 0) this.runNext();
  }
}

function setup() {
  const clock = new VirtualClock();
  const channel = new RequestReplyChannel({ clock });
  return { clock, channel };
}

describe("RequestReplyChannel#request", () => {
  it("resolves with a sync handler's return value and passes the message", async () => {
    const { clock, channel } = setup();
    let seen: Message | undefined;
    channel.registerHandler("echo", (m) => {
      seen = m;
      return { got: m.payload };
    });
    await expect(channel.request("alice", "echo", 42)).resolves.toEqual({ got: 42 });
    expect(seen).toMatchObject({ sender: "alice", recipient: "echo", pattern: "request_reply", payload: 42, timestamp: 0 });
    expect(seen?.id).toMatch(/^msg-\d+$/);
    expect(channel.inFlight).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it("resolves with what an async handler's promise resolves to", async () => {
    const { clock, channel } = setup();
    channel.registerHandler("slow", async (m) => {
      await new Promise<void>((r) => clock.setTimeout(r, 50));
      return (m.payload as number) * 2;
    });
    const p = channel.request<number>("a", "slow", 21);
    expect(channel.inFlight).toBe(1);
    await clock.advance(50);
    await expect(p).resolves.toBe(42);
    expect(channel.inFlight).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it("rejects with NoResponderError at once when nobody handles the recipient", async () => {
    const { clock, channel } = setup();
    const p = channel.request("a", "nobody", null);
    expect(await state(p)).toBe("rejected");
    await expect(p).rejects.toBeInstanceOf(NoResponderError);
    await expect(p).rejects.toMatchObject({ code: "NO_RESPONDER", subject: "nobody" });
    expect(clock.pending).toBe(0);
    expect(channel.inFlight).toBe(0);
  });

  it("wraps a throwing handler's error in HandlerError with the original as cause", async () => {
    const { channel } = setup();
    const boom = new Error("boom");
    channel.registerHandler("bad", () => {
      throw boom;
    });
    const err: unknown = await channel.request("a", "bad", 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandlerError);
    expect((err as HandlerError).cause).toBe(boom);
    expect((err as HandlerError).subject).toBe("bad");
  });

  it("wraps a rejecting handler's reason in HandlerError with the original as cause", async () => {
    const { clock, channel } = setup();
    const reason = { not: "an Error" };
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a non-Error reason must reach the caller unchanged
    channel.registerHandler("bad", async () => Promise.reject(reason));
    const p = channel.request("a", "bad", 1);
    await expect(p).rejects.toBeInstanceOf(HandlerError);
    await expect(p).rejects.toHaveProperty("cause", reason);
    expect(clock.pending).toBe(0);
  });

  it("hands a pass-through error (a stopped responder's ClosedError) to the caller unwrapped", async () => {
    const { channel } = setup();
    const closed = passThrough(new ClosedError('agent "w#1"'));
    channel.registerHandler("w", async () => Promise.reject(closed));
    await expect(channel.request("a", "w", 1)).rejects.toBe(closed);
  });

  it("times out exactly at the deadline, not one ms before", async () => {
    const { clock, channel } = setup();
    channel.registerHandler("never", () => new Promise(() => undefined));
    const p = channel.request("a", "never", 1, { timeout: 100 });
    await clock.advance(99);
    expect(await state(p)).toBe("pending");
    await clock.advance(1);
    await expect(p).rejects.toBeInstanceOf(TimeoutError);
    await expect(p).rejects.toMatchObject({ timeout: 100 });
    expect(clock.now()).toBe(100);
    expect(channel.inFlight).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it("defaults to a 30000 ms timeout", async () => {
    const { clock, channel } = setup();
    channel.registerHandler("never", () => new Promise(() => undefined));
    const p = channel.request("a", "never", 1);
    await clock.advance(29_999);
    expect(await state(p)).toBe("pending");
    await clock.advance(1);
    await expect(p).rejects.toBeInstanceOf(TimeoutError);
  });

  it("waits without limit for timeout Infinity", async () => {
    const { clock, channel } = setup();
    let answer: (v: unknown) => void = () => undefined;
    channel.registerHandler("later", () => new Promise((r) => (answer = r)));
    const p = channel.request("a", "later", 1, { timeout: Infinity });
    await clock.advance(10_000_000);
    expect(clock.pending).toBe(0);
    expect(await state(p)).toBe("pending");
    answer("ok");
    await expect(p).resolves.toBe("ok");
  });

  it("drops a reply that arrives after the timeout without throwing anywhere", async () => {
    const { clock, channel } = setup();
    const answers: ((v: unknown) => void)[] = [];
    const fails: ((e: unknown) => void)[] = [];
    channel.registerHandler("late", () => new Promise((res, rej) => (answers.push(res), fails.push(rej))));
    const p1 = channel.request("a", "late", 1, { timeout: 10 });
    const p2 = channel.request("a", "late", 2, { timeout: 10 });
    const checks = [expect(p1).rejects.toBeInstanceOf(TimeoutError), expect(p2).rejects.toBeInstanceOf(TimeoutError)];
    await clock.advance(10);
    await Promise.all(checks);
    answers[0]!("too late");
    fails[1]!(new Error("too late as well"));
    await clock.settle();
    expect(channel.inFlight).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it("a reply already on its way beats a timeout that falls due later", async () => {
    const { clock, channel } = setup();
    channel.registerHandler("w", async (m) => {
      await new Promise<void>((r) => clock.setTimeout(r, 99));
      return m.payload;
    });
    const p = channel.request("a", "w", "x", { timeout: 100 });
    await clock.advance(100);
    await expect(p).resolves.toBe("x");
  });

  it("rejects with the signal's reason on abort, and with it at once if already aborted", async () => {
    const { clock, channel } = setup();
    channel.registerHandler("never", () => new Promise(() => undefined));
    const ac = new AbortController();
    const p = channel.request("a", "never", 1, { signal: ac.signal });
    const reason = new Error("stop");
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
    await expect(channel.request("a", "never", 1, { signal: ac.signal })).rejects.toBe(reason);
    expect(channel.inFlight).toBe(0);
    expect(clock.pending).toBe(0);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });

  it("keeps one listener on a signal shared by 1000 requests and none once they end", async () => {
    const { clock, channel } = setup();
    const answers: ((v: unknown) => void)[] = [];
    channel.registerHandler("w", () => new Promise((r) => answers.push(r)));
    const ac = new AbortController();
    const ps = Array.from({ length: 1000 }, (_, i) => channel.request("a", "w", i, { signal: ac.signal }));
    expect(getEventListeners(ac.signal, "abort").length).toBeLessThanOrEqual(1);
    answers.forEach((answer, i) => answer(i));
    await expect(Promise.all(ps)).resolves.toHaveLength(1000);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);

    const more = Array.from({ length: 1000 }, (_, i) => channel.request("a", "w", i, { signal: ac.signal }));
    ac.abort("enough");
    const settled = await Promise.allSettled(more);
    expect(settled.every((s) => s.status === "rejected" && s.reason === "enough")).toBe(true);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    expect(channel.inFlight).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it("rejects invalid arguments with ValidationError, never synchronously", async () => {
    const { channel } = setup();
    channel.registerHandler("w", () => 1);
    await expect(channel.request("", "w", 1)).rejects.toBeInstanceOf(ValidationError);
    await expect(channel.request("a", "", 1)).rejects.toBeInstanceOf(ValidationError);
    await expect(channel.request("a", "w", 1, { timeout: -1 })).rejects.toBeInstanceOf(ValidationError);
  });

  it("checks payloads and replies when the runtime checks payloads", async () => {
    const clock = new VirtualClock();
    const channel = new RequestReplyChannel({ runtime: createRuntime({ clock, checkPayloads: true }) });
    channel.registerHandler("w", (m) => (m.payload === "bad reply" ? new Map() : m.payload));
    await expect(channel.request("a", "w", { f: () => 1 })).rejects.toBeInstanceOf(ValidationError);
    const err: unknown = await channel.request("a", "w", "bad reply").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandlerError);
    expect((err as HandlerError).cause).toBeInstanceOf(ValidationError);
    await expect(channel.request("a", "w", { ok: [1, "2", null] })).resolves.toEqual({ ok: [1, "2", null] });
  });

  it("records request, reply, error and timeout in the trace", async () => {
    const clock = new VirtualClock();
    const tracer = new TraceBuffer(() => clock.now());
    const channel = new RequestReplyChannel({ runtime: createRuntime({ clock, tracer }) });
    channel.registerHandler("ok", () => 1);
    channel.registerHandler("bad", () => {
      throw new Error("x");
    });
    channel.registerHandler("never", () => new Promise(() => undefined));
    await channel.request("a", "ok", 1);
    await channel.request("a", "bad", 1).catch(() => undefined);
    const p = channel.request("a", "never", 1, { timeout: 5 }).catch(() => undefined);
    await clock.advance(5);
    await p;
    const kinds = tracer.records.map((r) => [r.kind, r.from, r.to]);
    expect(kinds).toEqual([
      ["request", "a", "ok"],
      ["reply", "ok", "a"],
      ["request", "a", "bad"],
      ["error", "bad", "a"],
      ["request", "a", "never"],
      ["timeout", "never", "a"],
    ]);
    const ids = tracer.records.map((r) => r.correlationId);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[4]).toBe(ids[5]);
  });
});

describe("RequestReplyChannel#request with a deferring scheduler", () => {
  function deferred() {
    const clock = new VirtualClock();
    const scheduler = new ManualScheduler();
    const channel = new RequestReplyChannel({ runtime: createRuntime({ clock, scheduler }) });
    return { clock, scheduler, channel };
  }

  it("hands the request and the reply over through the scheduler", async () => {
    const { scheduler, channel } = deferred();
    channel.registerHandler("w", (m) => m.payload);
    const p = channel.request("a", "w", "x");
    expect(scheduler.queue.map((d) => [d.kind, d.to])).toEqual([["request", "w"]]);
    scheduler.runNext();
    expect(scheduler.queue.map((d) => [d.kind, d.to])).toEqual([["reply", "a"]]);
    expect(await state(p)).toBe("pending");
    scheduler.runNext();
    await expect(p).resolves.toBe("x");
  });

  it("a reply decided before the deadline wins even if its delivery runs after it", async () => {
    const { clock, scheduler, channel } = deferred();
    channel.registerHandler("w", () => "in time");
    const p = channel.request("a", "w", 1, { timeout: 10 });
    await clock.settle();
    scheduler.runNext(); // the handler replies; the reply's delivery waits
    await clock.advance(10);
    expect(await state(p)).toBe("pending");
    scheduler.runNext();
    await expect(p).resolves.toBe("in time");
    expect(clock.pending).toBe(0);
  });

  it("a timeout decided first wins over a reply that comes later", async () => {
    const { clock, scheduler, channel } = deferred();
    channel.registerHandler("w", () => "late");
    const p = channel.request("a", "w", 1, { timeout: 10 });
    const check = expect(p).rejects.toBeInstanceOf(TimeoutError);
    await clock.advance(10);
    expect(scheduler.queue.map((d) => d.kind)).toEqual(["request", "reply"]);
    scheduler.runNext(); // the handler runs after the timeout: its reply is dropped
    scheduler.runNext();
    await check;
    expect(scheduler.pending).toBe(0);
  });

  it("gives a request to another member when its responder left while it was on the way", async () => {
    const { scheduler, channel } = deferred();
    const off = channel.registerHandler("pool", () => "first");
    channel.registerHandler("pool", () => "second");
    const p = channel.request("a", "pool", 1);
    off();
    scheduler.runAll();
    await expect(p).resolves.toBe("second");
  });

  it("rejects with NoResponderError when the last responder left while the request was on the way", async () => {
    const { scheduler, channel } = deferred();
    const off = channel.registerHandler("w", () => 1);
    const p = channel.request("a", "w", 1);
    off();
    scheduler.runAll();
    await expect(p).rejects.toBeInstanceOf(NoResponderError);
  });
});

describe("RequestReplyChannel#registerHandler", () => {
  it("forms a queue group: round robin, each request handled exactly once", async () => {
    const { channel } = setup();
    const seen: string[][] = [[], [], []];
    const offs = [0, 1, 2].map((i) =>
      channel.registerHandler("pool", async (m) => {
        seen[i]!.push(m.payload as string);
        return i;
      }),
    );
    const replies = await Promise.all(Array.from({ length: 9 }, (_, i) => channel.request("a", "pool", `r${i}`)));
    expect(replies).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    expect(seen.flat().sort()).toEqual(Array.from({ length: 9 }, (_, i) => `r${i}`).sort());
    offs[1]!();
    const more = await Promise.all(Array.from({ length: 4 }, () => channel.request("a", "pool", "x")));
    expect(more.sort()).toEqual([0, 0, 2, 2]);
  });

  it("returns an idempotent unsubscribe that removes only its registration", async () => {
    const { channel } = setup();
    const h = (m: Message) => m.payload;
    const off1 = channel.registerHandler("w", h);
    const off2 = channel.registerHandler("w", h);
    off1();
    off1();
    expect(channel.hasHandler("w")).toBe(true);
    await expect(channel.request("a", "w", 1)).resolves.toBe(1);
    off2();
    expect(channel.hasHandler("w")).toBe(false);
    await expect(channel.request("a", "w", 1)).rejects.toBeInstanceOf(NoResponderError);
  });

  it("rejects an empty recipient or a non-function handler", () => {
    const { channel } = setup();
    expect(() => channel.registerHandler("", () => 1)).toThrow(ValidationError);
    expect(() => channel.registerHandler("w", 1 as unknown as () => unknown)).toThrow(ValidationError);
  });
});

describe("RequestReplyChannel#close", () => {
  it("rejects every pending request with ClosedError and cancels their deadlines", async () => {
    const { clock, channel } = setup();
    channel.registerHandler("never", () => new Promise(() => undefined));
    const ac = new AbortController();
    const ps = [channel.request("a", "never", 1), channel.request("a", "never", 2, { signal: ac.signal })];
    await clock.settle();
    expect(channel.inFlight).toBe(2);
    channel.close();
    channel.close();
    for (const p of ps) await expect(p).rejects.toBeInstanceOf(ClosedError);
    expect(channel.inFlight).toBe(0);
    expect(clock.pending).toBe(0);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });

  it("makes later requests and registrations fail with ClosedError", async () => {
    const { channel } = setup();
    channel.registerHandler("w", () => 1);
    channel.close();
    expect(channel.hasHandler("w")).toBe(false);
    await expect(channel.request("a", "w", 1)).rejects.toBeInstanceOf(ClosedError);
    expect(() => channel.registerHandler("w", () => 1)).toThrow(ClosedError);
  });
});
