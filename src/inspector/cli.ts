#!/usr/bin/env node
// covey-inspect: the inspector page of a whole NATS mesh, from the command line.
//   covey-inspect --nats nats://127.0.0.1:4222 --mesh crew [--port N] [--host 127.0.0.1] [--allow-calls]
import { createSystem } from "../agents/system.js";
import { natsBackend } from "../backends/nats/index.js";
import { CoveyError } from "../errors.js";
import { parseCliArgs, USAGE } from "./cli-args.js";
import { MeshView } from "./mesh.js";

async function main(argv: readonly string[]): Promise<void> {
  const args = parseCliArgs(argv);
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const backend = await natsBackend({ servers: args.servers, mesh: args.mesh });
  // Traced from the start with payloads, so the Messages view shows what crossed since.
  const system = createSystem({ backend, trace: { payloads: true } });
  const mesh = await MeshView.open(system, backend);
  const inspector = await system.inspect({ port: args.port, host: args.host, allowCalls: args.allowCalls });
  process.stdout.write(`covey inspector: joined mesh "${backend.mesh}" as process ${backend.processId}\n`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    const done = async (): Promise<void> => {
      await inspector.close();
      await mesh.close();
      await system.shutdown();
    };
    done().then(
      () => {
        process.stdout.write(`covey inspector: stopped (${signal})\n`);
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`covey inspector: error while stopping: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const usage = error instanceof CoveyError && error.code === "INVALID" ? `\n${USAGE}\n` : "";
  process.stderr.write(`${error instanceof CoveyError ? error.message : `covey-inspect: ${String(error)}`}\n${usage}`);
  process.exit(2);
});
