import { ValidationError } from "../../errors.js";
import { describeValue } from "../../runtime/describe.js";

/** Throws a ValidationError unless `expected` is a number (an `expectedVersion`). @internal */
export function checkExpectedVersion(expected: unknown): asserts expected is number {
  if (typeof expected !== "number" || Number.isNaN(expected)) {
    throw new ValidationError(`expectedVersion must be a number, got ${describeValue(expected)}`, [
      { path: ["expectedVersion"], message: "must be a number" },
    ]);
  }
}

/** Throws a ValidationError unless `prefix` is a string or undefined. @internal */
export function checkPrefix(prefix: unknown): asserts prefix is string | undefined {
  if (prefix !== undefined && typeof prefix !== "string") {
    throw new ValidationError(`prefix must be a string, got ${describeValue(prefix)}`, [{ path: ["prefix"], message: "must be a string" }]);
  }
}

export { checkWatch, matchesFilter, type CheckedWatch } from "../../state/watch-options.js";
