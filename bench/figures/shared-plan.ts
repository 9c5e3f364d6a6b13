import { defineAgent, createSystem, type MultiAgentSystem } from "../../src/agents/index.js";
import { atLeast, byName, compare, fmtRate, type Figure } from "../harness.js";

const TASKS = 10_000;
const INSTANCES = 8;
const SPREAD = "10,000 tasks, 8 instances, spread starts";
const LOCKSTEP = "10,000 tasks, 8 instances, lockstep (worst case)";

interface PlanTask {
  title: string;
  claimedBy?: string;
}

/**
 * The shared-plan scenario: 10,000 tasks in the shared kv, 8 instances of a planner agent
 * walking the plan and claiming open tasks with `kv.update` (compare-and-swap with retry).
 * Every claim is recorded; a task claimed twice is a double claim.
 */
export const figure: Figure = {
  name: "shared-plan",
  title: "shared plan: 10,000 tasks claimed with kv.update by 8 instances",
  async run(profile) {
    const claims = new Int32Array(TASKS);
    let system: MultiAgentSystem | undefined;
    let doubleClaims = 0;
    let unclaimed = 0;
    let runs = 0;

    const prepare = async (): Promise<void> => {
      await system?.shutdown();
      system = createSystem();
      claims.fill(0);
      const spec = defineAgent({
        name: "planner",
        handler: async (start: number, ctx) => {
          const kv = ctx.state.namespace("shared");
          let mine = 0;
          for (let j = 0; j < TASKS; j++) {
            const i = (start + j) % TASKS;
            const key = `task:${i}`;
            const seen = await kv.get<PlanTask>(key);
            if (seen?.value.claimedBy !== undefined) continue;
            let won = false;
            await kv.update<PlanTask>(key, (d) => {
              won = false;
              if (d !== undefined && d.claimedBy === undefined) {
                d.claimedBy = ctx.agentId;
                won = true;
              }
            });
            if (won) {
              claims[i]!++;
              mine++;
            }
          }
          return mine;
        },
      });
      for (let i = 0; i < INSTANCES; i++) await system.addAgent(spec);
      for (let i = 0; i < TASKS; i++) await system.kv.set<PlanTask>(`task:${i}`, { title: `task ${i}` });
    };

    const verify = (): void => {
      runs++;
      for (let i = 0; i < TASKS; i++) {
        if (claims[i]! > 1) doubleClaims += claims[i]! - 1;
        if (claims[i] === 0) unclaimed++;
      }
    };

    const calls = new Array<Promise<number>>(INSTANCES);
    const claim = async (spread: boolean): Promise<void> => {
      for (let i = 0; i < INSTANCES; i++) calls[i] = system!.call<number>("planner", spread ? Math.floor((i * TASKS) / INSTANCES) : 0);
      const perInstance = await Promise.all(calls);
      if (perInstance.reduce((a, b) => a + b, 0) !== TASKS) throw new Error(`claims do not add up: ${perInstance.join(",")}`);
      verify();
    };
    const cases = await compare(
      [
        { name: SPREAD, ops: TASKS, beforeEach: prepare, fn: () => claim(true) },
        { name: LOCKSTEP, ops: TASKS, beforeEach: prepare, fn: () => claim(false) },
      ],
      { ...profile, rounds: profile.quick ? 1 : 3, iterations: profile.quick ? 2 : 4, time: 1, warmupTime: 1, warmupIterations: 1 },
    );
    await system?.shutdown();
    const c = byName(cases, SPREAD);
    return {
      name: this.name,
      title: this.title,
      cases,
      checks: [
        atLeast(">= 100k tasks/s", c.opsPerSec, 1e5, fmtRate),
        { target: "0 double claims", measured: `${doubleClaims} double claims, ${unclaimed} unclaimed over ${runs} runs`, met: doubleClaims === 0 && unclaimed === 0 },
      ],
      notes: [
        "spread: instance k starts its walk at task k × 10,000 / 8 and wraps around, claiming whatever is still open (instances collide where their walks meet)",
        `lockstep (worst case): every instance walks from the first task, so all 8 read every task and race to update it: 8 reads and up to 8 updates per task; ${fmtRate(byName(cases, LOCKSTEP).opsPerSec).replace("/s", "")} tasks/s`,
      ],
    };
  },
};
