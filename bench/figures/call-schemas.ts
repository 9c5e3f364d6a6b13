import { z } from "zod";
import { defineAgent, createSystem } from "../../src/agents/index.js";
import { atMost, compare, ratio, type Figure } from "../harness.js";

const BATCH = 1000;

interface Order {
  id: string;
  quantity: number;
  express: boolean;
}

/** The price of zod contracts: the same call with input + output schemas and without. */
export const figure: Figure = {
  name: "call-schemas",
  title: "system.call with zod input + output schemas",
  async run(profile) {
    const system = createSystem();
    const handler = (o: Order): { id: string; total: number } => ({ id: o.id, total: o.quantity * 3 });
    await system.addAgent(defineAgent({ name: "plain", handler }));
    await system.addAgent(
      defineAgent({
        name: "typed",
        input: z.object({ id: z.string(), quantity: z.number().int().positive(), express: z.boolean() }),
        output: z.object({ id: z.string(), total: z.number() }),
        handler,
      }),
    );
    const input: Order = { id: "o-1", quantity: 4, express: false };

    const cases = await compare(
      [
        {
          name: "call with input+output schemas",
          ops: BATCH,
          fn: async () => {
            for (let i = 0; i < BATCH; i++) await system.call("typed", input);
          },
        },
        {
          name: "same call without schemas",
          ops: BATCH,
          fn: async () => {
            for (let i = 0; i < BATCH; i++) await system.call("plain", input);
          },
        },
      ],
      profile,
    );
    await system.shutdown();
    return {
      name: this.name,
      title: this.title,
      cases,
      checks: [atMost("ratio to the call without schemas <= 2.0", ratio(cases, "call with input+output schemas", "same call without schemas"), 2.0)],
      notes: [],
    };
  },
};
