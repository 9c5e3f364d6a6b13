import type { ZodType } from "zod";
import { ValidationError } from "../errors.js";

/**
 * Parses `value` with a zod schema; returns the parsed data (defaults applied) or throws a
 * ValidationError whose issues carry zod's paths and messages and whose cause is zod's error.
 * @internal
 */
export function parseWith<T>(schema: ZodType<T>, value: unknown, part: "input" | "output", agent: string): T {
  const result = schema.safeParse(value);
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
