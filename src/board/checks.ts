import { ValidationError } from "../errors.js";
import { describeValue } from "../runtime/describe.js";
import type { TaskStatus } from "./types.js";

/** Throws a ValidationError unless `value` is a non-empty string. @internal */
export function needName(value: unknown, what: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new ValidationError(`${what} must be a non-empty string, got ${describeValue(value)}`, [{ path: [what], message: "must be a non-empty string" }]);
  }
  return value;
}

/** Throws a ValidationError unless `value` is a string (empty allowed) or undefined. @internal */
export function optText(value: unknown, what: string): string {
  if (value === undefined) return "";
  if (typeof value !== "string") {
    throw new ValidationError(`${what} must be a string, got ${describeValue(value)}`, [{ path: [what], message: "must be a string" }]);
  }
  return value;
}

/** A lease length in minutes: a finite number > 0. @internal */
export function needMinutes(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new ValidationError(`${what} must be a number of minutes > 0, got ${describeValue(value)}`, [{ path: [what], message: "must be > 0" }]);
  }
  return value;
}

const STATUSES: readonly string[] = ["todo", "claimed", "in_progress", "blocked", "done", "cancelled"];

/** @internal */
export function needStatus(value: unknown): TaskStatus {
  if (typeof value !== "string" || !STATUSES.includes(value)) {
    throw new ValidationError(`status must be one of ${STATUSES.join(", ")}, got ${describeValue(value)}`, [{ path: ["status"], message: "unknown status" }]);
  }
  return value as TaskStatus;
}

/** A memory scope: `global`, `task:<id>`, `project:<id>` or `agent:<name>`. @internal */
export function needScope(value: unknown): string {
  if (value === undefined) return "global";
  if (typeof value === "string" && (value === "global" || /^(task|project|agent):.+$/s.test(value))) return value;
  throw new ValidationError(`scope must be "global", "task:<id>", "project:<id>" or "agent:<name>", got ${describeValue(value)}`, [
    { path: ["scope"], message: "unknown scope" },
  ]);
}
