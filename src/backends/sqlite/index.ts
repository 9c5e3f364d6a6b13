export { sqliteStore } from "./sqlite-store.js";
export type { SqliteStore, SqliteStoreOptions, SqliteStoreStats } from "./sqlite-store.js";
export type { SqliteDriverName } from "./driver.js";
export { StorageError } from "./storage-error.js";
