import { createRuntime } from "../../src/runtime/runtime.js";
import { SynchronizationManager } from "../../src/sync/synchronization-manager.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";
import { syncContract } from "./sync-contract.js";

// In-process, both handles are the one manager, on a virtual clock.
syncContract("in-process", async () => {
  const clock = new VirtualClock();
  const manager = new SynchronizationManager({ runtime: createRuntime({ clock }) });
  return {
    a: manager,
    b: manager,
    elapse: (ms) => clock.advance(ms),
    async until(probe) {
      for (let i = 0; i < 100 && !probe(); i++) await clock.settle();
      if (!probe()) throw new Error("condition not met on the virtual clock");
    },
    leaseGrace: () => 0,
    async close() {
      manager.close();
    },
  };
});
