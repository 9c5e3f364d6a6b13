import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ClosedError, ValidationError, VersionConflictError } from "../../../src/errors.js";
import { sqliteStore, StorageError } from "../../../src/backends/sqlite/index.js";
import { databaseOf } from "../../../src/backends/sqlite/sqlite-store.js";
import type { StateChange } from "../../../src/state/types.js";
import { useStoreFiles } from "./temp-dir.js";

const files = useStoreFiles();

function nodeHasSqlite(): boolean {
  const [major, minor] = process.versions.node.split(".").map(Number) as [number, number];
  return major > 22 || (major === 22 && minor >= 13);
}

describe("sqliteStore driver", () => {
  it("uses node:sqlite where the running Node has it, better-sqlite3 otherwise", async () => {
    const store = await files.open();
    expect(store.driver).toBe(nodeHasSqlite() ? "node:sqlite" : "better-sqlite3");
  });

  it("runs the connection in WAL mode with synchronous = FULL, holding the file exclusively", async () => {
    const store = await files.open();
    const db = databaseOf(store)!;
    expect(Object.values(db.prepare("PRAGMA journal_mode").get()!)[0]).toBe("wal");
    expect(Object.values(db.prepare("PRAGMA synchronous").get()!)[0]).toBe(2); // FULL
    expect(Object.values(db.prepare("PRAGMA locking_mode").get()!)[0]).toBe("exclusive");
  });
});

describe("sqliteStore durability", () => {
  it("acknowledges a write only after the commit holding it", async () => {
    const store = await files.open();
    let acked = false;
    const p = store.set("k", 1).then((e) => {
      acked = true;
      return e;
    });
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(acked).toBe(false);
    expect(store.stats.commits).toBe(0);
    await p;
    expect(store.stats).toEqual({ commits: 1, changes: 1 });
  });

  it("lets concurrent writers share one commit, and commits each sequential write on its own", async () => {
    const store = await files.open();
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.set(`k${i}`, i)));
    expect(store.stats).toEqual({ commits: 1, changes: 50 });
    for (let i = 0; i < 5; i++) await store.update<number>("n", (n) => (n ?? 0) + 1);
    expect(store.stats).toEqual({ commits: 6, changes: 55 });
  });

  it("loses no increment in a storm of 1,000 concurrent updates on default retries, in one commit", async () => {
    // The recipe runs on the in-memory copy with nothing in between, as in the in-memory store:
    // concurrent updates in this process never conflict, and they share one fsync.
    const store = await files.open();
    const results = await Promise.all(Array.from({ length: 1000 }, () => store.update<number>("count", (d) => (d ?? 0) + 1)));
    expect((await store.get("count"))!.value).toBe(1000);
    expect(new Set(results.map((r) => r.version)).size).toBe(1000);
    expect(store.stats).toEqual({ commits: 1, changes: 1000 });
  });

  it("never hands out a value before it is durable: a read of a key in flight waits for its commit", async () => {
    const store = await files.open();
    await store.set("k", "old");
    const write = store.set("k", "new");
    const read = store.get<string>("k").then((e) => ({ value: e!.value, commits: store.stats.commits }));
    const keys = store.keys().then(() => store.stats.commits);
    expect(await read).toEqual({ value: "new", commits: 2 });
    expect(await keys).toBe(2);
    await write;
  });

  it("delivers a change to watchers only once it is durable", async () => {
    const store = await files.open();
    const seen: number[] = [];
    store.watch("*", () => seen.push(store.stats.commits));
    await Promise.all([store.set("a", 1), store.set("b", 2)]);
    await store.set("c", 3);
    expect(seen).toEqual([1, 1, 2]);
  });

  it("refuses a stale expectedVersion only once the version it reports is durable", async () => {
    const store = await files.open();
    const a = await store.set("k", 1);
    void store.set("k", 2);
    const err: unknown = await store.set("k", 3, { expectedVersion: a.version }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VersionConflictError);
    expect(store.stats.commits).toBe(2);
  });

  it("writes what is pending on close and acknowledges it", async () => {
    const path = files.file();
    const store = await sqliteStore(path);
    const pending = store.set("k", "last words");
    await store.close();
    expect((await pending).value).toBe("last words");
    const again = await files.open(path);
    expect((await again.get("k"))!.value).toBe("last words");
  });

  it("closes itself when a commit fails, rejects the writers with a StorageError, and loses nothing acknowledged", async () => {
    const path = files.file();
    const store = await sqliteStore(path);
    await store.set("kept", "small");
    const db = databaseOf(store)!;
    const pages = Object.values(db.prepare("PRAGMA page_count").get()!)[0] as number;
    db.exec(`PRAGMA max_page_count = ${pages}`);
    const err: unknown = await store.set("big", "x".repeat(200_000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(err).toBeInstanceOf(ClosedError);
    expect((err as StorageError).code).toBe("CLOSED");
    expect((err as StorageError).message).toMatch(/failed to commit/);
    expect((err as StorageError).cause).toBeDefined();
    await expect(store.get("kept")).rejects.toBeInstanceOf(StorageError);
    await expect(store.set("other", 1)).rejects.toBeInstanceOf(StorageError);
    await store.close();
    const again = await files.open(path);
    expect((await again.get("kept"))!.value).toBe("small");
    expect(await again.get("big")).toBeUndefined();
  });
});

