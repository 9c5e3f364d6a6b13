import { ValidationError } from "../errors.js";
import { describeValue } from "../runtime/describe.js";
import type { WatchOptions } from "./types.js";
import { checkCount } from "./update-recipe.js";

/** Watch options, checked and normalised. @internal */
export interface CheckedWatch {
  readonly includeCurrent: boolean;
  readonly fromVersion: number | undefined;
  readonly onReady: (() => void) | undefined;
}

/** Checks `watch` options as every store does (ValidationError on a bad one). @internal */
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

/** Whether `key` matches watch filter `filter`: an exact key, or a prefix ending in `*` (`"*"` is every key). @internal */
export function matchesFilter(filter: string, key: string): boolean {
  return filter.endsWith("*") ? key.startsWith(filter.slice(0, -1)) : key === filter;
}
