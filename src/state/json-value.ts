import { ValidationError } from "../errors.js";
import { jsonIssues } from "../runtime/json.js";

// A base whose constructor returns the object it is given: `new SizeStamp(node, size)` then
// installs a private field on that existing node instead of on a fresh instance.
class ReturnsGiven {
  constructor(node: object) {
    return node;
  }
}

/**
 * Marks a node (object or array) this module produced, deeply frozen and known to be JSON
 * data, with the UTF-8 byte length of its JSON text.
 *
 * Why: `update` runs an immer recipe whose result shares every unchanged subtree with the
 * previous stored value. Those subtrees were validated and frozen when they were stored, so
 * only the nodes the recipe created need a walk, and a shared subtree's size is read back from
 * its stamp. The stamp is a class-private field added before the node is frozen: unlike a
 * WeakMap entry (measured ~10x slower per write, mostly garbage-collector work on the weak
 * table), it costs one hidden-class transition, and it is invisible to `Object.keys`,
 * `Reflect.ownKeys`, JSON and `structuredClone`. It is module-wide because what it records is
 * intrinsic to the frozen node: a value read from one store is written to another without a
 * second walk.
 */
class SizeStamp extends ReturnsGiven {
  readonly #bytes: number;

  constructor(node: object, bytes: number) {
    super(node);
    this.#bytes = bytes;
  }

  /** The stamped size of `node`, or undefined when this module did not produce it. */
  static of(node: object): number | undefined {
    return #bytes in node ? node.#bytes : undefined;
  }
}

// Below this depth the walk trusts that it meets no cycle; past it, it restarts and tracks
// ancestors. A cycle always goes past it, so cycles are still caught, and ordinary values do
// not pay for a Set per write.
const FAST_DEPTH = 200;

// Internal signals that unwind the walk; caught in toStoredValue and never seen by callers
// (the public error is built there, with every issue found).
const INVALID = new Error("not JSON data");
const TOO_DEEP = new Error("deeper than the fast walk goes");

// The size of the node the last `walk` call returned. The walk is synchronous and the value is
// read right after each recursive call returns, so a getter that re-enters the walk (by writing
// to a store) cannot clobber it in between.
let lastSize = 0;

const hasOwn = Object.hasOwn;
const getProto = Object.getPrototypeOf;
const objectProto = Object.prototype;
const arrayProto = Array.prototype;
// Printable ASCII except `"` and `\`: such a string's JSON is itself plus two quotes.
const PLAIN_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function stringBytes(s: string): number {
  if (s.length < 24) {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return Buffer.byteLength(JSON.stringify(s));
    }
    return s.length + 2;
  }
  return PLAIN_STRING.test(s) ? s.length + 2 : Buffer.byteLength(JSON.stringify(s));
}

function numberBytes(n: number): number {
  if (Number.isInteger(n)) {
    const a = n < 0 ? -n : n;
    const sign = n < 0 ? 1 : 0;
    if (a < 10) return sign + 1;
    if (a < 100) return sign + 2;
    if (a < 1000) return sign + 3;
    if (a < 1e4) return sign + 4;
    if (a < 1e5) return sign + 5;
    if (a < 1e6) return sign + 6;
    if (a < 1e7) return sign + 7;
    if (a < 1e8) return sign + 8;
    if (a < 1e9) return sign + 9;
    if (a < 1e10) return sign + 10;
  }
  return String(n).length;
}

