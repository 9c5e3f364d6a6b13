import { defineAgent, createSystem } from "../../src/agents/index.js";
import { RequestReplyEmulation } from "../baselines/request-reply-emulation.js";
import { atLeast, atMost, byName, compare, fmtRate, ratio, type Figure } from "../harness.js";

const BATCH = 1000;
const tick = Promise.resolve();

const HEADLINE = "covey system.call, async handler (default 30 s timeout)";
const NO_DEADLINE = "covey system.call, async handler, timeout: Infinity";
const SYNC = "covey system.call, sync handler (default timeout)";
const EMULATION = "Map + resolver + setTimeout per request (async handler)";
const BARE = "Map + resolver, no timer (reference)";
const DEEP = "covey system.call, handler awaiting 3 times (default timeout)";
const DEEP_NO_DEADLINE = "covey system.call, handler awaiting 3 times, timeout: Infinity";

/**
 * `system.call` round trip, sequential, one typed agent without schemas. The headline uses an
 * async handler (what agents' handlers are): its reply arrives after the call returns, so the
 * call's deadline is really armed and cancelled. The sync handler's row is the fast path where
 * the reply is there before any deadline is armed. Deadlines are armed two microtask hops
 * after a call (counting from the call's timestamp), so the headline handler, which replies
 * within those hops, never arms one; the "awaiting 3 times" rows show a reply that arrives
 * after its deadline was armed, for the cost of arming and cancelling it.
 */
export const figure: Figure = {
  name: "call",
  title: "system.call round trip, sequential",
  async run(profile) {
    const system = createSystem();
    await system.addAgent(defineAgent({ name: "echo", handler: async (n: number) => n }));
    await system.addAgent(defineAgent({ name: "echo-sync", handler: (n: number) => n }));
    // Replies after the deadline is armed: shows what arming and cancelling one costs.
    await system.addAgent(
      defineAgent({
        name: "echo-deep",
        handler: async (n: number) => {
          await tick;
          await tick;
          await tick;
          return n;
        },
      }),
    );
    const timed = new RequestReplyEmulation();
    timed.register("echo", async (n) => n);
    const bare = new RequestReplyEmulation({ timers: false });
    bare.register("echo", async (n) => n);
    const forever = { timeout: Infinity };

    const cases = await compare(
      [
        {
          name: HEADLINE,
          ops: BATCH,
          fn: async () => {
            for (let i = 0; i < BATCH; i++) await system.call("echo", i);
          },
        },
        {
          name: NO_DEADLINE,
          ops: BATCH,
          fn: async () => {
            for (let i = 0; i < BATCH; i++) await system.call("echo", i, forever);
          },
        },
        {
          name: SYNC,
          ops: BATCH,
          fn: async () => {
            for (let i = 0; i < BATCH; i++) await system.call("echo-sync", i);
          },
        },
        {
          name: DEEP,
          ops: BATCH,
          fn: async () => {
            for (let i = 0; i < BATCH; i++) await system.call("echo-deep", i);
          },
        },
        {
          name: DEEP_NO_DEADLINE,
          ops: BATCH,
          fn: async () => {
            for (let i = 0; i < BATCH; i++) await system.call("echo-deep", i, forever);
          },
        },
        {
          name: EMULATION,
          ops: BATCH,
          fn: async () => {
            for (let i = 0; i < BATCH; i++) await timed.request("echo", i);
          },
        },
        {
          name: BARE,
          ops: BATCH,
          fn: async () => {
            for (let i = 0; i < BATCH; i++) await bare.request("echo", i);
          },
        },
      ],
      profile,
    );
    await system.shutdown();
    const headline = byName(cases, HEADLINE);
    const sync = byName(cases, SYNC);
    return {
      name: this.name,
      title: this.title,
      cases,
      checks: [
        atMost("async handler: default timeout / timeout: Infinity <= 1.3", ratio(cases, HEADLINE, NO_DEADLINE), 1.3),
        atMost("async handler: ratio to Map + resolver + per-request timer <= 0.5", ratio(cases, HEADLINE, EMULATION), 0.5),
        atLeast("sync handler: >= 1M calls/s sequential", sync.opsPerSec, 1e6, fmtRate),
      ],
      notes: [
        `async handler, ratio to the timer-less emulation: ${ratio(cases, HEADLINE, BARE).toFixed(2)}x`,
        `sync handler, ratio to the emulation with timers: ${ratio(cases, SYNC, EMULATION).toFixed(2)}x`,
        `headline ${fmtRate(headline.opsPerSec)}`,
        `a handler replying after its deadline is armed (3 awaits): default timeout / timeout: Infinity = ${ratio(cases, DEEP, DEEP_NO_DEADLINE).toFixed(2)}x (informative)`,
      ],
    };
  },
};
