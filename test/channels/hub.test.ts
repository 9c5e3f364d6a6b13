import { describe, expect, it, vi } from "vitest";
import { ClosedError } from "../../src/errors.js";
import { CommunicationHub } from "../../src/channels/hub.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";

describe("CommunicationHub", () => {
  it("gives its three channels one clock and one id sequence", async () => {
    const clock = new VirtualClock(1000);
    const hub = new CommunicationHub({ clock });
    const ids: string[] = [];
    hub.requestReply.registerHandler("echo", (m) => (ids.push(m.id), m.timestamp));
    hub.pubSub.subscribe("t", (m) => void ids.push(m.id));
    await expect(hub.requestReply.request("me", "echo", 1)).resolves.toBe(1000);
    await hub.pubSub.publish("me", "t", 1);
    expect(ids).toEqual(["msg-1", "msg-2"]);
    const r = hub.streaming.receive("s", { timeout: 10 });
    await clock.advance(10);
    await expect(r).resolves.toBeUndefined();
  });

  it("passes onError to the pub-sub channel", async () => {
    const onError = vi.fn();
    const hub = new CommunicationHub({ onError });
    hub.pubSub.subscribe("t", () => {
      throw new Error("x");
    });
    await hub.pubSub.publish("me", "t", 1);
    expect(onError).toHaveBeenCalledTimes(1);
  });
});

describe("CommunicationHub#close", () => {
  it("closes all three channels and leaves no timer", async () => {
    const clock = new VirtualClock();
    const hub = new CommunicationHub({ clock });
    hub.requestReply.registerHandler("never", () => new Promise(() => undefined));
    const request = hub.requestReply.request("me", "never", 1);
    hub.streaming.createStream("s", { highWaterMark: 1 });
    await hub.streaming.send("s", 1);
    const blocked = hub.streaming.send("s", 2);
    await clock.settle();
    hub.close();
    await expect(request).rejects.toBeInstanceOf(ClosedError);
    await expect(blocked).rejects.toBeInstanceOf(ClosedError);
    await expect(hub.pubSub.publish("me", "t", 1)).rejects.toBeInstanceOf(ClosedError);
    expect(clock.pending).toBe(0);
  });
});
