import { ValidationError } from "../../errors.js";
import { describeValue } from "../../runtime/describe.js";
import { checkCount } from "../../state/update-recipe.js";
import type { WatchOptions } from "../../state/types.js";

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

/** Watch options, checked. @internal */
export interface CheckedWatch {
  readonly includeCurrent: boolean;
  readonly fromVersion: number | undefined;
  readonly onReady: (() => void) | undefined;
}

/** Checks watch options as every store does. @internal */
export function checkWatch(opts: WatchOptions | undefined): CheckedWatch {
  if (opts === undefined) return { includeCurrent: false, fromVersion: undefined, onReady: undefined };
  const { includeCurrent, fromVersion, onReady } = opts;
  if (includeCurrent !== undefined && typeof includeCurrent !== "boolean") {
    throw new ValidationError(`includeCurrent must be a boolean, got ${describeValue(includeCurrent)}`, [
      { path: ["includeCurrent"], message: "must be a boolean" },
    ]);
  }
  if (fromVersion !== undefined) checkCount(fromVersion, "fromVersion", 0);
  if (includeCurrent === true && fromVersion !== undefined) {
    throw new ValidationError("watch takes includeCurrent or fromVersion, not both", [
      { path: ["fromVersion"], message: "exclusive with includeCurrent" },
    ]);
  }
  if (onReady !== undefined && typeof onReady !== "function") {
    throw new ValidationError("onReady must be a function", [{ path: ["onReady"], message: "must be a function" }]);
  }
  return { includeCurrent: includeCurrent === true, fromVersion, onReady };
}

/** Whether `key` matches watch filter `filter` (an exact key, or a prefix ending in `*`). @internal */
export function matchesFilter(filter: string, key: string): boolean {
  return filter.endsWith("*") ? key.startsWith(filter.slice(0, -1)) : key === filter;
}
