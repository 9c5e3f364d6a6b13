import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach } from "vitest";
import { sqliteStore, type SqliteStore, type SqliteStoreOptions } from "../../../src/backends/sqlite/index.js";

/**
 * A temp directory for this test file, removed after it, and an opener whose stores are all
 * closed after each test.
 */
export function useStoreFiles(): { dir: string; file: (name?: string) => string; open: (path?: string, opts?: SqliteStoreOptions) => Promise<SqliteStore> } {
  const dir = mkdtempSync(join(tmpdir(), "covey-sqlite-"));
  let n = 0;
  const opened: SqliteStore[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name?: string): string => join(dir, name ?? `store-${n++}.db`);
  return {
    dir,
    file,
    open: async (path = file(), opts = {}) => {
      const store = await sqliteStore(path, opts);
      opened.push(store);
      return store;
    },
  };
}
