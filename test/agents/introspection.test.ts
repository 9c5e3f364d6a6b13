import { describe, expect, it } from "vitest";
import { createSystem, defineAgent } from "../../src/index.js";
import { VirtualClock } from "../../src/testing/index.js";

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("RequestReplyChannel#pendingRequests", () => {
  it("lists each request in flight with caller, recipient and send time, and forgets it when it ends", async () => {
    const clock = new VirtualClock(1000);
    const system = createSystem({ clock });
    const gate = deferred<string>();
    await system.addAgent(defineAgent({ name: "slow", handler: () => gate.promise }));
    expect(system.communication.requestReply.pendingRequests()).toEqual([]);
    const call = system.call("slow", {});
    await clock.advance(5);
    const listed = system.communication.requestReply.pendingRequests();
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ from: "system", to: "slow", since: 1000 });
    expect(listed[0]!.id).toMatch(/^msg-\d+$/);
    gate.resolve("ok");
    expect(await call).toBe("ok");
    expect(system.communication.requestReply.pendingRequests()).toEqual([]);
    await system.shutdown();
  });
});

describe("CoordinatedAgent introspection", () => {
  it("reports load, mailbox depth, running handlers and state", async () => {
    const system = createSystem({ clock: new VirtualClock() });
    const gate = deferred();
    const agent = await system.addAgent(defineAgent({ name: "busy", handler: () => gate.promise }));
    expect(agent.state).toBe("running");
    expect([agent.load, agent.queued, agent.running]).toEqual([0, 0, 0]);
    const calls = [system.call("busy", 1), system.call("busy", 2), system.call("busy", 3)];
    expect([agent.load, agent.queued, agent.running]).toEqual([3, 2, 1]);
    gate.resolve();
    await Promise.all(calls);
    expect([agent.load, agent.queued, agent.running]).toEqual([0, 0, 0]);
    await system.removeAgent(agent.agentId);
    expect(agent.state).toBe("stopped");
    await system.shutdown();
  });
});
