import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { ClosedError, TimeoutError, ValidationError } from "../../src/errors.js";
import { StreamingChannel } from "../../src/channels/streaming.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";

async function state(p: Promise<unknown>): Promise<"pending" | "fulfilled" | "rejected"> {
  const marker = {};
  return Promise.race([p, Promise.resolve(marker)]).then(
    (v) => (v === marker ? "pending" : "fulfilled"),
    () => "rejected",
  );
}

function setup() {
  const clock = new VirtualClock();
  return { clock, streams: new StreamingChannel({ clock }) };
}

describe("StreamingChannel#createStream", () => {
  it("rejects a highWaterMark below 1 or not an integer", () => {
    const { streams } = setup();
    for (const hwm of [0, -1, 1.5, NaN, Infinity]) {
      expect(() => streams.createStream("s", { highWaterMark: hwm })).toThrow(ValidationError);
    }
    expect(() => streams.createStream("", {})).toThrow(ValidationError);
  });

  it("creates on first use with highWaterMark 16", async () => {
    const { streams } = setup();
    for (let i = 0; i < 16; i++) await streams.send("s", i);
    expect(streams.info("s")).toMatchObject({ highWaterMark: 16, buffered: 16 });
    const blocked = streams.send("s", 16);
    expect(await state(blocked)).toBe("pending");
  });

  it("leaves an existing stream alone, refuses another highWaterMark, and reuses an ended id", async () => {
    const { streams } = setup();
    streams.createStream("s", { highWaterMark: 2 });
    await streams.send("s", "kept");
    streams.createStream("s");
    streams.createStream("s", { highWaterMark: 2 });
    expect(() => streams.createStream("s", { highWaterMark: 3 })).toThrow(ValidationError);
    expect(streams.info("s")).toMatchObject({ highWaterMark: 2, buffered: 1 });
    streams.closeStream("s");
    expect(() => streams.createStream("s", { highWaterMark: 3 })).toThrow(ValidationError); // not drained yet
    await expect(streams.receive("s")).resolves.toBe("kept");
    streams.createStream("s", { highWaterMark: 3 });
    expect(streams.info("s")).toMatchObject({ highWaterMark: 3, buffered: 0, closed: false });
    await expect(streams.send("s", 1)).resolves.toBeUndefined();
  });
});

describe("StreamingChannel#send", () => {
  it("resolves at once below the highWaterMark, blocks at it and unblocks when a receiver makes room", async () => {
    const { streams } = setup();
    streams.createStream("s", { highWaterMark: 2 });
    await streams.send("s", 1);
    await streams.send("s", 2);
    const third = streams.send("s", 3);
    const fourth = streams.send("s", 4);
    expect(await state(third)).toBe("pending");
    expect(streams.info("s")).toMatchObject({ buffered: 2, blockedSenders: 2 });
    await expect(streams.receive("s")).resolves.toBe(1);
    expect(await state(third)).toBe("fulfilled");
    expect(await state(fourth)).toBe("pending");
    await expect(streams.receive("s")).resolves.toBe(2);
    await fourth;
    const rest = [await streams.receive("s"), await streams.receive("s")];
    expect(rest).toEqual([3, 4]);
  });

  it("hands data straight to a waiting receiver", async () => {
    const { streams } = setup();
    streams.createStream("s", { highWaterMark: 1 });
    const r = streams.receive("s");
    await streams.send("s", "x");
    await expect(r).resolves.toBe("x");
    expect(streams.info("s")).toMatchObject({ buffered: 0, waitingReceivers: 0 });
  });

  it("times out a blocked send with TimeoutError and withdraws its data", async () => {
    const { clock, streams } = setup();
    streams.createStream("s", { highWaterMark: 1 });
    await streams.send("s", 1);
    const p = streams.send("s", 2, { timeout: 10 });
    const check = expect(p).rejects.toBeInstanceOf(TimeoutError);
    await clock.advance(9);
    expect(await state(p)).toBe("pending");
    await clock.advance(1);
    await check;
    expect(streams.info("s")).toMatchObject({ buffered: 1, blockedSenders: 0 });
    await expect(streams.receive("s")).resolves.toBe(1);
    await expect(streams.receive("s", { timeout: 0 })).resolves.toBeUndefined();
    expect(clock.pending).toBe(0);
  });

  it("rejects a blocked send with the signal's reason, leaving no listener", async () => {
    const { clock, streams } = setup();
    streams.createStream("s", { highWaterMark: 1 });
    await streams.send("s", 1);
    const ac = new AbortController();
    const p = streams.send("s", 2, { signal: ac.signal, timeout: 100 });
    ac.abort("stop");
    await expect(p).rejects.toBe("stop");
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    expect(clock.pending).toBe(0);
    expect(streams.info("s")?.blockedSenders).toBe(0);
  });

  it("rejects with ClosedError after closeStream", async () => {
    const { streams } = setup();
    streams.closeStream("s");
    await expect(streams.send("s", 1)).rejects.toBeInstanceOf(ClosedError);
  });

  it("checks data when the runtime checks payloads", async () => {
    const streams = new StreamingChannel({ runtime: createRuntime({ checkPayloads: true }) });
    await expect(streams.send("s", new Date())).rejects.toBeInstanceOf(ValidationError);
    await expect(streams.send("s", { ok: true })).resolves.toBeUndefined();
  });
});

