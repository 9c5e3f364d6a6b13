import { describe, expect, it } from "vitest";
import { VersionConflictError } from "../../../src/errors.js";
import type { SqliteStore } from "../../../src/backends/sqlite/index.js";
import { databaseOf } from "../../../src/backends/sqlite/sqlite-store.js";
import type { StateEntry } from "../../../src/state/types.js";
import { useStoreFiles } from "./temp-dir.js";

const files = useStoreFiles();

/** A small seeded generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * What the file holds right now, read on the store's own connection. A transaction is opened
 * and committed within one synchronous call, so whenever a test callback runs, this is exactly
 * what is committed: what a SIGKILL at that moment would leave.
 */
function fileOracle(store: SqliteStore): {
  version: (v: number) => { key: string; value: unknown } | undefined;
  deletes: (key: string) => number;
  hasSet: (key: string) => boolean;
} {
  const db = databaseOf(store)!;
  const bySeq = db.prepare("SELECT key, value FROM covey_changes WHERE seq = ?");
  const deletes = db.prepare("SELECT COUNT(*) AS n FROM covey_changes WHERE key = ? AND value IS NULL");
  const sets = db.prepare("SELECT COUNT(*) AS n FROM covey_changes WHERE key = ? AND value IS NOT NULL");
  return {
    version: (v) => {
      const row = bySeq.get(v);
      if (row === undefined || row["value"] === null) return undefined;
      return { key: JSON.parse(row["key"] as string) as string, value: JSON.parse(row["value"] as string) as unknown };
    },
    deletes: (key) => Number(deletes.get(JSON.stringify(key))!["n"]),
    hasSet: (key) => Number(sets.get(JSON.stringify(key))!["n"]) > 0,
  };
}

/**
 * Every path that answers a caller, against the file: each version, value, conflict or
 * existence an operation hands out must already be committed when the caller sees it (else a
 * crash right after the answer would take back what the caller was told). Rounds of concurrent
 * operations of every kind on three keys, so that answers often concern a key whose change is
 * still waiting in the open batch: no-op updates, failed compareAndSwap, refused
 * expectedVersion, deletes of absent keys, reads, keys(), history() and watchers.
 */
describe("sqliteStore answers only with what is committed", () => {
  it("hands out no version, value, conflict or deletion that the file does not hold yet", async () => {
    const store = await files.open(undefined, { historyLimit: 1_000_000 });
    const file = fileOracle(store);
    const rand = random(13);
    const keys = ["a", "b", "c"];
    let n = 0;
    const problems: string[] = [];
    const checked = { versions: 0, deletes: 0, conflicts: 0 };
    const durable = (what: string, e: StateEntry | undefined): void => {
      if (e === undefined) return;
      checked.versions++;
      const row = file.version(e.version);
      if (row === undefined || row.key !== e.key || JSON.stringify(row.value) !== JSON.stringify(e.value)) {
        problems.push(`${what} answered ${e.key} v${e.version} before it was committed`);
      }
    };
    store.watch("*", (c) => durable("watch", c.entry));

    for (let round = 0; round < 150; round++) {
      const ops: Promise<unknown>[] = [];
      const deleting = new Set<string>();
      if (round % 10 === 0) store.watch("*", (c) => durable("watch includeCurrent", c.entry), { includeCurrent: true })();
      for (let j = 0; j < 8; j++) {
        const key = keys[Math.floor(rand() * keys.length)]!;
        const kind = Math.floor(rand() * 10);
        const value = { n: n++ };
        if (kind === 0) ops.push(store.set(key, value).then((e) => durable("set", e)));
        else if (kind === 1) ops.push(store.update<{ n: number }>(key, () => value).then((e) => durable("update", e)));
        else if (kind === 2) ops.push(store.update<{ n: number }>(key, (d) => d ?? value).then((e) => durable("no-op update", e)));
        else if (kind === 3) ops.push(store.get(key).then((e) => durable("get", e)));
        else if (kind === 4) {
          const stale = Math.floor(rand() * 3) === 0 ? 0 : n;
          const conflict = (err: unknown): void => {
            if (!(err instanceof VersionConflictError)) throw err;
            checked.conflicts++;
            const actual = err.actualVersion;
            if (actual !== 0 && file.version(actual)?.key !== key) problems.push(`conflict reported ${key} v${actual} before it was committed`);
          };
          ops.push(store.set(key, value, { expectedVersion: stale }).then((e) => durable("set expectedVersion", e), conflict));
        } else if (kind === 5) {
          const swapped = { n: n++ };
          ops.push(
            store.compareAndSwap(key, value, swapped).then(async (ok) => {
              if (ok) problems.push("compareAndSwap swapped a value no one wrote");
              const e = await store.get(key);
              durable("get after failed compareAndSwap", e);
            }),
          );
        } else if (kind === 6 && !deleting.has(key)) {
          deleting.add(key);
          const before = file.deletes(key);
          ops.push(
            store.delete(key).then((existed) => {
              checked.deletes++;
              if (existed && file.deletes(key) <= before) problems.push(`delete of ${key} answered before it was committed`);
            }),
          );
        } else if (kind === 7) {
          ops.push(
            store.keys().then((ks) => {
              for (const k of ks) if (!file.hasSet(k)) problems.push(`keys() listed ${k} before it was committed`);
            }),
          );
        } else if (kind === 8) {
          ops.push(store.history({ limit: 5 }).then((hs) => hs.forEach((c) => durable("history", c.entry))));
        } else {
          ops.push(store.update<number>("counter", (d) => (d ?? 0) + 1).then((e) => durable("increment", e)));
        }
      }
      await Promise.all(ops);
    }
    expect(problems).toEqual([]);
    expect(checked.versions).toBeGreaterThan(500);
    expect(checked.conflicts).toBeGreaterThan(20);
    expect(checked.deletes).toBeGreaterThan(20);
  });
});
