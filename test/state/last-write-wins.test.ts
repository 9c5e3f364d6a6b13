import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/errors.js";
import { lastWriteWins } from "../../src/state/last-write-wins.js";
import type { StateEntry } from "../../src/state/types.js";

function entry(timestamp: number, version: number, checksum: string, updatedBy: string): StateEntry {
  return { key: "k", value: null, timestamp, version, checksum, updatedBy };
}

describe("lastWriteWins", () => {
  it("picks the newest timestamp", () => {
    const newest = entry(20, 1, "a", "a");
    expect(lastWriteWins([entry(10, 9, "f", "z"), newest, entry(15, 9, "f", "z")])).toBe(newest);
  });

  it("breaks a timestamp tie by the higher version", () => {
    const higher = entry(10, 3, "a", "a");
    expect(lastWriteWins([entry(10, 2, "f", "z"), higher])).toBe(higher);
  });

  it("then by the greater checksum, then by the greater updatedBy", () => {
    const byChecksum = entry(10, 3, "b", "a");
    expect(lastWriteWins([entry(10, 3, "a", "z"), byChecksum])).toBe(byChecksum);
    const byWriter = entry(10, 3, "b", "b");
    expect(lastWriteWins([byWriter, entry(10, 3, "b", "a")])).toBe(byWriter);
  });

  it("picks the same winner whatever the order of the entries", () => {
    const arb = fc.record({
      timestamp: fc.integer({ min: 0, max: 3 }),
      version: fc.integer({ min: 1, max: 3 }),
      checksum: fc.constantFrom("a", "b", "c"),
      updatedBy: fc.constantFrom("x", "y", "z"),
    });
    fc.assert(
      fc.property(fc.uniqueArray(arb, { minLength: 1, maxLength: 8, selector: (e) => JSON.stringify(e) }), fc.nat(), (raw, seed) => {
        const entries = raw.map((r) => entry(r.timestamp, r.version, r.checksum, r.updatedBy));
        const shuffled = [...entries].sort((a, b) => ((a.version * 31 + seed) % 7) - ((b.version * 17 + seed) % 5) || a.updatedBy.localeCompare(b.updatedBy));
        expect(lastWriteWins(shuffled)).toBe(lastWriteWins(entries));
        expect(lastWriteWins([...entries].reverse())).toBe(lastWriteWins(entries));
      }),
    );
  });

  it("refuses an empty list", () => {
    expect(() => lastWriteWins([])).toThrow(ValidationError);
  });
});