function walk(v: unknown, depth: number, ancestors: Set<object> | undefined): unknown {
  switch (typeof v) {
    case "string":
      lastSize = stringBytes(v);
      return v;
    case "boolean":
      lastSize = v ? 4 : 5;
      return v;
    case "number":
      if (!Number.isFinite(v)) throw INVALID;
      lastSize = numberBytes(v);
      return v;
    case "object":
      break;
    default:
      throw INVALID;
  }
  if (v === null) {
    lastSize = 4;
    return v;
  }
  const known = SizeStamp.of(v);
  if (known !== undefined) {
    lastSize = known;
    return v;
  }
  if (ancestors === undefined) {
    if (depth > FAST_DEPTH) throw TOO_DEEP;
  } else {
    if (ancestors.has(v)) throw INVALID;
    ancestors.add(v);
  }
  const proto: unknown = getProto(v);
  let out: unknown[] | Record<string, unknown>;
  let size: number;
  if (proto === arrayProto) {
    const src = v as unknown[];
    const n = src.length;
    const copy: unknown[] = [];
    size = n > 1 ? n + 1 : 2;
    for (let i = 0; i < n; i++) {
      copy.push(walk(src[i], depth + 1, ancestors));
      size += lastSize;
    }
    out = copy;
  } else if (proto === objectProto || proto === null) {
    // Symbol-keyed properties are left out of the copy, as JSON.stringify leaves them out:
    // detecting them (Object.getOwnPropertySymbols) cost more than the rest of a small write.
    if (Array.isArray(v)) throw INVALID;
    const src = v as Record<string, unknown>;
    const keys = Object.keys(src);
    const copy: Record<string, unknown> = {};
    size = keys.length > 1 ? keys.length + 1 : 2;
    for (const k of keys) {
      const child = walk(src[k], depth + 1, ancestors);
      size += lastSize + stringBytes(k) + 1;
      // Plain assignment of "__proto__" would set the copy's prototype instead of a key.
      if (k === "__proto__") Object.defineProperty(copy, k, { value: child, enumerable: true, writable: true, configurable: true });
      else copy[k] = child;
    }
    out = copy;
  } else {
    throw INVALID;
  }
  ancestors?.delete(v);
  new SizeStamp(out, size);
  Object.freeze(out);
  lastSize = size;
  return out;
}

function invalid(value: unknown, key: string): ValidationError {
  // jsonIssues also reports symbol keys, which the walk ignores; only report what made it fail.
  const issues = jsonIssues(value).filter((i) => i.message !== "symbol keys are not JSON data");
  const first = issues[0];
  const where = first !== undefined && first.path.length > 0 ? ` at ${first.path.join(".")}` : "";
  return new ValidationError(
    `Value for key ${JSON.stringify(key)} is not JSON data${where}: ${first?.message ?? "it changed while it was read"}`,
    issues.length > 0 ? issues : [{ path: [], message: "not JSON data" }],
  );
}

/**
 * Checks that `value` is JSON data of at most `maxBytes` bytes and returns a deeply frozen copy
 * that shares nothing mutable with the caller; nodes already frozen by a store are reused as is.
 * One walk validates, measures, copies and freezes. `keyPrefix + key` only names the value in
 * errors (taken apart so that a write does not join them unless it fails).
 * @throws ValidationError (nothing is returned, so nothing can be written)
 * @internal
 */
export function toStoredValue(value: unknown, maxBytes: number, key: string, keyPrefix = ""): unknown {
  let out: unknown;
  try {
    out = walk(value, 0, undefined);
  } catch (err) {
    if (err === INVALID) throw invalid(value, keyPrefix + key);
    if (err !== TOO_DEEP) throw err;
    try {
      out = walk(value, 0, new Set());
    } catch (deep) {
      if (deep === INVALID) throw invalid(value, keyPrefix + key);
      if (deep instanceof RangeError) {
        throw new ValidationError(`Value for key ${JSON.stringify(keyPrefix + key)} is nested too deeply to store`, [
          { path: [], message: "nested too deeply" },
        ]);
      }
      throw deep;
    }
  }
  if (lastSize > maxBytes) {
    throw new ValidationError(
      `Value for key ${JSON.stringify(keyPrefix + key)} is ${lastSize} bytes of JSON, more than maxValueBytes (${maxBytes})`,
      [{ path: [], message: `${lastSize} bytes exceeds the limit of ${maxBytes}` }],
    );
  }
  return out;
}

/**
 * JSON equality of a stored value `a` with any value `b`: same primitives, arrays of equal
 * items in order, plain objects with the same keys (in any order) and equal values.
 * @internal
 */
export function jsonEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEquals(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const proto: unknown = getProto(b);
  if (proto !== objectProto && proto !== null) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) {
    if (!hasOwn(b, k) || !jsonEquals((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}
