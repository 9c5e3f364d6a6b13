import { Immer } from "immer";
import { ValidationError, VersionConflictError } from "../errors.js";
import { describeValue } from "../runtime/describe.js";
import { checkName } from "../runtime/wait.js";
import { jsonEquals } from "./json-value.js";
import type { StateEntry, UpdateContext, UpdateResult } from "./types.js";

// Stores freeze what they keep in their own walk, so immer's freeze pass would be paid twice.
const immer = new Immer({ autoFreeze: false });
const produce = immer.produce as (base: unknown, recipe: (draft: unknown) => unknown) => unknown;

/** Default `updatedBy` of writes that do not say who made them. @internal */
export const DEFAULT_BY = "system";

/** `by` checked, or the default. @internal */
export function checkBy(by: string | undefined): string {
  if (by === undefined) return DEFAULT_BY;
  checkName(by, "by");
  return by;
}

/** Throws a ValidationError unless `value` is an integer >= `min`. @internal */
export function checkCount(value: unknown, what: string, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new ValidationError(`${what} must be an integer >= ${min}, got ${describeValue(value)}`, [
      { path: [what], message: `must be an integer >= ${min}` },
    ]);
  }
  return value;
}

/** The checked options of an update. @internal */
export interface CheckedUpdate {
  readonly by: string;
  readonly maxRetries: number;
  readonly exists: boolean;
}

/** Checks the recipe and options of an update before anything runs. @internal */
export function checkUpdate(fn: unknown, opts: { by?: string; maxRetries?: number; exists?: boolean } | undefined): CheckedUpdate {
  const by = checkBy(opts?.by);
  const maxRetries = opts?.maxRetries === undefined ? 10 : checkCount(opts.maxRetries, "maxRetries", 0);
  if (typeof fn !== "function") {
    throw new ValidationError("update recipe must be a function", [{ path: ["fn"], message: "must be a function" }]);
  }
  const exists = opts?.exists;
  if (exists !== undefined && typeof exists !== "boolean") {
    throw new ValidationError(`exists must be a boolean, got ${describeValue(exists)}`, [{ path: ["exists"], message: "must be a boolean" }]);
  }
  return { by, maxRetries, exists: exists === true };
}

function isThenable(value: unknown): boolean {
  return value !== null && typeof value === "object" && typeof (value as PromiseLike<unknown>).then === "function";
}

/** The error of an update with `exists: true` on an absent key. @internal */
export function missingKeyError(key: string): ValidationError {
  return new ValidationError(
    `update of key ${JSON.stringify(key)} with { exists: true }: the key does not exist, nothing was written. ` +
      "Create it first (set), or drop `exists` to get an undefined draft for an absent key.",
    [{ path: ["exists"], message: "the key does not exist" }],
  );
}

/** The last conflict of an update whose retries ran out, saying what to do. @internal */
export function exhaustedError(key: string, expected: number, actual: number, attempts: number): VersionConflictError {
  const err = new VersionConflictError(key, expected, actual);
  err.message +=
    ` (update gave up after ${attempts} attempt${attempts === 1 ? "" : "s"}: the key kept changing under the recipe;` +
    " raise maxRetries or write this key from fewer places at once)";
  return err;
}

/**
 * Runs `fn` once as an immer recipe on `base` (the current value, undefined when absent) and
 * returns the new value; checks that the recipe left a value and did not return a promise.
 * `key` is the key as the caller wrote it: errors name it so.
 * @internal
 */
export function runRecipe(key: string, base: unknown, fn: (draft: never, ctx: UpdateContext<unknown>) => unknown, ctx: UpdateContext<unknown>): unknown {
  const result = produce(base, (draft) => fn(draft as never, ctx));
  if (result === undefined) {
    throw new ValidationError(
      `update of key ${JSON.stringify(key)} produced undefined, nothing was written. ` +
        (base === undefined
          ? "The key is absent, so the draft was undefined: return the value to create (e.g. `d ?? initial`)."
          : "Mutate the draft or return the new value; to delete the key use delete()."),
      [{ path: [], message: "the recipe left the value undefined" }],
    );
  }
  if (isThenable(result)) {
    throw new ValidationError(
      `update recipe for key ${JSON.stringify(key)} returned a promise; recipes must be synchronous. ` +
        "Read what you need first, then run a synchronous recipe.",
      [{ path: [], message: "the recipe returned a promise" }],
    );
  }
  return result;
}

/** Whether a recipe's `next` value changes nothing compared to the stored `current` one. @internal */
export function unchanged(current: StateEntry | undefined, next: unknown): boolean {
  return current !== undefined && (current.value === next || jsonEquals(current.value, next));
}

/** A fresh context for attempt `attempt`. @internal */
export function updateContext(attempt: number): UpdateContext<unknown> {
  return { result: undefined, attempt };
}

/**
 * An update's outcome: the entry's fields, the recipe's result and whether it wrote.
 * @internal
 */
export class UpdatedEntry<T = unknown, R = unknown> implements UpdateResult<T, R> {
  readonly key: string;
  readonly value: T;
  readonly version: number;
  readonly timestamp: number;
  readonly updatedBy: string;
  readonly result: R | undefined;
  readonly changed: boolean;
  readonly #inner: StateEntry<T>;

  constructor(inner: StateEntry<T>, result: R | undefined, changed: boolean) {
    this.key = inner.key;
    this.value = inner.value;
    this.version = inner.version;
    this.timestamp = inner.timestamp;
    this.updatedBy = inner.updatedBy;
    this.result = result;
    this.changed = changed;
    this.#inner = inner;
    Object.freeze(this);
  }

  /** Hex sha256 of the canonical (sorted-key) JSON of `value`. */
  get checksum(): string {
    return this.#inner.checksum;
  }

  /** The entry as plain data, checksum included (not the result). */
  toJSON(): { key: string; value: T; version: number; timestamp: number; updatedBy: string; checksum: string } {
    const { key, value, version, timestamp, updatedBy } = this;
    return { key, value, version, timestamp, updatedBy, checksum: this.checksum };
  }
}
