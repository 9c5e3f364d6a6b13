import { createSystem, type MultiAgentSystem } from "../../../src/index.js";
import { natsBackend } from "../../../src/backends/nats/index.js";
import { systemContract } from "../../agents/system-contract.js";
import { withNatsServer } from "./harness.js";

// Over NATS, the handles are two systems (two connections, two process ids) on one mesh; every
// test gets a mesh of its own, so agents, state and events never leak between tests.
withNatsServer("MultiAgentSystem contract over NATS", (fixture) => {
  let meshes = 0;
  systemContract("nats", async () => {
    const mesh = `contract${++meshes}`;
    const systems: MultiAgentSystem[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        systems.push(createSystem({ backend: await natsBackend({ servers: fixture().server.url, mesh, storage: "memory", heartbeatMs: 200 }) }));
      }
    } catch (error) {
      for (const s of systems) await s.shutdown();
      throw error;
    }
    const [a, b] = systems as [MultiAgentSystem, MultiAgentSystem];
    return {
      a,
      b,
      async until(probe, done) {
        const end = Date.now() + 5_000;
        for (;;) {
          const value = await probe();
          if (done(value)) return value;
          if (Date.now() > end) throw new Error(`condition not met within 5 s; last value: ${JSON.stringify(value)}`);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      },
      async close() {
        await a.shutdown();
        await b.shutdown();
      },
    };
  });
});
