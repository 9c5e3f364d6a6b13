import { InMemoryStateStore } from "../../src/state/index.js";
import { FrozenMap } from "../baselines/frozen-map.js";
import { atLeast, byName, compare, fmtRate, type Figure } from "../harness.js";

const BATCH = 1000;
const KEYS = 100;

/** `kv.set` of a small value versus a plain Map.set of a frozen copy. */
export const figure: Figure = {
  name: "kv-set",
  title: "kv.set of a small value",
  async run(profile) {
    const store = new InMemoryStateStore();
    const map = new FrozenMap();
    const keys = Array.from({ length: KEYS }, (_, i) => `item:${i}`);

    const cases = await compare(
      [
        {
          name: "covey kv.set",
          ops: BATCH,
          fn: async () => {
            for (let i = 0; i < BATCH; i++) await store.set(keys[i % KEYS]!, { n: i, label: "x" });
          },
        },
        {
          name: "Map.set of a frozen copy",
          ops: BATCH,
          fn: () => {
            for (let i = 0; i < BATCH; i++) map.set(keys[i % KEYS]!, { n: i, label: "x" });
          },
        },
      ],
      profile,
    );
    const covey = byName(cases, "covey kv.set");
    return {
      name: this.name,
      title: this.title,
      cases,
      checks: [atLeast(">= 3M sets/s", covey.opsPerSec, 3e6, fmtRate)],
      notes: [`ratio to Map.set of a frozen copy: ${(covey.median / byName(cases, "Map.set of a frozen copy").median).toFixed(2)}x`],
    };
  },
};
