import { randomBytes, timingSafeEqual } from "node:crypto";

/** A fresh unguessable access token (192 random bits, URL-safe). @internal */
export function newToken(): string {
  return randomBytes(24).toString("base64url");
}

/** Compares in constant time, so the token cannot be guessed byte by byte from timings. @internal */
export function sameToken(expected: string, given: string | null | undefined): boolean {
  if (typeof given !== "string") return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
