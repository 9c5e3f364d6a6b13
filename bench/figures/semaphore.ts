import { Semaphore as MutexSemaphore } from "async-mutex";
import { Semaphore } from "../../src/sync/index.js";
import { ResolverFifo } from "../baselines/resolver-fifo.js";
import { atLeast, byName, compare, fmtNs, ratio, type Figure } from "../harness.js";

const PERMITS = 4;
const CONTENDERS = 100;

/** Semaphore(4) with 100 contenders, versus async-mutex's Semaphore. */
export const figure: Figure = {
  name: "semaphore",
  title: "Semaphore(4), 100 contending",
  async run(profile) {
    const sem = new Semaphore(PERMITS);
    const other = new MutexSemaphore(PERMITS);
    const floor = new ResolverFifo(PERMITS);
    const agents = Array.from({ length: CONTENDERS }, (_, i) => `agent-${i}`);
    const waits = new Array<Promise<void>>(CONTENDERS);
    let inside = 0;

    const coveyOne = async (agent: string): Promise<void> => {
      await sem.acquire(agent);
      if (++inside > PERMITS) throw new Error("too many holders");
      inside--;
      sem.release(agent);
    };
    const otherOne = async (): Promise<void> => {
      const [, release] = await other.acquire();
      if (++inside > PERMITS) throw new Error("too many holders");
      inside--;
      release();
    };

    const floorOne = async (): Promise<void> => {
      await floor.acquire();
      if (++inside > PERMITS) throw new Error("too many holders");
      inside--;
      floor.release();
    };

    const cases = await compare(
      [
        {
          name: "covey Semaphore(4)",
          ops: CONTENDERS,
          fn: async () => {
            for (let i = 0; i < CONTENDERS; i++) waits[i] = coveyOne(agents[i]!);
            await Promise.all(waits);
          },
        },
        {
          name: "async-mutex Semaphore(4)",
          ops: CONTENDERS,
          fn: async () => {
            for (let i = 0; i < CONTENDERS; i++) waits[i] = otherOne();
            await Promise.all(waits);
          },
        },
        {
          name: "FIFO of resolvers (floor, reference)",
          ops: CONTENDERS,
          fn: async () => {
            for (let i = 0; i < CONTENDERS; i++) waits[i] = floorOne();
            await Promise.all(waits);
          },
        },
      ],
      profile,
    );
    const net = (name: string): number => byName(cases, name).median - byName(cases, "FIFO of resolvers (floor, reference)").median;
    return {
      name: this.name,
      title: this.title,
      cases,
      checks: [atLeast(">= 3x faster than async-mutex Semaphore", ratio(cases, "async-mutex Semaphore(4)", "covey Semaphore(4)"), 3)],
      notes: [
        `above the floor (a counter and a FIFO of resolvers, with the same async wrapper per contender): covey +${fmtNs(net("covey Semaphore(4)"))}, async-mutex +${fmtNs(net("async-mutex Semaphore(4)"))}. The floor itself is ${(byName(cases, "async-mutex Semaphore(4)").median / byName(cases, "FIFO of resolvers (floor, reference)").median).toFixed(2)}x faster than async-mutex: that is the most any promise-based semaphore can gain on it in this scenario`,
      ],
    };
  },
};
