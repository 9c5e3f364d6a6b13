import { NamespacedState } from "../../../src/state/namespaced-state.js";
import type { StateStore } from "../../../src/state/types.js";
import { stateStoreContract } from "../../state/store-contract.js";
import { useStoreFiles } from "./temp-dir.js";

const files = useStoreFiles();

stateStoreContract("sqliteStore", (o) => files.open(undefined, o));

// What a system uses: a namespace of the durable store (system.kv), sharing the file with a
// namespace of look-alike keys, so a leak between namespaces would show.
async function scopedView(store: StateStore): Promise<StateStore> {
  const state = new NamespacedState(store);
  state.createNamespace("n");
  state.createNamespace("n:k");
  await state.set("n:k", "x", 0);
  return state.namespace("n");
}

stateStoreContract("sqliteStore namespace view", async (o) => scopedView(await files.open(undefined, o)));
