// Provider and consumer: a summarizer agent is registered with a typed contract; a consumer
// that never imports it finds it in the catalog and calls it by name. The contract guards the
// way in (a bad request never reaches the provider); a provider that fails reaches the
// consumer as a HandlerError carrying what it threw.
import { z } from "zod";
import { createSystem, defineAgent, HandlerError, ValidationError } from "../src/index.js";

const system = createSystem();
const MAX_DOCUMENT = 500;

// --- provider side -------------------------------------------------------------------------
await system.addAgent(
  defineAgent({
    name: "nlp.summarizer",
    description: "Summarizes text to a target length. Input: raw text and an optional maxLength.",
    capabilities: ["summarize"],
    input: z.object({ text: z.string().min(1), maxLength: z.number().int().positive().default(200) }),
    output: z.object({ summary: z.string() }),
    handler: ({ text, maxLength }) => {
      // A real limit of this provider: it summarizes in one pass and refuses longer documents.
      if (text.length > MAX_DOCUMENT) throw new RangeError(`document of ${text.length} characters exceeds the ${MAX_DOCUMENT}-character limit`);
      return { summary: text.length <= maxLength ? text : `${text.slice(0, maxLength - 1)}…` };
    },
  }),
);

// --- consumer side: discover, then call by name --------------------------------------------
console.log("Catalog:");
for (const entry of system.catalog()) {
  console.log(`  ${entry.name} (${entry.instances} instance) - ${entry.description}`);
  console.log(`    input schema:  ${JSON.stringify(entry.inputSchema)}`);
  console.log(`    output schema: ${JSON.stringify(entry.outputSchema)}`);
}

const entry = system.catalog().find((e) => e.capabilities.includes("summarize"));
if (entry === undefined) throw new Error("no summarizer on offer");
const result = await system.call<{ summary: string }>(entry.name, {
  text: "covey connects agents in one process. Agents register, discover and call each other at runtime.",
  maxLength: 40,
});
console.log(`\nResult: ${result.summary}`);

// The contract is enforced on the way in: the handler never sees a bad request.
try {
  await system.call(entry.name, { text: 42 });
} catch (error) {
  if (!(error instanceof ValidationError)) throw error;
  console.log(`Rejected bad input: ${error.code} ${error.message}`);
}
// A provider that fails: the consumer gets HandlerError, with the provider's own error as cause.
try {
  await system.call(entry.name, { text: "word ".repeat(200) });
} catch (error) {
  if (!(error instanceof HandlerError)) throw error;
  console.log(`Provider failed: ${error.code} (${error.subject}) cause: ${String(error.cause)}`);
}
await system.shutdown();
