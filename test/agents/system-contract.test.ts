import { createSystem } from "../../src/index.js";
import { systemContract } from "./system-contract.js";

// In-process, both handles are the one system: everything is visible at once.
systemContract("in-process", async () => {
  const system = createSystem();
  return {
    a: system,
    b: system,
    async until(probe, done) {
      for (let i = 0; ; i++) {
        const value = await probe();
        if (done(value)) return value;
        if (i === 100) throw new Error(`condition not met; last value: ${JSON.stringify(value)}`);
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
    close: () => system.shutdown(),
  };
});
