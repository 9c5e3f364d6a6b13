import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, checksumOf } from "../../src/state/checksum.js";

describe("canonicalJson", () => {
  it("sorts keys at every level and is valid JSON of the same value", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it("keeps __proto__ keys", () => {
    expect(canonicalJson(JSON.parse('{"__proto__":1,"a":2}'))).toBe('{"__proto__":1,"a":2}');
  });
});

describe("checksumOf", () => {
  it("is the hex sha256 of the canonical JSON", () => {
    const value = { b: [1, "x"], a: true };
    expect(checksumOf(value)).toBe(createHash("sha256").update('{"a":true,"b":[1,"x"]}').digest("hex"));
  });
});
