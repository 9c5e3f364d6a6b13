import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InMemoryStateStore, type StateChange } from "../../src/state/index.js";
import { fcRuntime, report, runs } from "./fc-runtime.js";
import { clientsArb, recordHistory } from "./history.js";

const KEYS = ["task:1", "task:2", "x"];
const FILTERS = ["*", "task:*", "task:1", "x", "audit"];

const matches = (filter: string, key: string): boolean =>
  filter.endsWith("*") ? key.startsWith(filter.slice(0, -1)) : key === filter;

const summary = (c: StateChange): string => `${c.type} ${c.key} v${c.entry?.version ?? "-"} prev v${c.previous?.version ?? "-"}`;

describe("InMemoryStateStore#watch (random interleavings)", () => {
  it("every watcher's log equals the commit log: no gap, no duplicate, order kept", async () => {
    let histories = 0;
    let changes = 0;
    let deliveries = 0;
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), clientsArb(KEYS, 4, 8), async (s, clients) => {
        const fr = fcRuntime(s);
        const store = new InMemoryStateStore({ runtime: fr.runtime, historyLimit: 100_000 });
        const logs = new Map<string, StateChange[]>(FILTERS.map((f) => [f, []]));
        for (const f of FILTERS) store.watch(f, (c) => logs.get(f)!.push(c));
        // A listener that writes: its change must reach every watcher after the one it reacts to.
        const reactions: Promise<unknown>[] = [];
        store.watch("task:1", (c) => {
          if (c.type === "set") reactions.push(store.set("audit", { saw: c.entry!.version }));
        });

        const history = await recordHistory(s, store, clients);
        await s.waitFor(Promise.all(reactions));
        await s.waitAll();

        const commits = await store.history();
        // The commit log is the writes that succeeded, each once.
        const writes = history.filter((o) => (o.output.kind === "entry" && o.input.kind !== "get") || (o.output.kind === "bool" && o.output.ok));
        expect(commits.length).toBe(writes.length + reactions.length);
        const perKey = new Map<string, number>();
        for (const c of commits) {
          const v = c.entry?.version;
          if (v !== undefined) {
            expect(v).toBeGreaterThan(perKey.get(c.key) ?? 0);
            perKey.set(c.key, v);
          }
        }
        for (const f of FILTERS) {
          expect(logs.get(f)!.map(summary), `watcher ${f}`).toEqual(commits.filter((c) => matches(f, c.key)).map(summary));
          deliveries += logs.get(f)!.length;
        }
        expect(fr.errors).toEqual([]);
        histories++;
        changes += commits.length;
      }),
      { numRuns: runs(200, 3000) },
    );
    await report("watch", { histories, changes, deliveries, gaps: 0, duplicates: 0, reordered: 0 });
  });
});
