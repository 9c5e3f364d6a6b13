import { Mutex, Semaphore as MutexSemaphore } from "async-mutex";
import { Lock } from "../../src/sync/index.js";
import { atLeast, compare, ratio, type Figure } from "../harness.js";

const BATCH = 1000;
const CONTENDERS = 100;

/** Lock acquire + release, uncontended and with 100 contenders, versus async-mutex's Mutex. */
export const figure: Figure = {
  name: "lock",
  title: "Lock acquire + release",
  async run(profile) {
    const lock = new Lock("bench");
    const mutex = new Mutex();
    // Mutex.acquire goes through a generator-based __awaiter in async-mutex's ESM build; its
    // Semaphore(1) skips it, so it is shown as the stronger async-mutex figure.
    const binary = new MutexSemaphore(1);
    const agents = Array.from({ length: CONTENDERS }, (_, i) => `agent-${i}`);
    const waits = new Array<Promise<void>>(CONTENDERS);
    let held = 0;

    const coveyOne = async (agent: string): Promise<void> => {
      await lock.acquire(agent);
      if (held++ !== 0) throw new Error("two holders");
      held--;
      lock.release(agent);
    };
    const mutexOne = async (): Promise<void> => {
      const release = await mutex.acquire();
      if (held++ !== 0) throw new Error("two holders");
      held--;
      release();
    };

    const binaryOne = async (): Promise<void> => {
      const [, release] = await binary.acquire();
      if (held++ !== 0) throw new Error("two holders");
      held--;
      release();
    };

    const cases = await compare(
      [
        {
          name: "covey Lock, uncontended",
          ops: BATCH,
          fn: async () => {
            for (let i = 0; i < BATCH; i++) await coveyOne("solo");
          },
        },
        {
          name: "async-mutex Mutex, uncontended",
          ops: BATCH,
          fn: async () => {
            for (let i = 0; i < BATCH; i++) await mutexOne();
          },
        },
        {
          name: "async-mutex Semaphore(1), uncontended (reference)",
          ops: BATCH,
          fn: async () => {
            for (let i = 0; i < BATCH; i++) await binaryOne();
          },
        },
        {
          name: "covey Lock, 100 contending",
          ops: CONTENDERS,
          fn: async () => {
            for (let i = 0; i < CONTENDERS; i++) waits[i] = coveyOne(agents[i]!);
            await Promise.all(waits);
          },
        },
        {
          name: "async-mutex Mutex, 100 contending",
          ops: CONTENDERS,
          fn: async () => {
            for (let i = 0; i < CONTENDERS; i++) waits[i] = mutexOne();
            await Promise.all(waits);
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
        atLeast(">= 3x faster than async-mutex, uncontended", ratio(cases, "async-mutex Mutex, uncontended", "covey Lock, uncontended"), 3),
        atLeast(">= 3x faster than async-mutex, 100 contending", ratio(cases, "async-mutex Mutex, 100 contending", "covey Lock, 100 contending"), 3),
      ],
      notes: [
        `against async-mutex's faster Semaphore(1) path, uncontended: ${ratio(cases, "async-mutex Semaphore(1), uncontended (reference)", "covey Lock, uncontended").toFixed(2)}x faster`,
      ],
    };
  },
};
