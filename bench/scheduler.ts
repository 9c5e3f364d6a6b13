// What the delivery scheduler costs a call. Production systems use the immediate scheduler,
// which the channels recognise and bypass (a direct call, no closure per delivery); a
// scheduler that is any other object gets a closure per delivery through `deliver`.
//   npx tsx bench/scheduler.ts          (add --quick for a short run)
import { MultiAgentSystem } from "../src/agents/system.js";
import { defineAgent } from "../src/agents/spec.js";
import type { Scheduler } from "../src/runtime/scheduler.js";
import { compare, fmtNs, fullProfile, quickProfile, ratio } from "./harness.js";

const profile = process.argv.includes("--quick") ? quickProfile : fullProfile;
const BATCH = 1000;
// Runs every delivery at once, like the production scheduler, but as an ordinary object.
const passThrough: Scheduler = { deliver: (_kind, fn) => fn(), pending: 0 };

const echo = defineAgent({ name: "echo", handler: (n: number) => n });
const production = new MultiAgentSystem();
const generic = new MultiAgentSystem({ scheduler: passThrough });
await production.addAgent(echo);
await generic.addAgent(echo);

const results = await compare(
  [
    {
      name: "system.call, production scheduler",
      ops: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) await production.call("echo", i);
      },
    },
    {
      name: "system.call, every delivery through deliver()",
      ops: BATCH,
      fn: async () => {
        for (let i = 0; i < BATCH; i++) await generic.call("echo", i);
      },
    },
  ],
  profile,
);
for (const r of results) console.log(`${r.name.padEnd(48)} ${fmtNs(r.median).padStart(10)} per call`);
console.log(
  `through deliver() / production = ${ratio(results, "system.call, every delivery through deliver()", "system.call, production scheduler").toFixed(2)}x`,
);
await production.shutdown();
await generic.shutdown();
