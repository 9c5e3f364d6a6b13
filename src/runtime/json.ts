import { ValidationError, type ValidationIssue } from "../errors.js";

/**
 * Returns the problems that keep `value` from being plain JSON data (objects with a plain or
 * null prototype, arrays, strings, finite numbers, booleans, null): functions, undefined,
 * NaN, Infinity, BigInt, symbols, Map/Set/Date and other class instances, cycles.
 * @internal
 */
export function jsonIssues(value: unknown, limit = 10): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const path: (string | number)[] = [];
  const ancestors = new Set<object>();

  const visit = (v: unknown): void => {
    if (issues.length >= limit) return;
    switch (typeof v) {
      case "string":
      case "boolean":
        return;
      case "number":
        if (!Number.isFinite(v)) issues.push({ path: [...path], message: `${v} is not a finite number` });
        return;
      case "object": {
        if (v === null) return;
        if (ancestors.has(v)) {
          issues.push({ path: [...path], message: "circular reference" });
          return;
        }
        ancestors.add(v);
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            path.push(i);
            visit(v[i]);
            path.pop();
          }
        } else {
          const proto: unknown = Object.getPrototypeOf(v);
          if (proto !== Object.prototype && proto !== null) {
            const name = (v as { constructor?: { name?: string } }).constructor?.name ?? "object";
            issues.push({ path: [...path], message: `${name} is not plain JSON data` });
          } else {
            for (const key of Object.keys(v)) {
              path.push(key);
              visit((v as Record<string, unknown>)[key]);
              path.pop();
            }
            if (Object.getOwnPropertySymbols(v).length > 0) {
              issues.push({ path: [...path], message: "symbol keys are not JSON data" });
            }
          }
        }
        ancestors.delete(v);
        return;
      }
      default:
        issues.push({ path: [...path], message: `${typeof v} is not JSON data` });
    }
  };
  visit(value);
  return issues;
}

/** Throws a {@link ValidationError} naming `what` unless `value` is JSON data. @internal */
export function assertJson(value: unknown, what: string): void {
  const issues = jsonIssues(value);
  if (issues.length > 0) {
    const first = issues[0]!;
    const at = first.path.length > 0 ? ` at ${first.path.join(".")}` : "";
    throw new ValidationError(`${what} is not JSON data${at}: ${first.message}`, issues);
  }
}
