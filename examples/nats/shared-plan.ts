// The shared plan across processes, in one command: starts 3 worker processes
// (plan-worker.ts) and the planner (planner.ts) on the same mesh, with their output prefixed,
// and exits with the planner's status. Needs a NATS server with JetStream:
//
//   nats-server -js &
//   npx tsx examples/nats/shared-plan.ts
//
// Each process can also be started by hand, on any machine that reaches the server.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const WORKERS = Number(process.env["WORKERS"] ?? 3);
const env = { ...process.env, COVEY_MESH: process.env["COVEY_MESH"] ?? `plan${process.pid}`, WORKERS: String(WORKERS) };

function run(file: string): Promise<number> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL(file, import.meta.url))], { env, stdio: ["ignore", "inherit", "inherit"] });
  return new Promise((resolve) => child.once("exit", (code) => resolve(code ?? 1)));
}

const workers = Array.from({ length: WORKERS }, () => run("./plan-worker.ts"));
const planner = await run("./planner.ts");
const codes = await Promise.all(workers);
console.log(`Processes: ${WORKERS} workers (exit ${codes.join(", ")}), planner (exit ${planner})`);
process.exitCode = planner !== 0 || codes.some((c) => c !== 0) ? 1 : 0;
