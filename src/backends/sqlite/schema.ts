import { StoredEntry } from "../../state/entry.js";
import { toStoredValue } from "../../state/json-value.js";
import type { SqlDatabase, SqlRow, SqlStatement, SqlValue } from "./driver.js";
import { StorageError } from "./storage-error.js";

/** The on-disk format this code writes; a file of a newer format is refused. */
const SCHEMA_VERSION = 1;

// Keys and names are stored as their JSON text: a JavaScript string may hold a lone surrogate,
// which SQLite's UTF-8 TEXT would silently replace; JSON text escapes it and reads back exact.
const TABLES = `
CREATE TABLE IF NOT EXISTS covey_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS covey_entries (
  key TEXT PRIMARY KEY, value TEXT NOT NULL, version INTEGER NOT NULL,
  timestamp REAL NOT NULL, updated_by TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS covey_changes (
  seq INTEGER PRIMARY KEY, key TEXT NOT NULL,
  value TEXT, timestamp REAL, updated_by TEXT,
  prev_value TEXT, prev_version INTEGER, prev_timestamp REAL, prev_updated_by TEXT
);`;

/** One committed change waiting to be written: a set (`entry`) or a delete. @internal */
export interface ChangeRecord {
  /** Position in the store-wide sequence; the new entry's version for a set. */
  readonly seq: number;
  readonly key: string;
  readonly entry: StoredEntry | undefined;
  readonly previous: StoredEntry | undefined;
}

/** A retained change with its position in the sequence. @internal */
export interface LoggedChange {
  readonly seq: number;
  readonly entry: StoredEntry | undefined;
  readonly previous: StoredEntry | undefined;
}

/** What a file holds when it is opened. @internal */
export interface LoadedState {
  readonly entries: Map<string, StoredEntry>;
  /** The highest sequence number ever issued in this file. */
  readonly seq: number;
  /** The retained changes, oldest first. */
  readonly changes: LoggedChange[];
}

function text(row: SqlRow, column: string): string {
  const v = row[column];
  if (typeof v !== "string") throw new Error(`column ${column} is not text`);
  return v;
}

function num(row: SqlRow, column: string): number {
  const v = row[column];
  if (typeof v !== "number") throw new Error(`column ${column} is not a number`);
  return v;
}

function entryOf(key: string, valueJson: string, version: number, timestamp: number, byJson: string): StoredEntry {
  const value = toStoredValue(JSON.parse(valueJson) as unknown, Number.POSITIVE_INFINITY, key);
  return new StoredEntry(key, value, version, timestamp, JSON.parse(byJson) as string);
}

/**
 * Sets the connection up for the durability rule and takes the file for this process:
 * exclusive locking (a second process opening the file is refused at once instead of writing
 * behind this store's in-memory copy), WAL journal, and `synchronous = FULL`, so that a
 * committed transaction is on disk (the WAL is fsynced at every commit) before it is
 * acknowledged. Creates the tables on a new file.
 * @throws StorageError when the file is in use, not a database, or of a newer format
 * @internal
 */
