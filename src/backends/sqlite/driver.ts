import { StorageError } from "./storage-error.js";

/** A value SQLite takes as a statement parameter and gives back in a row. @internal */
export type SqlValue = string | number | null;

/** A row as both drivers return it: column name to value. @internal */
export type SqlRow = Record<string, SqlValue>;

/** A prepared statement: the part of the API both drivers share. @internal */
export interface SqlStatement {
  run(...params: SqlValue[]): unknown;
  get(...params: SqlValue[]): SqlRow | undefined;
  all(...params: SqlValue[]): SqlRow[];
}

/** Which SQLite binding runs the store. */
export type SqliteDriverName = "node:sqlite" | "better-sqlite3";

/**
 * One open database connection, the common subset of `node:sqlite`'s `DatabaseSync` and
 * `better-sqlite3`'s `Database` (both synchronous, both with `exec`, `prepare`, `close`).
 * @internal
 */
export interface SqlDatabase {
  readonly driver: SqliteDriverName;
  exec(sql: string): void;
  prepare(sql: string): SqlStatement;
  close(): void;
}

interface RawDatabase {
  exec(sql: string): unknown;
  prepare(sql: string): SqlStatement;
  close(): unknown;
}

type DatabaseConstructor = new (path: string) => RawDatabase;

// The specifiers are held in variables so that bundlers and the type checker leave them alone:
// neither module is a dependency of covey, and neither is loaded before a store is opened.
const NODE_SQLITE = "node:sqlite";
const BETTER_SQLITE3 = "better-sqlite3";

async function loadNodeSqlite(): Promise<DatabaseConstructor> {
  const mod = (await import(NODE_SQLITE)) as { DatabaseSync: DatabaseConstructor };
  return mod.DatabaseSync;
}

async function loadBetterSqlite3(): Promise<DatabaseConstructor> {
  const mod = (await import(BETTER_SQLITE3)) as { default: DatabaseConstructor };
  return mod.default;
}

async function load(name: SqliteDriverName): Promise<DatabaseConstructor> {
  return name === "node:sqlite" ? loadNodeSqlite() : loadBetterSqlite3();
}

/**
 * Opens `path` with the given driver, or with `node:sqlite` when the running Node has it
 * (22.13 and later, or 22.5 with `--experimental-sqlite`) and `better-sqlite3` otherwise.
 *
 * Why this order: a native addon such as better-sqlite3 is compiled for one Node ABI, so one
 * install serves one Node major; `node:sqlite` ships with Node and needs no install at all.
 * @throws StorageError when no driver can be loaded or the file cannot be opened
 * @internal
 */
export async function openDatabase(path: string, driver?: SqliteDriverName): Promise<SqlDatabase> {
  const order: SqliteDriverName[] = driver !== undefined ? [driver] : ["node:sqlite", "better-sqlite3"];
  const failures: string[] = [];
  let lastError: unknown;
  for (const name of order) {
    let ctor: DatabaseConstructor;
    try {
      ctor = await load(name);
    } catch (err) {
      lastError = err;
      failures.push(`${name}: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
      continue;
    }
    let db: RawDatabase;
    try {
      db = new ctor(path);
    } catch (err) {
      throw new StorageError(path, `cannot be opened with ${name}`, err);
    }
    return {
      driver: name,
      exec: (sql) => void db.exec(sql),
      prepare: (sql) => db.prepare(sql),
      close: () => void db.close(),
    };
  }
  throw new StorageError(
    path,
    "cannot be opened: no SQLite driver loads in this Node " +
      `(${process.version}). Use Node >= 22.13 (built-in node:sqlite) or install better-sqlite3 ` +
      `built for this Node (npm install better-sqlite3). Tried ${failures.join("; ")}`,
    lastError,
  );
}
