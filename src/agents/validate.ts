import { z, type ZodType } from "zod";
import { ValidationError } from "../errors.js";
import { errorMessage } from "../runtime/describe.js";

function isAsyncParse(error: unknown): boolean {
  try {
    return error instanceof z.core.$ZodAsyncError;
  } catch {
    return false; // a hostile Proxy thrown by a transform
  }
}

/**
 * Parses `value` with a zod schema; returns the parsed data (defaults applied) or throws a
 * ValidationError whose issues carry zod's paths and messages and whose cause is zod's error.
 * @internal
 */
export function parseWith<T>(schema: ZodType<T>, value: unknown, part: "input" | "output", agent: string): T {
  let result: ReturnType<ZodType<T>["safeParse"]>;
  try {
    result = schema.safeParse(value);
  } catch (error) {
    // A transform or refinement that throws, or one that is async (zod refuses those in a
    // synchronous parse): the value was not accepted, so the caller gets a ValidationError.
    const what = `${part} of agent ${JSON.stringify(agent)}`;
    const reason = isAsyncParse(error)
      ? "its schema needs asynchronous parsing (an async refine or transform), which contracts do not support"
      : `its schema threw: ${errorMessage(error)}`;
    throw new ValidationError(`Invalid ${what}: ${reason}`, [{ path: [], message: reason }], { cause: error });
  }
  if (result.success) return result.data;
  // Only a failure pays for building the message.
  const what = `${part} of agent ${JSON.stringify(agent)}`;
  const issues = result.error.issues.map((i) => ({
    path: i.path.filter((p): p is string | number => typeof p !== "symbol"),
    message: i.message,
  }));
  const first = issues[0];
  const where = first !== undefined && first.path.length > 0 ? ` at ${first.path.join(".")}` : "";
  throw new ValidationError(`Invalid ${what}${where}: ${first?.message ?? "rejected by its schema"}`, issues, {
    cause: result.error,
  });
}
