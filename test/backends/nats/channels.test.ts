import { createSystem, type MultiAgentSystem } from "../../../src/index.js";
import { natsBackend, type NatsBackend } from "../../../src/backends/nats/index.js";
import { pubSubContract } from "../../channels/pub-sub-contract.js";
import { requestReplyContract, type ContractEnv, type Reported } from "../../channels/request-reply-contract.js";
import { eventually, withNatsServer } from "./harness.js";

// The same contract suites as in-process (test/channels/channels-contract.test.ts), over NATS:
// handle a and handle b are the channels of two systems that joined one mesh, each with its
// own connection, as two processes would. Real time, short timeouts.

withNatsServer("channels over NATS", (fixture) => {
  let meshes = 0;

  async function pair(): Promise<{ systems: [MultiAgentSystem, MultiAgentSystem]; env: ContractEnv }> {
    const mesh = `ch${++meshes}`;
    const opts = { servers: fixture().server.url, mesh, storage: "memory" as const, followState: false };
    const backends: NatsBackend[] = [];
    const systems: MultiAgentSystem[] = [];
    const reports: [Reported[], Reported[]] = [[], []];
    for (let i = 0; i < 2; i++) {
      const backend = await natsBackend(opts);
      const system = createSystem({ backend });
      const list = reports[i]!;
      system.events.eventBus.subscribe("error_occurred", (e) => {
        const p = e.payload as { error?: unknown; topic?: unknown };
        list.push({ error: String(p.error), topic: typeof p.topic === "string" ? p.topic : null });
      });
      backends.push(backend);
      systems.push(system);
    }
    const env: ContractEnv = {
      run: (p) => p,
      until: async (cond) => {
        await eventually(cond, (v) => v, 5_000);
      },
      // A flush is a round trip to the server: every SUB / UNSUB sent before it is in effect.
      propagated: async () => {
        await Promise.all(backends.map((b) => b.connection.flush()));
      },
      now: () => Date.now(),
      lateness: 250,
      remote: true,
      checksPayloads: true,
      reports: (side) => reports[side === "a" ? 0 : 1],
      close: async () => {
        for (const s of systems) await s.shutdown();
      },
    };
    return { systems: [systems[0]!, systems[1]!], env };
  }

  requestReplyContract("NATS, two systems on one mesh", async () => {
    const { systems, env } = await pair();
    return { ...env, a: systems[0].communication.requestReply, b: systems[1].communication.requestReply };
  });

  pubSubContract("NATS, two systems on one mesh", async () => {
    const { systems, env } = await pair();
    return { ...env, a: systems[0].communication.pubSub, b: systems[1].communication.pubSub, countsOtherSide: false };
  });
});
