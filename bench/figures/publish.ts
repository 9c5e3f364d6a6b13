import { PubSubChannel } from "../../src/channels/index.js";
import { emittery, eventEmitter3 } from "../baselines/emitters.js";
import { atLeast, atMost, compare, ratio, type Figure } from "../harness.js";

const BATCH = 1000;
const TOPICS = 1000;
const SUBSCRIBERS = 10;

/**
 * Publish to 10 subscribers of a wildcard subscription, among 1,000 other subscribed topics.
 * covey awaits every publish (it resolves when the handlers are done); the emitters'
 * emit is the bare dispatch.
 */
export const figure: Figure = {
  name: "publish",
  title: "pubSub.publish to 10 subscribers (wildcard, among 1,000 topics)",
  async run(profile) {
    const sink = { n: 0 };
    const channel = new PubSubChannel();
    for (let t = 0; t < TOPICS; t++) channel.subscribe(`svc${t}.events`, () => void sink.n++);
    for (let i = 0; i < SUBSCRIBERS; i++) channel.subscribe("orders.*", () => void sink.n++);
    const ee3 = eventEmitter3(SUBSCRIBERS, sink);
    const em = emittery(SUBSCRIBERS, sink);
    const payload = { id: 1, amount: 5 };

    const check = await channel.publish("bench", "orders.created", payload);
    if (check.delivered !== SUBSCRIBERS) throw new Error(`publish reached ${check.delivered} handlers, expected ${SUBSCRIBERS}`);

    const cases = await compare(
      [
        {
          name: "covey pubSub.publish (awaited)",
          ops: BATCH,
          fn: async () => {
            for (let i = 0; i < BATCH; i++) await channel.publish("bench", "orders.created", payload);
          },
        },
        {
          name: "eventemitter3 emit",
          ops: BATCH,
          fn: () => {
            for (let i = 0; i < BATCH; i++) ee3.emit("orders.created", payload);
          },
        },
        {
          name: "emittery emit (awaited)",
          ops: BATCH,
          fn: async () => {
            for (let i = 0; i < BATCH; i++) await em.emit("orders.created", payload);
          },
        },
      ],
      profile,
    );
    return {
      name: this.name,
      title: this.title,
      cases,
      checks: [
        atMost("ratio to eventemitter3 emit <= 3.0", ratio(cases, "covey pubSub.publish (awaited)", "eventemitter3 emit"), 3.0),
        atLeast(">= 5x faster than emittery", ratio(cases, "emittery emit (awaited)", "covey pubSub.publish (awaited)"), 5.0),
      ],
      notes: [],
    };
  },
};