describe("StreamingChannel#receive", () => {
  it("returns undefined when the timeout runs out, leaving no waiter and no timer", async () => {
    const { clock, streams } = setup();
    const p = streams.receive("s", { timeout: 50 });
    await clock.advance(49);
    expect(await state(p)).toBe("pending");
    await clock.advance(1);
    await expect(p).resolves.toBeUndefined();
    // Nobody created "s": once its only waiter left, nothing of it is kept.
    expect(streams.info("s")).toBeUndefined();
    expect(clock.pending).toBe(0);
    // The withdrawn receiver must not swallow the next item.
    await streams.send("s", "next");
    await expect(streams.receive("s", { timeout: 0 })).resolves.toBe("next");
  });

  it("serves waiting receivers in FIFO order", async () => {
    const { streams } = setup();
    const a = streams.receive("s");
    const b = streams.receive("s");
    await streams.send("s", 1);
    await streams.send("s", 2);
    await expect(Promise.all([a, b])).resolves.toEqual([1, 2]);
  });

  it("rejects with the signal's reason on abort", async () => {
    const { streams } = setup();
    const ac = new AbortController();
    const p = streams.receive("s", { signal: ac.signal });
    ac.abort(new Error("bye"));
    await expect(p).rejects.toThrow("bye");
    await expect(streams.receive("s", { signal: ac.signal })).rejects.toThrow("bye");
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });
});

describe("StreamingChannel#closeStream", () => {
  it("rejects blocked senders, drains buffered data, then gives undefined", async () => {
    const { clock, streams } = setup();
    streams.createStream("s", { highWaterMark: 2 });
    await streams.send("s", 1);
    await streams.send("s", 2);
    const blocked = streams.send("s", 3, { timeout: 1000 });
    streams.closeStream("s");
    await expect(blocked).rejects.toBeInstanceOf(ClosedError);
    await expect(streams.receive("s")).resolves.toBe(1);
    await expect(streams.receive("s")).resolves.toBe(2);
    await expect(streams.receive("s")).resolves.toBeUndefined();
    expect(clock.pending).toBe(0);
  });

  it("gives undefined to receivers waiting on an empty stream", async () => {
    const { clock, streams } = setup();
    const ps = [streams.receive("s"), streams.receive("s", { timeout: 500 })];
    streams.closeStream("s");
    await expect(Promise.all(ps)).resolves.toEqual([undefined, undefined]);
    expect(clock.pending).toBe(0);
  });
});

