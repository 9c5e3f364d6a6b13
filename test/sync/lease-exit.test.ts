import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("Lock leases in a real process", () => {
  it("a forgotten lease never keeps the process alive", () => {
    // The child takes leased locks of ten minutes (standalone, from a manager, and inside a
    // withLock with autoRenew whose function returns) and forgets them; it must exit at once.
    const script = `
      import { Lock, SynchronizationManager } from "./src/index.ts";
      const sync = new SynchronizationManager();
      await sync.getLock("task:1").acquire("a", { ttl: 600_000 });
      await new Lock("plan").acquire("a", { ttl: 600_000 });
      const pending = new Lock("renewed").withLock("a", () => new Promise(() => {}), { ttl: 600_000, autoRenew: true });
      void pending;
      const started = Date.now();
      console.log(JSON.stringify(sync.snapshot().locks.map((l) => l.leaseRemaining)));
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
    const [remaining] = JSON.parse(lines[0]!) as number[];
    expect(remaining).toBeGreaterThan(590_000);
    const exited = /^exited after (\d+) ms$/.exec(lines.at(-1)!);
    expect(exited).not.toBeNull();
    expect(Number(exited![1])).toBeLessThan(1000);
  });
});
