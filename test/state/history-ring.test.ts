import { describe, expect, it } from "vitest";
import { StoredEntry } from "../../src/state/entry.js";
import { HistoryRing } from "../../src/state/history-ring.js";

const entry = (key: string, version: number): StoredEntry => new StoredEntry(key, version, version, 0, "t");

describe("HistoryRing#push", () => {
  it("keeps the last `limit` changes in order, across many wrap-arounds", () => {
    const ring = new HistoryRing(3);
    for (let v = 1; v <= 10; v++) {
      ring.push(entry("k", v), undefined);
      const kept = ring.toArray().map((c) => c.entry!.version);
      expect(kept).toEqual(Array.from({ length: Math.min(v, 3) }, (_, i) => v - Math.min(v, 3) + 1 + i));
    }
    expect(ring.size).toBe(3);
  });

  it("records deletes as changes without an entry", () => {
    const ring = new HistoryRing(5);
    const prev = entry("k", 1);
    ring.push(prev, undefined);
    ring.push(undefined, prev);
    expect(ring.toArray().map((c) => [c.type, c.key, c.entry?.version, c.previous?.version])).toEqual([
      ["set", "k", 1, undefined],
      ["delete", "k", undefined, 1],
    ]);
  });

  it("keeps nothing with limit 0", () => {
    const ring = new HistoryRing(0);
    ring.push(entry("k", 1), undefined);
    expect(ring.toArray()).toEqual([]);
  });
});

describe("HistoryRing#toArray", () => {
  it("filters by key and returns the newest `limit`, oldest first", () => {
    const ring = new HistoryRing(10);
    for (let v = 1; v <= 8; v++) ring.push(entry(v % 2 === 0 ? "even" : "odd", v), undefined);
    expect(ring.toArray("even", 2).map((c) => c.entry!.version)).toEqual([6, 8]);
    expect(ring.toArray(undefined, 3).map((c) => c.entry!.version)).toEqual([6, 7, 8]);
    expect(ring.toArray("none")).toEqual([]);
  });
});
