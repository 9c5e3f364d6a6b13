import { ValidationError } from "../errors.js";
import { describeValue } from "../runtime/describe.js";

/** Throws a ValidationError unless `value` is an integer >= 1. @internal */
export function checkCount(value: unknown, what: string): asserts value is number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new ValidationError(`${what} must be an integer >= 1, got ${describeValue(value)}`, [
      { path: [what], message: "must be an integer >= 1" },
    ]);
  }
}

/**
 * Checks a lease length: undefined or Infinity mean "no lease"; anything but a number > 0 is a
 * caller bug.
 * @internal
 */
export function checkTtl(ttl: number | undefined, what: string): number | undefined {
  if (ttl === undefined || ttl === Infinity) return undefined;
  if (typeof ttl !== "number" || Number.isNaN(ttl) || ttl <= 0) {
    throw new ValidationError(`${what}: ttl must be a number > 0, got ${describeValue(ttl)}`, [
      { path: ["ttl"], message: "must be a number > 0" },
    ]);
  }
  return ttl;
}

/** A resolved `true`, shared: an uncontended acquire allocates no promise. @internal */
export const RESOLVED_TRUE: Promise<boolean> = Promise.resolve(true);
/** A resolved `false`, shared. @internal */
export const RESOLVED_FALSE: Promise<boolean> = Promise.resolve(false);
