import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/errors.js";
import { EventHistory } from "../../src/events/event-history.js";
import type { CoveyEvent } from "../../src/events/types.js";

const ev = (n: number, type = "t", source = "s"): CoveyEvent => ({
  id: `evt-${n}`,
  type,
  source,
  timestamp: n,
  payload: { n },
  metadata: {},
});

describe("EventHistory#add", () => {
  it("keeps only the newest `limit` events once full, oldest first", () => {
    const h = new EventHistory(3);
    for (let i = 1; i <= 7; i++) h.add(ev(i));
    expect(h.size).toBe(3);
    expect(h.query(undefined, undefined, 100).map((e) => e.id)).toEqual(["evt-5", "evt-6", "evt-7"]);
  });

  it("keeps nothing with limit 0", () => {
    const h = new EventHistory(0);
    h.add(ev(1));
    expect(h.size).toBe(0);
    expect(h.query(undefined, undefined, 10)).toEqual([]);
  });

  it("rejects a negative or fractional limit", () => {
    expect(() => new EventHistory(-1)).toThrow(ValidationError);
    expect(() => new EventHistory(1.5)).toThrow(ValidationError);
  });
});

describe("EventHistory#query", () => {
  it("returns the last `limit` matches across the wrap-around point, oldest first", () => {
    const h = new EventHistory(5);
    for (let i = 1; i <= 8; i++) h.add(ev(i, i % 2 === 0 ? "even" : "odd"));
    // retained: 4..8
    expect(h.query("even", undefined, 100).map((e) => e.id)).toEqual(["evt-4", "evt-6", "evt-8"]);
    expect(h.query("odd", undefined, 1).map((e) => e.id)).toEqual(["evt-7"]);
    expect(h.query(undefined, undefined, 0)).toEqual([]);
  });

  it("filters by source and type together", () => {
    const h = new EventHistory(10);
    h.add(ev(1, "a", "x"));
    h.add(ev(2, "a", "y"));
    h.add(ev(3, "b", "x"));
    expect(h.query("a", "x", 10).map((e) => e.id)).toEqual(["evt-1"]);
    expect(h.query(undefined, "x", 10).map((e) => e.id)).toEqual(["evt-1", "evt-3"]);
  });

  it("is emptied by clear", () => {
    const h = new EventHistory(2);
    h.add(ev(1));
    h.add(ev(2));
    h.add(ev(3));
    h.clear();
    h.add(ev(4));
    expect(h.query(undefined, undefined, 10).map((e) => e.id)).toEqual(["evt-4"]);
  });
});
