import { describe, expect, it } from "vitest";
import { StreamingChannel } from "../../src/channels/streaming.js";
import { ClosedError } from "../../src/errors.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";
import { streamingContract } from "./streaming-contract.js";

// In-process: one channel on a virtual clock, used from both "sides".
streamingContract("StreamingChannel (in-process)", () => {
  const clock = new VirtualClock();
  const channel = new StreamingChannel({ clock });
  return Promise.resolve({
    a: channel,
    b: channel,
    info: (id: string) => channel.info(id),
    created: () => Promise.resolve(),
    idle: () => clock.pending === 0,
    elapse: (ms: number) => clock.advance(ms),
    close: () => {
      channel.close();
      return Promise.resolve();
    },
  });
});

describe("StreamingChannel#putBack (an item a remote receiver could not take)", () => {
  it("puts the item at the head, even on a full stream, and hands it to a waiting receiver first", async () => {
    const streams = new StreamingChannel({ clock: new VirtualClock() });
    streams.createStream("s", { highWaterMark: 2 });
    await streams.send("s", 2);
    await streams.send("s", 3);
    streams.putBack("s", 1);
    expect(streams.info("s")).toMatchObject({ buffered: 3, highWaterMark: 2 });
    expect([await streams.receive("s"), await streams.receive("s"), await streams.receive("s")]).toEqual([1, 2, 3]);
    const waiting = streams.receive("s");
    streams.putBack("s", "back");
    await expect(waiting).resolves.toBe("back");
  });

  it("brings back a stream that ended meanwhile, closed and holding the item, then ends it again", async () => {
    const streams = new StreamingChannel({ clock: new VirtualClock() });
    await streams.send("s", "taken");
    streams.closeStream("s");
    await expect(streams.receive("s")).resolves.toBe("taken");
    expect(streams.info("s")).toBeUndefined();
    streams.putBack("s", "taken");
    expect(streams.info("s")).toMatchObject({ buffered: 1, closed: true });
    await expect(streams.send("s", "late")).rejects.toBeInstanceOf(ClosedError);
    await expect(streams.receive("s")).resolves.toBe("taken");
    await expect(streams.receive("s")).resolves.toBeUndefined();
    await expect(streams.send("s", "later")).rejects.toBeInstanceOf(ClosedError);
  });
});

describe("StreamingChannel onForgotten (a host giving up streams it holds nothing of)", () => {
  it("reports an idle stream made on first use when it is forgotten, not one made by createStream", async () => {
    const forgotten: [string, boolean][] = [];
    const streams = new StreamingChannel({ clock: new VirtualClock(), onForgotten: (id, ended) => forgotten.push([id, ended]) });
    await streams.send("used", 1);
    expect(streams.holds("used")).toBe(true);
    await expect(streams.receive("used")).resolves.toBe(1);
    expect(forgotten).toEqual([["used", false]]);
    expect(streams.holds("used")).toBe(false);
    streams.createStream("kept");
    await streams.send("kept", 1);
    await expect(streams.receive("kept")).resolves.toBe(1);
    expect(forgotten).toEqual([["used", false]]);
    expect(streams.holds("kept")).toBe(true);
  });

  it("reports an ended stream's id once 1,024 newer ended ids pushed it out of memory", async () => {
    const evicted: string[] = [];
    const streams = new StreamingChannel({ clock: new VirtualClock(), onForgotten: (id, ended) => void (ended && evicted.push(id)) });
    for (let i = 0; i < 1024; i++) streams.closeStream(`s${i}`);
    expect(evicted).toEqual([]);
    await expect(streams.send("s0", 1)).rejects.toBeInstanceOf(ClosedError);
    expect(streams.holds("s0")).toBe(true);
    streams.closeStream("s1024");
    expect(evicted).toEqual(["s0"]);
    expect(streams.holds("s0")).toBe(false);
    // Forgotten: its id is a new stream now.
    await expect(streams.send("s0", 1)).resolves.toBeUndefined();
  });
});
