import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("MultiAgentSystem#shutdown in a real process", () => {
  it("lets a process with pending waits exit by itself within a second", () => {
    // The child starts calls, lock waits, stream receives and a barrier wait that would each
    // take minutes, then shuts down without awaiting them; it must exit on its own.
    const script = `
      import { createSystem, defineAgent, sleep } from "./src/index.ts";
      const system = createSystem();
      await system.addAgent(defineAgent({ name: "slow", handler: (_, ctx) => sleep(ctx.clock, 600_000, { signal: ctx.signal }) }));
      const pending = [
        system.call("slow", {}, { timeout: 600_000 }),
        system.sync.getLock("l").acquire("a").then(() => system.sync.getLock("l").acquire("b", { timeout: 600_000 })),
        system.communication.streaming.receive("s", { timeout: 600_000 }),
        system.sync.getBarrier("b", 3).wait("x", { timeout: 600_000 }),
      ].map((p) => p.catch((e) => e?.code));
      await new Promise((r) => setTimeout(r, 20));
      const started = Date.now();
      await system.shutdown();
      const codes = await Promise.all(pending);
      console.log(JSON.stringify(codes));
      process.on("exit", () => console.log("exited after " + (Date.now() - started) + " ms"));
    `;
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: root,
      encoding: "utf8",
      timeout: 15_000,
    });
    expect(child.stderr).toBe("");
    expect(child.status).toBe(0);
    const lines = child.stdout.trim().split("\n");
    // A blocked receiver on a closed stream gets undefined (closed and drained); the rest ClosedError.
    expect(JSON.parse(lines[0]!)).toEqual(["CLOSED", "CLOSED", null, "CLOSED"]);
    const exited = /^exited after (\d+) ms$/.exec(lines.at(-1)!);
    expect(exited).not.toBeNull();
    expect(Number(exited![1])).toBeLessThan(1000);
  });
});
