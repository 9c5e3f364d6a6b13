import { checksumOf } from "./checksum.js";
import type { StateEntry } from "./types.js";

/**
 * A stored entry: a frozen snapshot whose checksum is computed on first read and cached.
 *
 * Why lazy: hashing the canonical JSON on every write costs more than the write itself, and
 * most entries are never asked for their checksum. The cache lives in a private field, which
 * `Object.freeze` does not touch. `checksum` is a getter on the prototype, so `toJSON`
 * includes it for serialisation.
 * @internal
 */
export class StoredEntry<T = unknown> implements StateEntry<T> {
  readonly key: string;
  readonly value: T;
  readonly version: number;
  readonly timestamp: number;
  readonly updatedBy: string;
  #checksum: string | undefined;
  #scoped: ScopedEntry<T> | undefined;

  constructor(key: string, value: T, version: number, timestamp: number, updatedBy: string) {
    this.key = key;
    this.value = value;
    this.version = version;
    this.timestamp = timestamp;
    this.updatedBy = updatedBy;
    Object.freeze(this);
  }

  /** Hex sha256 of the canonical (sorted-key) JSON of `value`. */
  get checksum(): string {
    return (this.#checksum ??= checksumOf(this.value));
  }

  /** The entry as plain data, checksum included. */
  toJSON(): { key: string; value: T; version: number; timestamp: number; updatedBy: string; checksum: string } {
    const { key, value, version, timestamp, updatedBy } = this;
    return { key, value, version, timestamp, updatedBy, checksum: this.checksum };
  }

  /**
   * This entry seen through its namespace, under `key` (the store key without the namespace
   * prefix), built on first use and then reused: a key read many times between two writes
   * allocates (and freezes) one scoped entry, not one per read. Within one store a stored
   * entry belongs to one namespace key, so `key` is the same on every call; a different key
   * (a wrapper store mapping keys its own way) gets a scoped entry of its own.
   */
  scoped(key: string): ScopedEntry<T> {
    const cached = this.#scoped;
    if (cached !== undefined && cached.key === key) return cached;
    return (this.#scoped = new ScopedEntry(key, this));
  }
}

/**
 * An entry seen through a namespace: the same data under the un-prefixed key; the checksum is
 * the underlying entry's (the key is not part of it).
 * @internal
 */
export class ScopedEntry<T = unknown> implements StateEntry<T> {
  readonly key: string;
  readonly value: T;
  readonly version: number;
  readonly timestamp: number;
  readonly updatedBy: string;
  readonly #inner: StateEntry<T>;

  constructor(key: string, inner: StateEntry<T>) {
    this.key = key;
    this.value = inner.value;
    this.version = inner.version;
    this.timestamp = inner.timestamp;
    this.updatedBy = inner.updatedBy;
    this.#inner = inner;
    Object.freeze(this);
  }

  /** Hex sha256 of the canonical (sorted-key) JSON of `value`. */
  get checksum(): string {
    return this.#inner.checksum;
  }

  /** The entry as plain data, checksum included. */
  toJSON(): { key: string; value: T; version: number; timestamp: number; updatedBy: string; checksum: string } {
    const { key, value, version, timestamp, updatedBy } = this;
    return { key, value, version, timestamp, updatedBy, checksum: this.checksum };
  }
}
