import type { StoredEntry } from "./entry.js";

/**
 * The entries of one namespace of a store, keyed by the namespace's own keys (without the
 * prefix), or of the store's root (prefix `""`), keyed by full store keys.
 *
 * Why: a namespace view used to join prefix and key on every operation and look the joined
 * string up in one map. Looking up a freshly joined string hashes and flattens it each time,
 * which measured ~0.6 µs per read (several times the lookup itself) with 10,000 keys. A view
 * now looks its key up in its namespace's map directly; only operations on the whole store
 * (by full key) split the key, and only once a namespace is registered.
 * @internal
 */
export class KeySpace {
  /** The store-key prefix of every key held here; `""` for the root. */
  readonly prefix: string;
  readonly entries = new Map<string, StoredEntry>();

  constructor(prefix: string) {
    this.prefix = prefix;
  }
}

/**
 * Length of the namespace prefix (`${namespace.length}:${namespace}:`) that `key` starts
 * with, or 0 when it starts with none or nothing follows the prefix. The length is written
 * without leading zeros, as `namespacePrefix` writes it, so a key has at most one prefix.
 * @internal
 */
export function prefixLength(key: string): number {
  const len = key.length;
  let i = 0;
  let n = 0;
  for (; i < len; i++) {
    const c = key.charCodeAt(i);
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
    if (i >= 15) return 0;
  }
  if (i === 0 || i >= len || key.charCodeAt(i) !== 58) return 0;
  if (i > 1 && key.charCodeAt(0) === 48) return 0;
  const end = i + 1 + n;
  if (end + 1 >= len || key.charCodeAt(end) !== 58) return 0;
  return end + 1;
}
