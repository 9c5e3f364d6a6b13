import { defineAgent, createSystem } from "../../src/agents/index.js";
import { RequestReplyEmulation } from "../baselines/request-reply-emulation.js";
import { atLeast, atMost, byName, compare, fmtRate, ratio, type Figure } from "../harness.js";

const IN_FLIGHT = 1000;
const INSTANCES = 4;

/** 1,000 calls in flight, load-balanced over 4 instances of one agent. */
export const figure: Figure = {
  name: "call-inflight",
  title: "system.call, 1,000 in flight over 4 instances",
  async run(profile) {
    const system = createSystem();
    const spec = defineAgent({ name: "echo", handler: (n: number) => n });
    for (let i = 0; i < INSTANCES; i++) await system.addAgent(spec);
    const timed = new RequestReplyEmulation();
    timed.register("echo", (n) => n);
    const calls = new Array<Promise<unknown>>(IN_FLIGHT);

    const cases = await compare(
      [
        {
          name: "covey system.call × 1000 in flight",
          ops: IN_FLIGHT,
          fn: async () => {
            for (let i = 0; i < IN_FLIGHT; i++) calls[i] = system.call("echo", i);
            await Promise.all(calls);
          },
        },
        {
          name: "Map + resolver + setTimeout, 1000 in flight",
          ops: IN_FLIGHT,
          fn: async () => {
            for (let i = 0; i < IN_FLIGHT; i++) calls[i] = timed.request("echo", i);
            await Promise.all(calls);
          },
        },
      ],
      profile,
    );
    await system.shutdown();
    const covey = byName(cases, "covey system.call × 1000 in flight");
    return {
      name: this.name,
      title: this.title,
      cases,
      checks: [
        atLeast(">= 1.5M calls/s", covey.opsPerSec, 1.5e6, fmtRate),
        atMost("ratio to the emulation, 1000 in flight (informative, <= 1.0)", ratio(cases, covey.name, "Map + resolver + setTimeout, 1000 in flight"), 1.0),
      ],
      notes: [],
    };
  },
};
