import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeKey, encodeKey } from "../../../src/backends/nats/key-codec.js";

describe("encodeKey", () => {
  it("keeps letters, digits and dashes, escapes the rest as docs/wire.md says", () => {
    expect(encodeKey("nlp.summarizer")).toBe("nlp_2Esummarizer");
    expect(encodeKey("6:shared:plan")).toBe("6_3Ashared_3Aplan");
    expect(encodeKey("a_b c*>")).toBe("a_5Fb_20c_2A_3E");
    expect(encodeKey("é€")).toBe("_E9=20AC");
  });

  it("is lossless, one valid KV token, and prefix-preserving for any string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), (a, b) => {
        if (a === "") return;
        const e = encodeKey(a);
        expect(e).toMatch(/^[-_=A-Za-z0-9]+$/);
        expect(decodeKey(e)).toBe(a);
        expect(encodeKey(a + b)).toBe(e + encodeKey(b));
      }),
    );
  });

  it("decodes nothing that it would not produce", () => {
    for (const bad of ["", "a.b", "_4", "_zz", "=12", "a b"]) expect(decodeKey(bad)).toBeUndefined();
  });
});
