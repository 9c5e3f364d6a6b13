/**
 * Turns any value into JSON text for the page, whatever it holds: in-process payloads pass by
 * reference unchecked, so they may contain cycles, bigints, functions or errors. Long values
 * are cut to a preview so one huge payload cannot stall the feed.
 * @internal
 */
export function toWire(value: unknown, maxChars = 4096): unknown {
  if (value === undefined || value === null || typeof value === "number" || typeof value === "boolean") return value ?? null;
  let text: string;
  try {
    text = JSON.stringify(value, replacer()) ?? "null";
  } catch (error) {
    return { unserializable: String(error) };
  }
  if (text.length <= maxChars) return JSON.parse(text) as unknown;
  return { truncated: true, chars: text.length, preview: text.slice(0, maxChars) };
}

function replacer(): (this: unknown, key: string, value: unknown) => unknown {
  const seen = new WeakSet<object>();
  return (_key, value) => {
    if (typeof value === "bigint") return `${value}n`;
    if (typeof value === "function") return `[function ${value.name || "anonymous"}]`;
    if (typeof value === "symbol") return value.toString();
    if (value instanceof Error) return describeError(value);
    if (value !== null && typeof value === "object") {
      if (seen.has(value)) return "[circular]";
      seen.add(value);
    }
    return value;
  };
}

/** An error as the page shows it: class name, code, message, validation issues, cause. @internal */
export interface WireError {
  name: string;
  code?: string;
  message: string;
  issues?: unknown;
  cause?: WireError | string;
}

/** @internal */
export function describeError(error: unknown, depth = 0): WireError | string {
  if (!(error instanceof Error)) return String(error);
  const out: WireError = { name: error.name, message: error.message };
  const fields = error as Error & { code?: unknown; issues?: unknown };
  if (typeof fields.code === "string") out.code = fields.code;
  if (Array.isArray(fields.issues)) out.issues = toWire(fields.issues);
  if (error.cause !== undefined && depth < 3) out.cause = describeError(error.cause, depth + 1);
  return out;
}