describe("StreamingChannel#iterate", () => {
  it("yields every item in order and ends after close and drain", async () => {
    const { streams } = setup();
    streams.createStream("s", { highWaterMark: 2 });
    const producer = (async () => {
      for (let i = 0; i < 10; i++) await streams.send("s", i);
      streams.closeStream("s");
    })();
    const got: number[] = [];
    for await (const n of streams.iterate<number>("s")) got.push(n);
    await producer;
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("stops without closing the stream when the consumer breaks early", async () => {
    const { streams } = setup();
    for (let i = 0; i < 3; i++) await streams.send("s", i);
    for await (const n of streams.iterate<number>("s")) {
      expect(n).toBe(0);
      break;
    }
    expect(streams.info("s")).toMatchObject({ buffered: 2, closed: false, waitingReceivers: 0 });
    await expect(streams.receive("s")).resolves.toBe(1);
  });

  it("return() withdraws a pending wait so no item is lost to it", async () => {
    const { streams } = setup();
    const it = streams.iterate<string>("s");
    const pending = it.next();
    await Promise.resolve();
    expect(streams.info("s")?.waitingReceivers).toBe(1);
    await it.return!();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
    expect(streams.info("s")).toBeUndefined();
    await streams.send("s", "for someone else");
    await expect(streams.receive("s")).resolves.toBe("for someone else");
    await expect(it.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it("rejects the pending next() when its signal aborts", async () => {
    const { streams } = setup();
    const ac = new AbortController();
    const it = streams.iterate("s", { signal: ac.signal });
    const p = it.next();
    ac.abort("halt");
    await expect(p).rejects.toBe("halt");
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });
});

describe("StreamingChannel#close", () => {
  it("closes every stream: blocked senders rejected, buffers drain, later sends fail", async () => {
    const { clock, streams } = setup();
    streams.createStream("a", { highWaterMark: 1 });
    await streams.send("a", "buffered");
    const blocked = streams.send("a", "blocked");
    const waiting = streams.receive("b");
    streams.close();
    await expect(blocked).rejects.toBeInstanceOf(ClosedError);
    await expect(waiting).resolves.toBeUndefined();
    await expect(streams.receive("a")).resolves.toBe("buffered");
    await expect(streams.receive("a")).resolves.toBeUndefined();
    await expect(streams.receive("never-created")).resolves.toBeUndefined();
    expect(streams.info("never-created")).toBeUndefined();
    await expect(streams.send("a", 1)).rejects.toBeInstanceOf(ClosedError);
    await expect(streams.send("new", 1)).rejects.toBeInstanceOf(ClosedError);
    expect(() => streams.createStream("c")).toThrow(ClosedError);
    const items: unknown[] = [];
    for await (const x of streams.iterate("a")) items.push(x);
    expect(items).toEqual([]);
    expect(clock.pending).toBe(0);
  });
});

describe("StreamingChannel with an already-aborted signal", () => {
  it("rejects receive with the signal's reason and leaves the buffered item in place", async () => {
    const { streams } = setup();
    await streams.send("s", "kept");
    const ac = new AbortController();
    const reason = new Error("gave up");
    ac.abort(reason);
    await expect(streams.receive("s", { signal: ac.signal })).rejects.toBe(reason);
    await expect(streams.iterate("s", { signal: ac.signal }).next()).rejects.toBe(reason);
    expect(streams.info("s")).toMatchObject({ buffered: 1 });
    await expect(streams.receive("s")).resolves.toBe("kept");
  });

  it("rejects send with the signal's reason and buffers nothing, even with room or a waiting receiver", async () => {
    const { streams } = setup();
    streams.createStream("s", { highWaterMark: 4 });
    const ac = new AbortController();
    ac.abort("stop");
    await expect(streams.send("s", "lost", { signal: ac.signal })).rejects.toBe("stop");
    expect(streams.info("s")).toMatchObject({ buffered: 0 });
    const waiting = streams.receive("s", { timeout: 10 });
    await expect(streams.send("s", "lost", { signal: ac.signal })).rejects.toBe("stop");
    await streams.send("s", "real");
    await expect(waiting).resolves.toBe("real");
    // On a closed stream too, the abort is what the caller hears first.
    streams.closeStream("s");
    await expect(streams.send("s", 1, { signal: ac.signal })).rejects.toBe("stop");
  });
});

describe("StreamingChannel memory", () => {
  it("forgets a stream once it was closed and drained: info() and streamIds() no longer list it", async () => {
    const { streams } = setup();
    streams.createStream("s", { highWaterMark: 2 });
    await streams.send("s", 1);
    streams.closeStream("s");
    expect([...streams.streamIds()]).toEqual(["s"]);
    await expect(streams.receive("s")).resolves.toBe(1);
    expect(streams.info("s")).toBeUndefined();
    expect([...streams.streamIds()]).toEqual([]);
    // What a closed stream promised still holds for a late caller.
    await expect(streams.receive("s")).resolves.toBeUndefined();
    await expect(streams.send("s", 2)).rejects.toBeInstanceOf(ClosedError);
    expect(streams.info("s")).toBeUndefined();
    // And the id can be used again.
    streams.createStream("s");
    await streams.send("s", 3);
    await expect(streams.receive("s")).resolves.toBe(3);
  });

  it("keeps 10,000 used-and-closed streams from piling up", async () => {
    const { streams } = setup();
    for (let i = 0; i < 10_000; i++) {
      const id = `s${i}`;
      streams.createStream(id, { highWaterMark: 2 });
      await streams.send(id, i);
      streams.closeStream(id);
      for await (const n of streams.iterate<number>(id)) expect(n).toBe(i);
    }
    expect([...streams.streamIds()]).toEqual([]);
  });

  it("allocates nothing for a receive on an id nobody created", async () => {
    const { clock, streams } = setup();
    await expect(streams.receive("nobody", { timeout: 0 })).resolves.toBeUndefined();
    expect(streams.info("nobody")).toBeUndefined();
    const ac = new AbortController();
    const waiting = streams.receive("nobody", { signal: ac.signal });
    const timed = streams.receive("other", { timeout: 5 });
    ac.abort("done");
    await expect(waiting).rejects.toBe("done");
    await clock.advance(5);
    await expect(timed).resolves.toBeUndefined();
    expect([...streams.streamIds()]).toEqual([]);
  });

  it("an iteration over a stream that ended stays ended even after its id is forgotten", async () => {
    const { streams } = setup();
    for (let i = 0; i < 3; i++) await streams.send("s", i);
    streams.closeStream("s");
    const got: number[] = [];
    for await (const n of streams.iterate<number>("s")) got.push(n);
    expect(got).toEqual([0, 1, 2]);
    expect(streams.info("s")).toBeUndefined();
  });

  it("keeps an open stream made by createStream while it is empty", async () => {
    const { streams } = setup();
    streams.createStream("s", { highWaterMark: 3 });
    await streams.send("s", 1);
    await streams.receive("s");
    expect(streams.info("s")).toMatchObject({ highWaterMark: 3, buffered: 0, closed: false });
  });
});

describe("StreamingChannel#createStream handle", () => {
  it("sends, receives and iterates through the handle, on the stream of its id", async () => {
    const { streams } = setup();
    const tokens = streams.createStream<string>("tokens", { highWaterMark: 4 });
    expect(tokens.id).toBe("tokens");
    await tokens.send("a");
    await streams.send("tokens", "b");
    await expect(tokens.receive()).resolves.toBe("a");
    expect(tokens.info()).toMatchObject({ highWaterMark: 4, buffered: 1 });
    await tokens.send("c");
    tokens.close();
    const rest: string[] = [];
    for await (const t of tokens) rest.push(t);
    expect(rest).toEqual(["b", "c"]);
    await expect(tokens.receive({ timeout: 0 })).resolves.toBeUndefined();
    const other = streams.stream<number>("numbers");
    expect(streams.info("numbers")).toBeUndefined();
    await other.send(1);
    await expect(streams.receive("numbers")).resolves.toBe(1);
  });
});
