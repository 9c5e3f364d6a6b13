import { createHash } from "node:crypto";

/**
 * JSON text of `value` with object keys sorted (by UTF-16 code units) at every level, so two
 * equal values give the same text whatever order their keys were written in.
 * @internal
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i > 0 ? "," : "") + canonicalJson(value[i]);
    return out + "]";
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    out += (i > 0 ? "," : "") + JSON.stringify(k) + ":" + canonicalJson(obj[k]);
  }
  return out + "}";
}

/** Hex sha256 of the canonical JSON of `value`. @internal */
export function checksumOf(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}
