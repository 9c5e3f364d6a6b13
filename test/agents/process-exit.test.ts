import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Runs `script` as an ES module in a child process from the repository root. */
function run(script: string, timeout = 20_000): { status: number | null; stdout: string; stderr: string; ms: number } {
  const started = Date.now();
  const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: root,
    encoding: "utf8",
    timeout,
  });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr, ms: Date.now() - started };
}

describe("process lifetime with pending deadlines", () => {
  it("a deadlock (A calls B calls A) ends in TimeoutError, with catch and finally run, not a silent exit", () => {
    const script = `
      import { createSystem, defineAgent } from "./src/index.ts";
      const system = createSystem();
      // a (concurrency 1) waits for b, which waits for a: a deadlock that only the deadline ends.
      await system.addAgent(defineAgent({ name: "a", handler: (n, ctx) => n === 0 ? ctx.call("b", 1) : "a" }));
      await system.addAgent(defineAgent({ name: "b", handler: (_, ctx) => ctx.call("a", 1) }));
      try {
        await system.call("a", 0, { timeout: 300 });
        console.log("resolved");
      } catch (error) {
        console.log("caught " + error.code);
      } finally {
        console.log("finally");
        await system.shutdown();
      }
    `;
    const child = run(script);
    expect(child.stderr).toBe("");
    expect(child.status).toBe(0);
    expect(child.stdout.trim().split("\n")).toEqual(["caught TIMEOUT", "finally"]);
  });

  it("a forgotten lease does not keep the process alive", () => {
    const script = `
      import { createSystem } from "./src/index.ts";
      const system = createSystem();
      await system.sync.getLock("forgotten").acquire("me", { ttl: 600_000 });
      globalThis.started = Date.now();
      process.on("exit", () => console.log("exited after " + (Date.now() - globalThis.started) + " ms"));
    `;
    const child = run(script);
    expect(child.stderr).toBe("");
    expect(child.status).toBe(0);
    const exited = /^exited after (\d+) ms$/.exec(child.stdout.trim());
    expect(exited).not.toBeNull();
    expect(Number(exited![1])).toBeLessThan(1000);
  });

  it("a state history and an idle system keep nothing alive after a call", () => {
    const script = `
      import { createSystem, defineAgent } from "./src/index.ts";
      const system = createSystem();
      await system.addAgent(defineAgent({ name: "echo", handler: async (x) => x }));
      await system.call("echo", 1);
      await system.kv.set("k", 1);
      globalThis.started = Date.now();
      process.on("exit", () => console.log("exited after " + (Date.now() - globalThis.started) + " ms"));
    `;
    const child = run(script);
    expect(child.stderr).toBe("");
    const exited = /^exited after (\d+) ms$/.exec(child.stdout.trim());
    expect(exited).not.toBeNull();
    expect(Number(exited![1])).toBeLessThan(1000);
  });

  it("a deadline of Number.MAX_SAFE_INTEGER works with no overflow warning and no busy re-arming", () => {
    const script = `
      // Count the wall-clock timers armed: re-arming every millisecond would arm ~500 in 500 ms.
      let armed = 0;
      const realSetTimeout = globalThis.setTimeout;
      globalThis.setTimeout = (...args) => { armed++; return realSetTimeout(...args); };
      const { createSystem, sleep, systemClock } = await import("./src/index.ts");
      const system = createSystem();
      system.communication.requestReply.registerHandler("never", () => new Promise(() => {}));
      const controller = new AbortController();
      const pending = [
        system.communication.requestReply.request("me", "never", {}, { timeout: Number.MAX_SAFE_INTEGER, signal: controller.signal }),
        system.communication.streaming.receive("s", { timeout: Number.MAX_SAFE_INTEGER, signal: controller.signal }),
        sleep(systemClock, Number.MAX_SAFE_INTEGER, { signal: controller.signal }),
      ].map((p) => p.catch((e) => e.message));
      await new Promise((r) => realSetTimeout(r, 100)); // let the deadlines arm
      const armedBefore = armed;
      await new Promise((r) => realSetTimeout(r, 500));
      const rearmed = armed - armedBefore;
      controller.abort(new Error("done"));
      console.log(JSON.stringify(await Promise.all(pending)));
      console.log("rearmed " + rearmed);
      await system.shutdown();
    `;
    const child = run(script);
    expect(child.stderr).not.toContain("TimeoutOverflowWarning");
    expect(child.stderr).toBe("");
    expect(child.status).toBe(0);
    const [results, rearmed] = child.stdout.trim().split("\n");
    expect(JSON.parse(results!)).toEqual(["done", "done", "done"]);
    // Re-arming every millisecond armed a timer per ms (and cost ~80 ms of CPU per 500 ms); a
    // deadline beyond 2^31-1 ms arms in steps of that size, so none is armed in 500 ms.
    expect(Number(/^rearmed (\d+)$/.exec(rearmed!)![1])).toBe(0);
  });
});
