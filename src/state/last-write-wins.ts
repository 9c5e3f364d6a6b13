import { ValidationError } from "../errors.js";
import type { StateEntry } from "./types.js";

/**
 * The default conflict resolver of {@link ReplicatedState}: the entry with the newest
 * timestamp; on a tie the higher version, then the greater checksum, then the greater
 * `updatedBy`, so every replica picks the same winner whatever order it sees the entries in.
 * @throws ValidationError when `entries` is empty
 * @example
 * ```ts
 * const winner = lastWriteWins([entryFromA, entryFromB]);
 * ```
 */
export function lastWriteWins(entries: readonly StateEntry[]): StateEntry {
  let best = entries[0];
  if (best === undefined) {
    throw new ValidationError("lastWriteWins needs at least one entry", [{ path: [], message: "no entries" }]);
  }
  for (let i = 1; i < entries.length; i++) {
    const e = entries[i]!;
    if (newer(e, best)) best = e;
  }
  return best;
}

function newer(a: StateEntry, b: StateEntry): boolean {
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  if (a.version !== b.version) return a.version > b.version;
  // Checksums are only computed on a tie of both, so the usual case never hashes.
  const ca = a.checksum;
  const cb = b.checksum;
  if (ca !== cb) return ca > cb;
  return a.updatedBy > b.updatedBy;
}
