import { execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { withNatsServer } from "./harness.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../..", import.meta.url));

withNatsServer("examples/nats", (fixture) => {
  const env = (mesh: string): NodeJS.ProcessEnv => ({ ...process.env, NATS_URL: fixture().server.url, COVEY_MESH: mesh });

  describe("examples/nats", () => {
    it("provider.ts and consumer.ts run as two processes: the consumer finds the provider in the catalog and calls it", async () => {
      const provider = spawn(process.execPath, ["--import", "tsx", "examples/nats/provider.ts"], { cwd: root, env: env("pc"), stdio: ["ignore", "pipe", "pipe"] });
      let providerOut = "";
      provider.stdout.setEncoding("utf8").on("data", (chunk: string) => (providerOut += chunk));
      provider.stderr.setEncoding("utf8").on("data", (chunk: string) => (providerOut += chunk));
      try {
        const { stdout } = await run(process.execPath, ["--import", "tsx", "examples/nats/consumer.ts"], { cwd: root, env: env("pc"), timeout: 60_000 });
        expect(stdout).toContain("nlp.summarizer (1 instance)");
        expect(stdout).toMatch(/Result: .{1,40}\n/);
        expect(stdout).toContain("Rejected bad input: INVALID");
        expect(stdout).toContain("Provider failed: HANDLER_FAILED cause: RangeError: document of 1000 characters");
        expect(providerOut).toContain("ready: nlp.summarizer");
        expect(providerOut).toContain("summarizing 115 characters");
      } finally {
        const exited = new Promise((resolve) => provider.once("exit", resolve));
        process.kill(provider.pid!, "SIGTERM");
        await exited;
      }
      expect(providerOut).toContain("[provider] stopped");
    }, 90_000);

    it("shared-plan.ts: 3 worker processes complete the plan, no task worked twice, in parallel", async () => {
      const { stdout } = await run(process.execPath, ["--import", "tsx", "examples/nats/shared-plan.ts"], { cwd: root, env: env("plan"), timeout: 60_000 });
      expect(stdout).toContain("dev.worker (3 instances, one per worker process)");
      expect(stdout).toContain("Plan complete: 100%");
      expect(stdout).toContain("Tasks worked twice: 0");
      expect(stdout).toContain("Worker processes that took part: 3");
      expect(stdout).toContain("Parallelism: yes");
      expect(stdout).toContain("Processes: 3 workers (exit 0, 0, 0), planner (exit 0)");
    }, 90_000);
  });
});
