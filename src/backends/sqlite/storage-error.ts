import { ClosedError } from "../../errors.js";

/**
 * The SQLite store cannot serve: its file could not be opened (missing directory, not a
 * database, in use by another process), no SQLite driver loads, or a commit failed (disk full,
 * I/O error). A failed commit closes the store, since what it holds in memory is no longer
 * known to match the file: every pending and later operation rejects with this error, and
 * reopening the file recovers every write that was acknowledged.
 *
 * A {@link ClosedError} (code `"CLOSED"`), so code that handles a closed store handles this
 * too; `cause` is the driver's error.
 */
export class StorageError extends ClosedError {
  /** The database file. */
  readonly path: string;

  constructor(path: string, reason: string, cause?: unknown) {
    super(`SQLite store ${JSON.stringify(path)}`);
    this.path = path;
    this.message = `SQLite store ${JSON.stringify(path)} ${reason}`;
    if (cause !== undefined) Object.defineProperty(this, "cause", { value: cause, writable: true, configurable: true });
  }
}