describe("sqliteStore recovery", () => {
  it("reopens with every entry, its version, timestamp, author and checksum", async () => {
    const path = files.file();
    const first = await sqliteStore(path);
    const a = await first.set("plan", { steps: ["a", "b"], done: { a: true } }, { by: "planner" });
    await first.set("gone", 1);
    await first.delete("gone");
    await first.close();
    const store = await files.open(path);
    const e = await store.get("plan");
    expect(e!.value).toEqual({ steps: ["a", "b"], done: { a: true } });
    expect({ version: e!.version, timestamp: e!.timestamp, updatedBy: e!.updatedBy, checksum: e!.checksum }).toEqual({
      version: a.version,
      timestamp: a.timestamp,
      updatedBy: "planner",
      checksum: a.checksum,
    });
    expect(Object.isFrozen(e!.value)).toBe(true);
    expect(await store.keys()).toEqual(["plan"]);
  });

  it("continues the version sequence: no version is reused, even the deleted key's highest one", async () => {
    const path = files.file();
    const seen: number[] = [];
    for (let round = 0; round < 3; round++) {
      const store = await sqliteStore(path, { historyLimit: round === 1 ? 0 : 10 });
      seen.push((await store.set("k", round)).version, (await store.set(`tmp${round}`, round)).version);
      await store.delete(`tmp${round}`);
      await store.close();
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
  });

  it("keeps the last historyLimit changes across restarts, previous entries included", async () => {
    const path = files.file();
    const first = await sqliteStore(path, { historyLimit: 4 });
    for (let i = 0; i < 6; i++) await first.set(i % 2 === 0 ? "even" : "odd", i, { by: `w${i}` });
    await first.delete("odd");
    const before = await first.history();
    await first.close();
    const store = await files.open(path, { historyLimit: 4 });
    const after = await store.history();
    const shape = (cs: StateChange[]): unknown =>
      cs.map((c) => [c.type, c.key, c.entry?.value, c.entry?.version, c.entry?.updatedBy, c.previous?.value, c.previous?.version]);
    expect(shape(after)).toEqual(shape(before));
    expect(after.map((c) => c.entry?.value ?? "delete")).toEqual([3, 4, 5, "delete"]);
    expect(after[3]!.previous!.value).toBe(5);
    expect((await store.history({ key: "even" })).map((c) => c.entry!.value)).toEqual([4]);
  });

  it("lets a watcher resume from the last version it saw, without gaps or repeats, after a restart", async () => {
    const path = files.file();
    const first = await sqliteStore(path);
    const seen: string[] = [];
    let lastVersion = 0;
    first.watch("task:*", (c) => {
      seen.push(`${c.type}:${c.key}`);
      if (c.entry !== undefined) lastVersion = c.entry.version;
    });
    await first.set("task:1", "a");
    await first.set("task:2", "b");
    await first.close();
    // Written while the watcher was gone.
    const second = await sqliteStore(path);
    await second.set("task:1", "c");
    await second.set("other", 1);
    await second.delete("task:2");
    await second.close();

    const store = await files.open(path);
    const resumed: string[] = [];
    let ready = false;
    store.watch("task:*", (c) => resumed.push(`${c.type}:${c.key}:${String(c.entry?.value)}`), {
      fromVersion: lastVersion,
      onReady: () => (ready = true),
    });
    await store.set("task:3", "d");
    expect(ready).toBe(true);
    expect(seen).toEqual(["set:task:1", "set:task:2"]);
    expect(resumed).toEqual(["set:task:1:c", "delete:task:2:undefined", "set:task:3:d"]);
  });

  it("starts a watcher with includeCurrent from the durable values only", async () => {
    const store = await files.open();
    await store.set("a", 1);
    await store.set("b", 2);
    const write = store.set("a", 10);
    const del = store.delete("b");
    const seen: string[] = [];
    store.watch("*", (c) => seen.push(`${c.type}:${c.key}:${String(c.entry?.value ?? c.previous?.value)}`), { includeCurrent: true });
    await Promise.all([write, del]);
    expect(seen).toEqual(["set:a:1", "set:b:2", "set:a:10", "delete:b:2"]);
  });

  it("round-trips hostile keys, names and values exactly", async () => {
    const path = files.file();
    const keys = ["__proto__", "constructor", "a\u0000b", "\uD800lone", "emoji 🚀", "'; DROP TABLE covey_entries; --", "k".repeat(5000)];
    const value = JSON.parse('{"__proto__":{"x":1},"s":"\\ud800","nul":"a\\u0000b","n":-0.5,"big":1e300,"nested":[[[]]]}') as unknown;
    const first = await sqliteStore(path);
    for (const k of keys) await first.set(k, value, { by: "\uDC00by" });
    await first.close();
    const store = await files.open(path);
    expect(await store.keys()).toEqual([...keys].sort());
    for (const k of keys) {
      const e = await store.get<Record<string, unknown>>(k);
      expect(e!.key).toBe(k);
      expect(e!.updatedBy).toBe("\uDC00by");
      expect(JSON.stringify(e!.value)).toBe(JSON.stringify(value));
      expect(Object.getPrototypeOf(e!.value)).toBe(Object.prototype);
      expect(Object.hasOwn(e!.value, "__proto__")).toBe(true);
    }
    expect(({} as Record<string, unknown>)["x"]).toBeUndefined();
  });
});

describe("sqliteStore lifecycle", () => {
  it("refuses a second store on a file that is open, and opens it once the first is closed", async () => {
    const path = files.file();
    const first = await sqliteStore(path);
    await first.set("k", 1);
    const err: unknown = await sqliteStore(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).message).toMatch(/in use/);
    await first.close();
    const second = await files.open(path);
    expect((await second.get("k"))!.value).toBe(1);
  });

  it("rejects every operation after close with ClosedError; close is idempotent", async () => {
    const store = await sqliteStore(files.file());
    await store.set("k", 1);
    await store.close();
    await store.close();
    await expect(store.get("k")).rejects.toBeInstanceOf(ClosedError);
    await expect(store.set("k", 2)).rejects.toBeInstanceOf(ClosedError);
    await expect(store.update<number>("k", (n) => n! + 1)).rejects.toBeInstanceOf(ClosedError);
    await expect(store.keys()).rejects.toBeInstanceOf(ClosedError);
    expect(() => store.watch("*", () => undefined)).toThrow(ClosedError);
  });

  it("refuses bad paths and options with a ValidationError", async () => {
    await expect(sqliteStore("")).rejects.toBeInstanceOf(ValidationError);
    await expect(sqliteStore(7 as unknown as string)).rejects.toBeInstanceOf(ValidationError);
    await expect(sqliteStore(files.file(), { historyLimit: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(sqliteStore(files.file(), { maxValueBytes: 0 })).rejects.toBeInstanceOf(ValidationError);
    await expect(sqliteStore(files.file(), { driver: "sqlite4" as "node:sqlite" })).rejects.toBeInstanceOf(ValidationError);
  });

  it("reports a file it cannot use with a StorageError naming it", async () => {
    const missingDir = join(files.dir, "no-such-dir", "x.db");
    const e1: unknown = await sqliteStore(missingDir).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(StorageError);
    expect((e1 as StorageError).path).toBe(missingDir);
    const notDb = files.file("not-a-db.db");
    writeFileSync(notDb, "this is not a database, just text that is long enough to look like a header ".repeat(20));
    await expect(sqliteStore(notDb)).rejects.toBeInstanceOf(StorageError);
  });
});
