import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ValidationError } from "../../src/errors.js";
import { jsonEquals, toStoredValue } from "../../src/state/json-value.js";

function bytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

function deeplyFrozen(value: unknown): boolean {
  if (value === null || typeof value !== "object") return true;
  return Object.isFrozen(value) && Object.values(value).every(deeplyFrozen);
}

describe("toStoredValue", () => {
  it("returns a deeply frozen copy that serialises like the input", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const stored = toStoredValue(value, Infinity, "k");
        expect(JSON.stringify(stored)).toBe(JSON.stringify(value));
        expect(deeplyFrozen(stored)).toBe(true);
        if (value !== null && typeof value === "object") expect(stored).not.toBe(value);
      }),
      { numRuns: 300 },
    );
  });

  it("measures exactly the UTF-8 bytes of the JSON text: that many pass, one fewer is refused", () => {
    const text = fc.string({ unit: "binary" });
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        text,
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie("node"), { maxLength: 4 }),
        fc.dictionary(text, tie("node"), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        const n = bytes(v);
        expect(() => toStoredValue(v, n, "k")).not.toThrow();
        expect(() => toStoredValue(v, n - 1, "k")).toThrow(ValidationError);
      }),
      { numRuns: 500 },
    );
  });

  it("measures shared stored subtrees from their stamp, the same as a fresh walk", () => {
    const shared = toStoredValue({ list: ["é", 1.5, -20, { deep: "\u0001" }] }, Infinity, "k");
    const outer = { a: shared, b: [shared], c: "x" };
    const n = bytes(outer);
    expect(() => toStoredValue(outer, n, "k")).not.toThrow();
    expect(() => toStoredValue(outer, n - 1, "k")).toThrow(ValidationError);
    expect((toStoredValue(outer, n, "k") as { a: unknown }).a).toBe(shared);
  });

  it("does not take a frozen object it did not produce on trust", () => {
    const frozen = Object.freeze({ inner: { n: 1 } });
    const stored = toStoredValue(frozen, Infinity, "k") as { inner: { n: number } };
    expect(stored).not.toBe(frozen);
    expect(Object.isFrozen(stored.inner)).toBe(true);
    expect(() => toStoredValue(Object.freeze({ f: () => 1 }), Infinity, "k")).toThrow(ValidationError);
  });

  it("reads a getter once and stores the value it returned", () => {
    let reads = 0;
    const value = {
      get n() {
        return ++reads;
      },
    };
    const stored = toStoredValue(value, Infinity, "k") as { n: number };
    expect(stored.n).toBe(1);
    expect(Object.getOwnPropertyDescriptor(stored, "n")!.get).toBeUndefined();
  });
});

describe("jsonEquals", () => {
  it("is true for structurally equal JSON values, whatever the key order", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const stored = toStoredValue(value, Infinity, "k");
        const copy = JSON.parse(JSON.stringify(value)) as unknown;
        expect(jsonEquals(stored, copy)).toBe(true);
      }),
    );
    expect(jsonEquals({ a: 1, b: { c: [1] } }, { b: { c: [1] }, a: 1 })).toBe(true);
  });

  it("is false for different values, extra keys, other types or non-plain objects", () => {
    expect(jsonEquals({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(jsonEquals([1, 2], { 0: 1, 1: 2 })).toBe(false);
    expect(jsonEquals({}, [])).toBe(false);
    expect(jsonEquals({}, new Date(0))).toBe(false);
    expect(jsonEquals(1, "1")).toBe(false);
    expect(jsonEquals(null, {})).toBe(false);
    expect(jsonEquals([1, [2]], [1, [3]])).toBe(false);
  });
});
