import { describe, expect, it } from "vitest";
import { createHoldings } from "../../src/sync/holdings.js";

describe.each([4, 64])("createHoldings(%i)", (max) => {
  it("counts permits per agent and refuses to remove what is not held", () => {
    const h = createHoldings(max);
    h.add("a");
    h.add("b");
    h.add("a");
    expect(h.count("a")).toBe(2);
    expect(h.remove("a")).toBe(true);
    expect(h.count("a")).toBe(1);
    expect(h.remove("c")).toBe(false);
    expect(h.remove("a")).toBe(true);
    expect(h.remove("a")).toBe(false);
    expect(h.count("b")).toBe(1);
    h.clear();
    expect(h.count("b")).toBe(0);
  });
});