export function prepareFile(db: SqlDatabase, path: string): void {
  try {
    // A file held by another store is refused at once rather than after a wait.
    db.exec("PRAGMA busy_timeout = 0");
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    const mode = db.prepare("PRAGMA journal_mode = WAL").get();
    const journal = mode === undefined ? undefined : Object.values(mode)[0];
    if (journal !== "wal" && path !== ":memory:" && path !== "") {
      throw new Error(`journal_mode WAL was refused (got ${String(journal)})`);
    }
    db.exec("PRAGMA synchronous = FULL");
    // Writing at once takes the exclusive lock now, so a second opener fails here, not later.
    db.exec("BEGIN IMMEDIATE");
    try {
      const row = db.prepare("PRAGMA user_version").get();
      const version = row === undefined ? 0 : Number(Object.values(row)[0]);
      if (version > SCHEMA_VERSION) {
        throw new StorageError(path, `was written by a newer covey (format ${version}; this one reads ${SCHEMA_VERSION})`);
      }
      db.exec(TABLES);
      if (version < SCHEMA_VERSION) db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      db.exec("COMMIT");
    } catch (err) {
      db.exec("ROLLBACK");
      throw err;
    }
  } catch (err) {
    if (err instanceof StorageError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    const reason = /locked|busy/i.test(message) ? "is in use by another process (or another store in this one)" : `cannot be used: ${message}`;
    throw new StorageError(path, reason, err);
  }
}

/**
 * Reads the entries, the sequence and the last `historyLimit` changes of a prepared file.
 * @internal
 */
export function loadState(db: SqlDatabase, historyLimit: number): LoadedState {
  const entries = new Map<string, StoredEntry>();
  let seq = 0;
  for (const row of db.prepare("SELECT key, value, version, timestamp, updated_by FROM covey_entries").all()) {
    const key = JSON.parse(text(row, "key")) as string;
    const entry = entryOf(key, text(row, "value"), num(row, "version"), num(row, "timestamp"), text(row, "updated_by"));
    entries.set(key, entry);
    if (entry.version > seq) seq = entry.version;
  }
  const meta = db.prepare("SELECT value FROM covey_meta WHERE name = 'seq'").get();
  if (meta !== undefined) seq = Math.max(seq, num(meta, "value"));
  const top = db.prepare("SELECT MAX(seq) AS top FROM covey_changes").get();
  if (top !== undefined && typeof top["top"] === "number") seq = Math.max(seq, top["top"]);

  const rows =
    historyLimit === 0
      ? []
      : db
          .prepare(
            "SELECT seq, key, value, timestamp, updated_by, prev_value, prev_version, prev_timestamp, prev_updated_by " +
              "FROM covey_changes ORDER BY seq DESC LIMIT ?",
          )
          .all(historyLimit)
          .reverse();
  const changes: LoggedChange[] = [];
  for (const row of rows) {
    const s = num(row, "seq");
    const key = JSON.parse(text(row, "key")) as string;
    const current = entries.get(key);
    let entry: StoredEntry | undefined;
    if (row["value"] !== null) {
      // The key's current entry is shared with the map rather than held twice.
      entry = current?.version === s ? current : entryOf(key, text(row, "value"), s, num(row, "timestamp"), text(row, "updated_by"));
    }
    const previous =
      row["prev_value"] === null
        ? undefined
        : entryOf(key, text(row, "prev_value"), num(row, "prev_version"), num(row, "prev_timestamp"), text(row, "prev_updated_by"));
    changes.push({ seq: s, entry, previous });
  }
  return { entries, seq, changes };
}

/**
 * The prepared statements one commit runs, and the commit itself.
 * @internal
 */
export class Writer {
  readonly #db: SqlDatabase;
  readonly #historyLimit: number;
  readonly #upsert: SqlStatement;
  readonly #remove: SqlStatement;
  readonly #log: SqlStatement;
  readonly #trim: SqlStatement;
  readonly #seq: SqlStatement;

  constructor(db: SqlDatabase, historyLimit: number) {
    this.#db = db;
    this.#historyLimit = historyLimit;
    this.#upsert = db.prepare(
      "INSERT INTO covey_entries (key, value, version, timestamp, updated_by) VALUES (?, ?, ?, ?, ?) " +
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value, version = excluded.version, " +
        "timestamp = excluded.timestamp, updated_by = excluded.updated_by",
    );
    this.#remove = db.prepare("DELETE FROM covey_entries WHERE key = ?");
    this.#log = db.prepare(
      "INSERT INTO covey_changes (seq, key, value, timestamp, updated_by, prev_value, prev_version, prev_timestamp, prev_updated_by) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.#trim = db.prepare("DELETE FROM covey_changes WHERE seq <= ?");
    this.#seq = db.prepare("INSERT INTO covey_meta (name, value) VALUES ('seq', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value");
  }

  /**
   * Writes `records` (in sequence order) in one transaction and commits it: when this returns,
   * they are durable. On failure the transaction is rolled back and the error rethrown.
   */
  commit(records: readonly ChangeRecord[]): void {
    const db = this.#db;
    db.exec("BEGIN IMMEDIATE");
    try {
      let last = 0;
      for (const r of records) {
        const key = JSON.stringify(r.key);
        const e = r.entry;
        const p = r.previous;
        let value: SqlValue = null;
        let by: SqlValue = null;
        if (e !== undefined) {
          value = JSON.stringify(e.value);
          by = JSON.stringify(e.updatedBy);
          this.#upsert.run(key, value, e.version, e.timestamp, by);
        } else {
          this.#remove.run(key);
        }
        if (this.#historyLimit > 0) {
          this.#log.run(
            r.seq,
            key,
            value,
            e === undefined ? null : e.timestamp,
            by,
            p === undefined ? null : JSON.stringify(p.value),
            p === undefined ? null : p.version,
            p === undefined ? null : p.timestamp,
            p === undefined ? null : JSON.stringify(p.updatedBy),
          );
        }
        last = r.seq;
      }
      if (this.#historyLimit > 0) {
        // The newest change row always survives the trim, so it carries the sequence.
        this.#trim.run(last - this.#historyLimit);
      } else {
        this.#trim.run(last);
        this.#seq.run(last);
      }
      db.exec("COMMIT");
    } catch (err) {
      try {
        db.exec("ROLLBACK");
      } catch {
        // The failed statement may already have ended the transaction.
      }
      throw err;
    }
  }
}
