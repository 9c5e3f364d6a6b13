import { afterEach } from "vitest";
import { natsStateStore, type NatsStateStore } from "../../../src/backends/nats/kv-store.js";
import { stateStoreContract } from "../../state/store-contract.js";
import { withNatsServer } from "./harness.js";

withNatsServer("NatsStateStore", (fixture) => {
  let n = 0;
  const open: NatsStateStore[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });

  stateStoreContract("NatsStateStore", async (o) => {
    const store = await natsStateStore(fixture().nc, {
      bucket: `contract_${++n}`,
      clock: o.clock,
      historyLimit: o.historyLimit,
      maxValueBytes: o.maxValueBytes,
      onListenerError: o.onListenerError,
      storage: "memory",
    });
    open.push(store);
    return store;
  });
});
