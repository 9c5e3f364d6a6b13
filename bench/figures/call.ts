import { defineAgent, createSystem } from "../../src/agents/index.js";
import { RequestReplyEmulation } from "../baselines/request-reply-emulation.js";
import { atLeast, atMost, byName, compare, fmtRate, ratio, type Figure } from "../harness.js";

const BATCH = 1000;

/** `system.call` round trip, one typed agent without schemas, default 30 s timeout on. */
export const figure: Figure = {
  name: "call",
  title: "system.call round trip, sequential",
  async run(profile) {
    const system = createSystem();
    await system.addAgent(defineAgent({ name: "echo", handler: (n: number) => n }));
    const timed = new RequestReplyEmulation();
    timed.register("echo", (n) => n);
    const bare = new RequestReplyEmulation({ timers: false });
    bare.register("echo", (n) => n);

    const cases = await compare(
      [
        {
          name: "covey system.call",
          ops: BATCH,
          fn: async () => {
            for (let i = 0; i < BATCH; i++) await system.call("echo", i);
          },
        },
        {
          name: "Map + resolver + setTimeout per request",
          ops: BATCH,
          fn: async () => {
            for (let i = 0; i < BATCH; i++) await timed.request("echo", i);
          },
        },
        {
          name: "Map + resolver, no timer (reference)",
          ops: BATCH,
          fn: async () => {
            for (let i = 0; i < BATCH; i++) await bare.request("echo", i);
          },
        },
      ],
      profile,
    );
    await system.shutdown();
    const covey = byName(cases, "covey system.call");
    return {
      name: this.name,
      title: this.title,
      cases,
      checks: [
        atMost("ratio to Map + resolver + per-request timer <= 1.0", ratio(cases, covey.name, "Map + resolver + setTimeout per request"), 1.0),
        atLeast(">= 1M calls/s sequential", covey.opsPerSec, 1e6, fmtRate),
      ],
      notes: [`ratio to the timer-less emulation: ${ratio(cases, covey.name, "Map + resolver, no timer (reference)").toFixed(2)}x`],
    };
  },
};
