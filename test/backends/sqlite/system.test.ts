import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { sqliteStore } from "../../../src/backends/sqlite/index.js";
import { createSystem, defineAgent } from "../../../src/index.js";
import { useStoreFiles } from "./temp-dir.js";

const files = useStoreFiles();
const root = fileURLToPath(new URL("../../..", import.meta.url));

describe("sqliteStore as a system's store", () => {
  it("holds the system's namespaces, and a new system on the same file finds them", async () => {
    const path = files.file();
    const store = await sqliteStore(path);
    const system = createSystem({ store });
    const counter = defineAgent({
      name: "counter",
      input: z.object({ by: z.number() }),
      handler: async ({ by }, ctx) => (await ctx.kv.update<number>("count", (n) => (n ?? 0) + by)).value,
    });
    await system.addAgent(counter);
    await system.addAgent(counter);
    await Promise.all([1, 2, 3, 4].map((by) => system.call(counter, { by })));
    await system.state.set("agents", "counter#1", { notes: "private" });
    await system.shutdown();
    await store.close();

    const again = await files.open(path);
    const next = createSystem({ store: again });
    expect((await next.kv.get<number>("count"))!.value).toBe(10);
    expect(await next.state.get("agents", "counter#1")).toEqual({ notes: "private" });
    expect(await next.kv.keys()).toEqual(expect.arrayContaining(["count"]));
    // The namespaces stay apart in the file too.
    expect(await next.state.get("agents", "count")).toBeUndefined();
    await next.shutdown();
  });

  it("runs the textbook task flow on the durable store", async () => {
    const store = await files.open();
    const system = createSystem({ store });
    const agent = await system.addAgent("worker", ["analysis"]);
    const out = await agent.executeTask({ id: "t1", type: "analysis", payload: { n: 1 } });
    expect(out).toBeDefined();
    expect(await system.kv.get("task:t1:status")).toBeDefined();
    expect((await system.kv.get("task:t1:completed"))?.value).toBe(true);
    await system.shutdown();
  });
});

describe("covey/sqlite loading", () => {
  it("is not loaded by the main entry: importing covey loads neither SQLite driver", async () => {
    const script = [
      "import { createRequire } from 'node:module';",
      "await import('./src/index.ts');",
      "const req = createRequire(import.meta.url);",
      "const loaded = () => Object.keys(req.cache).some((k) => k.includes('better-sqlite3')) || process.moduleLoadList.some((m) => /sqlite/i.test(m));",
      "const before = loaded();",
      // The control: opening a store does load a driver, and the check sees it.
      "const { sqliteStore } = await import('./src/backends/sqlite/index.ts');",
      "await (await sqliteStore(':memory:')).close();",
      "console.log(JSON.stringify({ before, after: loaded() }));",
    ].join("\n");
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: root });
    expect(JSON.parse(stdout.trim().split("\n").pop()!)).toEqual({ before: false, after: true });
  });
});
