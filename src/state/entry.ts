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
