import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createSystem, defineAgent, inProcessBackend } from "../../src/index.js";

const src = fileURLToPath(new URL("../../src", import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
  });
}

describe("inProcessBackend", () => {
  it("is the default: the same calls, state and deterministic ids as a system without a backend", async () => {
    const run = async (withBackend: boolean): Promise<unknown[]> => {
      const system = createSystem(withBackend ? { backend: inProcessBackend() } : {});
      const ids: string[] = [];
      system.events.eventBus.subscribe("*", (e) => void ids.push(e.id));
      await system.addAgent(defineAgent({ name: "echo", handler: (x: unknown) => x }));
      const reply = await system.call("echo", { a: 1 });
      const entry = await system.kv.set("k", 1);
      const catalog = system.catalog();
      await system.shutdown();
      return [reply, entry.version, catalog, ids];
    };
    const plain = await run(false);
    expect(await run(true)).toEqual(plain);
    expect((plain[3] as string[])[0]).toMatch(/^[a-z_]+-\d+$/);
  });
});

/** Every source file `entry` reaches through static relative imports (type-only ones excluded). */
function reachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/^(?:import|export)(?!\s+type\b)[^"']*?from\s+"(\.[^"]+)"/gm)) {
      visit(join(dirname(file), m[1]!.replace(/\.js$/, ".ts")));
    }
  };
  visit(entry);
  return seen;
}

describe("optional NATS dependencies", () => {
  it("are imported only inside src/backends/nats, and the main entry reaches none of it", () => {
    const importers = files(src)
      .filter((f) => /from "@nats-io\//.test(readFileSync(f, "utf8")))
      .map((f) => relative(src, f).replaceAll("\\", "/"));
    expect(importers.length).toBeGreaterThan(0);
    for (const f of importers) expect(f.startsWith("backends/nats/")).toBe(true);
    const fromMain = [...reachable(join(src, "index.ts"))].map((f) => relative(src, f).replaceAll("\\", "/"));
    expect(fromMain.length).toBeGreaterThan(20);
    expect(fromMain.filter((f) => f.startsWith("backends/nats/"))).toEqual([]);
  });
});
