/**
 * Keys as NATS KV subject tokens. NATS KV keys allow only `[-/_=.a-zA-Z0-9]`, and `.` splits
 * tokens, so any other covey key must be escaped. The encoding keeps `A-Z a-z 0-9 -` as they
 * are and writes every other UTF-16 code unit as `_XX` (below 0x100) or `=XXXX` (uppercase hex):
 *
 * - lossless for every JavaScript string (lone surrogates included);
 * - one token, never empty, never a wildcard;
 * - prefix-preserving: `encode(a + b) === encode(a) + encode(b)`, so a key prefix is a subject
 *   prefix and readers in other languages can decode it with a few lines.
 * @internal
 */
export function encodeKey(key: string): string {
  let out = "";
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45) out += key[i];
    else if (c < 0x100) out += "_" + c.toString(16).toUpperCase().padStart(2, "0");
    else out += "=" + c.toString(16).toUpperCase().padStart(4, "0");
  }
  return out;
}

/**
 * The key `token` encodes, or undefined when `token` is not an encoding {@link encodeKey}
 * produces (written by someone else into the bucket).
 * @internal
 */
export function decodeKey(token: string): string | undefined {
  let out = "";
  for (let i = 0; i < token.length; ) {
    const ch = token[i]!;
    if (ch === "_" || ch === "=") {
      const n = ch === "_" ? 2 : 4;
      const hex = token.slice(i + 1, i + 1 + n);
      if (hex.length !== n || !/^[0-9A-F]+$/.test(hex)) return undefined;
      out += String.fromCharCode(parseInt(hex, 16));
      i += 1 + n;
    } else if (/[0-9A-Za-z-]/.test(ch)) {
      out += ch;
      i++;
    } else {
      return undefined;
    }
  }
  return out === "" ? undefined : out;
}
