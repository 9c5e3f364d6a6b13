import { errorMessage } from "../../src/runtime/describe.js";
import { PubSubChannel } from "../../src/channels/pub-sub.js";
import { RequestReplyChannel } from "../../src/channels/request-reply.js";
import { createTestSystem } from "../../src/testing/test-system.js";
import { runUntil } from "../../src/testing/run-until.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";
import type { MultiAgentSystem } from "../../src/agents/system.js";
import { pubSubContract, type PubSubEnv } from "./pub-sub-contract.js";
import { requestReplyContract, type ContractEnv, type Reported, type RequestReplyEnv } from "./request-reply-contract.js";

// In-process, "two handles that share the channel" are one channel twice: two in-process
// systems never share channels (that is what a backend is for; test/backends/nats/channels.test.ts
// runs the same suites over NATS).

/** A bare channel on a virtual clock: handlers are called directly, payloads pass by reference. */
function clockEnv(reports: Reported[]): { clock: VirtualClock; env: Omit<ContractEnv, "close"> } {
  const clock = new VirtualClock();
  return {
    clock,
    env: {
      run: (p) => runUntil(clock, p),
      until: (cond) => runUntil(clock, cond),
      propagated: () => Promise.resolve(),
      now: () => clock.now(),
      lateness: 0,
      remote: false,
      checksPayloads: false,
      reports: () => reports,
    },
  };
}

/** A test system's channels: seeded delivery order, every payload checked. */
function testSystemEnv(): { system: MultiAgentSystem; env: ContractEnv } {
  const t = createTestSystem({ seed: 3 });
  const reports: Reported[] = [];
  t.system.events.eventBus.subscribe("error_occurred", (e) => {
    const p = e.payload as { error?: unknown; topic?: unknown };
    reports.push({ error: String(p.error), topic: typeof p.topic === "string" ? p.topic : null });
  });
  return {
    system: t.system,
    env: {
      run: (p) => t.run(p),
      until: (cond) => t.runUntil(cond),
      propagated: () => Promise.resolve(),
      now: () => t.clock.now(),
      lateness: 0,
      remote: false,
      checksPayloads: true,
      reports: () => reports,
      close: () => t.system.shutdown(),
    },
  };
}

requestReplyContract("in-process channel, virtual clock", () => {
  const { clock, env } = clockEnv([]);
  const channel = new RequestReplyChannel({ clock });
  const out: RequestReplyEnv = { ...env, a: channel, b: channel, close: () => Promise.resolve(channel.close()) };
  return Promise.resolve(out);
});

requestReplyContract("in-process test system (seeded scheduler, payload checks)", () => {
  const { system, env } = testSystemEnv();
  const channel = system.communication.requestReply;
  return Promise.resolve({ ...env, a: channel, b: channel });
});

pubSubContract("in-process channel, virtual clock", () => {
  const reports: Reported[] = [];
  const { clock, env } = clockEnv(reports);
  const channel = new PubSubChannel({ clock, onError: (error, m) => reports.push({ error: errorMessage(error), topic: m.topic ?? null }) });
  const out: PubSubEnv = { ...env, a: channel, b: channel, countsOtherSide: true, close: () => Promise.resolve(channel.close()) };
  return Promise.resolve(out);
});

pubSubContract("in-process test system (seeded scheduler, payload checks)", () => {
  const { system, env } = testSystemEnv();
  const channel = system.communication.pubSub;
  return Promise.resolve({ ...env, a: channel, b: channel, countsOtherSide: true });
});
