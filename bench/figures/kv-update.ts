import { produce } from "immer";
import { InMemoryStateStore } from "../../src/state/index.js";
import { atMost, compare, ratio, type Figure } from "../harness.js";

const BATCH = 1000;

interface Order {
  id: string;
  status: string;
  count: number;
  tags: string[];
  owner: { id: string; team: string };
}

const initial: Order = { id: "o-1", status: "open", count: 0, tags: ["a", "b"], owner: { id: "u-1", team: "core" } };

/** `kv.update` with an immer recipe versus immer `produce` alone on the same object. */
export const figure: Figure = {
  name: "kv-update",
  title: "kv.update of a small object (immer recipe)",
  async run(profile) {
    const store = new InMemoryStateStore();
    await store.set("order", initial);
    let plain: Order = produce(initial, () => undefined);
    const recipe = (d: { count: number } | undefined): void => {
      d!.count++;
    };

    const cases = await compare(
      [
        {
          name: "covey kv.update",
          ops: BATCH,
          fn: async () => {
            for (let i = 0; i < BATCH; i++) await store.update<Order>("order", recipe);
          },
        },
        {
          name: "immer produce alone",
          ops: BATCH,
          fn: () => {
            for (let i = 0; i < BATCH; i++) plain = produce(plain, recipe);
          },
        },
      ],
      profile,
    );
    const entry = await store.get<Order>("order");
    if (entry === undefined || entry.value.count < BATCH) throw new Error("kv.update did not apply the recipe");
    // The checksum is part of the contract; reading it is where a lazy digest is paid.
    if (!/^[0-9a-f]+$/.test(entry.checksum)) throw new Error("entry has no hex checksum");
    return {
      name: this.name,
      title: this.title,
      cases,
      checks: [atMost("ratio to immer produce alone <= 2.0", ratio(cases, "covey kv.update", "immer produce alone"), 2.0)],
      notes: ["both sides chain: each update starts from the previous result, so immer copies the same path on each"],
    };
  },
};
