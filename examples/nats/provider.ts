// Provider, its own process: joins the mesh over NATS and offers a summarizer agent with a
// typed contract. It runs until stopped (Ctrl-C / SIGTERM), then leaves the catalog cleanly.
//
//   nats-server -js &                      # NATS 2.9+ with JetStream
//   npx tsx examples/nats/provider.ts      # this process
//   npx tsx examples/nats/consumer.ts      # another process (or machine): finds it, calls it
//
// NATS_URL (default nats://127.0.0.1:4222) and COVEY_MESH (default "demo") choose the mesh.
import { z } from "zod";
import { createSystem, defineAgent } from "../../src/index.js";
import { natsBackend } from "../../src/backends/nats/index.js";

const servers = process.env["NATS_URL"] ?? "nats://127.0.0.1:4222";
const mesh = process.env["COVEY_MESH"] ?? "demo";
const MAX_DOCUMENT = 500;

const backend = await natsBackend({ servers, mesh });
const system = createSystem({ backend });

await system.addAgent(
  defineAgent({
    name: "nlp.summarizer",
    description: "Summarizes text to a target length. Input: raw text and an optional maxLength.",
    capabilities: ["summarize"],
    input: z.object({ text: z.string().min(1), maxLength: z.number().int().positive().default(200) }),
    output: z.object({ summary: z.string() }),
    handler: ({ text, maxLength }, ctx) => {
      console.log(`[provider] ${ctx.agentId} summarizing ${text.length} characters`);
      if (text.length > MAX_DOCUMENT) throw new RangeError(`document of ${text.length} characters exceeds the ${MAX_DOCUMENT}-character limit`);
      return { summary: text.length <= maxLength ? text : `${text.slice(0, maxLength - 1)}…` };
    },
  }),
);
console.log(`[provider] ready: nlp.summarizer on mesh "${mesh}" (process ${backend.processId})`);

const stop = (): void => {
  void system.shutdown().then(() => {
    console.log("[provider] stopped");
    process.exit(0);
  });
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
// Keep running until a signal comes: the NATS connection alone does not hold the process.
setInterval(() => undefined, 1 << 30);
