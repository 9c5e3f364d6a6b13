/**
 * A short description of any value for an error message, that never throws: `String(v)` throws
 * for a null-prototype object or one whose `toString` throws, which would turn a ValidationError
 * into a TypeError.
 * @internal
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case "number":
    case "boolean":
    case "bigint":
    case "undefined":
      return String(value);
    case "symbol":
      return "a symbol";
    case "function":
      return "a function";
    default:
      if (value === null) return "null";
      return Array.isArray(value) ? "an array" : "an object";
  }
}

/** The message of a thrown value, for a report, that never throws. @internal */
export function errorMessage(error: unknown): string {
  let isError: boolean;
  try {
    isError = error instanceof Error;
  } catch {
    // A Proxy whose getPrototypeOf trap throws.
    return "an object";
  }
  if (isError) {
    try {
      return String((error as Error).message);
    } catch {
      return "an error";
    }
  }
  // A thrown string is its own message.
  return typeof error === "string" ? error : describeValue(error);
}
