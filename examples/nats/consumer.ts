// Consumer, its own process: imports nothing from the provider. It finds an agent that can
// summarize in the mesh's catalog and calls it by name over NATS (see provider.ts).
//
// NATS_URL (default nats://127.0.0.1:4222) and COVEY_MESH (default "demo") choose the mesh.
import { createSystem, HandlerError, ValidationError, type CatalogEntry } from "../../src/index.js";
import { natsBackend } from "../../src/backends/nats/index.js";

const servers = process.env["NATS_URL"] ?? "nats://127.0.0.1:4222";
const mesh = process.env["COVEY_MESH"] ?? "demo";
const system = createSystem({ backend: await natsBackend({ servers, mesh }) });

// Discover: the catalog lists every agent of every process on the mesh.
let entry: CatalogEntry | undefined;
for (const deadline = Date.now() + 15_000; entry === undefined; ) {
  entry = system.catalog().find((e) => e.capabilities.includes("summarize"));
  if (entry === undefined) {
    if (Date.now() > deadline) throw new Error(`no summarizer on mesh "${mesh}": start examples/nats/provider.ts first`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
console.log("Catalog:");
for (const e of system.catalog()) {
  console.log(`  ${e.name} (${e.instances} instance${e.instances === 1 ? "" : "s"}) - ${e.description}`);
  console.log(`    input schema:  ${JSON.stringify(e.inputSchema)}`);
}

// Call by name, across the process boundary.
const result = await system.call<{ summary: string }>(entry.name, {
  text: "covey runs the same agents in one process or across many. Agents register, discover and call each other at runtime.",
  maxLength: 40,
});
console.log(`\nResult: ${result.summary}`);

// The contract is checked by the provider before its handler runs: a ValidationError here.
try {
  await system.call(entry.name, { text: 42 });
} catch (error) {
  if (!(error instanceof ValidationError)) throw error;
  console.log(`Rejected bad input: ${error.code}`);
}
// A provider that fails: HandlerError, with the provider's own error rebuilt as the cause.
try {
  await system.call(entry.name, { text: "word ".repeat(200) });
} catch (error) {
  if (!(error instanceof HandlerError)) throw error;
  console.log(`Provider failed: ${error.code} cause: ${String(error.cause)}`);
}
await system.shutdown();
