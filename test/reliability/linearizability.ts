import { isDeepStrictEqual } from "node:util";

/**
 * A small Porcupine-style linearizability checker for a versioned key-value register.
 *
 * A history is a list of completed operations with invocation and response times taken from
 * one logical counter. The history is partitioned by key (operations on different keys
 * commute), and for each key a depth-first search looks for an order of the operations that
 * (1) respects real time: an operation that returned before another was invoked comes first,
 * and (2) is legal for the sequential model below. Visited (linearized set, model state) pairs
 * are cached, as in Porcupine, so the search stays small.
 *
 * The model: a key is absent or holds a value with a version. Versions are opaque: the model
 * only checks that every write's version is strictly greater than every version the key had
 * before (also across deletes) and that a read returns the latest committed value and version.
 * compareAndSwap does not report the version it wrote, so after it the version is unknown
 * (only bounded below) until a later operation reveals it.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What a client asked the store to do. */
export type Input =
  | { readonly kind: "get" }
  | { readonly kind: "set"; readonly value: Json; readonly expectedVersion?: number }
  | { readonly kind: "delete"; readonly expectedVersion?: number }
  | { readonly kind: "cas"; readonly expected: Json | undefined; readonly value: Json }
  | { readonly kind: "update"; readonly recipe: RecipeName };

/** What the store answered. */
export type Output =
  | { readonly kind: "entry"; readonly value: Json; readonly version: number }
  | { readonly kind: "absent" }
  | { readonly kind: "bool"; readonly ok: boolean }
  | { readonly kind: "conflict" }
  /** Any other error: the operation must have had no effect. */
  | { readonly kind: "error"; readonly name: string };

export interface Operation {
  readonly client: number;
  readonly key: string;
  readonly input: Input;
  readonly output: Output;
  /** Logical invocation time. */
  readonly call: number;
  /** Logical response time; greater than `call`. */
  readonly ret: number;
}

/** The update recipes histories may use; the model applies the same function. */
export type RecipeName = "increment" | "append";

/** The recipes as pure functions of the previous value (undefined = absent). */
export function applyRecipe(name: RecipeName, previous: Json | undefined): Json {
  const base = (typeof previous === "object" && previous !== null && !Array.isArray(previous) ? previous : {}) as {
    n?: Json;
    log?: Json;
  };
  if (name === "increment") return { ...base, n: (typeof base.n === "number" ? base.n : 0) + 1 };
  const log = Array.isArray(base.log) ? base.log : [];
  return { ...base, log: [...log, log.length] };
}

/** An immer recipe for the store that has the same effect as {@link applyRecipe}. */
export function immerRecipe(name: RecipeName): (draft: unknown) => unknown {
  return (draft) => {
    if (draft === undefined || draft === null || typeof draft !== "object" || Array.isArray(draft)) return applyRecipe(name, draft as Json);
    const d = draft as { n?: unknown; log?: unknown };
    if (name === "increment") d.n = (typeof d.n === "number" ? d.n : 0) + 1;
    else if (Array.isArray(d.log)) (d.log as number[]).push(d.log.length);
    else d.log = [0];
    return undefined;
  };
}

interface State {
  readonly present: boolean;
  readonly value: Json | undefined;
  /** Current version; undefined when a compareAndSwap wrote a version nobody has seen yet. */
  readonly version: number | undefined;
  /** Every version the key ever had is <= floor (or, when version is undefined, < that version). */
  readonly floor: number;
}

const initial: State = { present: false, value: undefined, version: undefined, floor: 0 };

/** The model's version is `v` (pinning an unknown version when that is consistent). */
function versionIs(s: State, v: number): State | undefined {
  if (!s.present) return undefined;
  if (s.version !== undefined) return s.version === v ? s : undefined;
  return v > s.floor ? { ...s, version: v, floor: v } : undefined;
}

/** Could the version differ from `v`? (Always possible while it is unknown.) */
function versionIsNot(s: State, v: number): boolean {
  return !s.present || s.version === undefined || s.version !== v;
}

function written(s: State, value: Json, version: number): State | undefined {
  if (!(version > s.floor)) return undefined;
  return { present: true, value, version, floor: version };
}

/** The next model state if `op` can take effect now, else undefined. */
export function step(s: State, op: Operation): State | undefined {
  const { input, output } = op;
  if (output.kind === "error") return s;
  switch (input.kind) {
    case "get":
      if (output.kind === "absent") return s.present ? undefined : s;
      if (output.kind !== "entry") return undefined;
      if (!s.present || !isDeepStrictEqual(s.value, output.value)) return undefined;
      return versionIs(s, output.version);
    case "set": {
      const e = input.expectedVersion;
      if (output.kind === "conflict") {
        if (e === undefined) return undefined;
        return (e === 0 ? s.present : versionIsNot(s, e)) ? s : undefined;
      }
      if (output.kind !== "entry" || !isDeepStrictEqual(output.value, input.value)) return undefined;
      let from: State | undefined = s;
      if (e === 0) from = s.present ? undefined : s;
      else if (e !== undefined) from = versionIs(s, e);
      return from === undefined ? undefined : written(from, output.value, output.version);
    }
    case "delete": {
      const e = input.expectedVersion;
      if (output.kind === "conflict") {
        if (e === undefined) return undefined;
        return (e === 0 ? s.present : versionIsNot(s, e)) ? s : undefined;
      }
      if (output.kind !== "bool") return undefined;
      if (!output.ok) return s.present ? undefined : s;
      if (!s.present) return undefined;
      let from: State | undefined = s;
      if (e === 0) return undefined;
      if (e !== undefined) from = versionIs(s, e);
      if (from === undefined) return undefined;
      // The deleted version may still be unknown; keep the floor strict below it.
      return { present: false, value: undefined, version: undefined, floor: from.version ?? from.floor };
    }
    case "cas": {
      if (output.kind !== "bool") return undefined;
      const matches = isDeepStrictEqual(s.present ? s.value : undefined, input.expected);
      if (!output.ok) return matches ? undefined : s;
      if (!matches) return undefined;
      return { present: true, value: input.value, version: undefined, floor: s.version ?? s.floor };
    }
    case "update": {
      if (output.kind === "conflict") return s;
      if (output.kind !== "entry") return undefined;
      if (!isDeepStrictEqual(output.value, applyRecipe(input.recipe, s.present ? s.value : undefined))) return undefined;
      return written(s, output.value, output.version);
    }
  }
}

function stateKey(s: State): string {
  return `${s.present ? 1 : 0}|${s.version ?? "?"}|${s.floor}|${JSON.stringify(s.value)}`;
}

/** Result of checking one history. */
export interface CheckResult {
  readonly ok: boolean;
  /** The key whose operations have no linearization. */
  readonly key?: string;
  /** That key's operations, in invocation order. */
  readonly ops?: readonly Operation[];
  /** Search states visited over all keys. */
  readonly explored: number;
}

function checkKey(ops: readonly Operation[]): { ok: boolean; explored: number } {
  const n = ops.length;
  const done = new Uint8Array(n);
  const seen = new Set<string>();
  let explored = 0;
  const dfs = (s: State, count: number): boolean => {
    if (count === n) return true;
    let minRet = Infinity;
    for (let i = 0; i < n; i++) if (done[i] === 0 && ops[i]!.ret < minRet) minRet = ops[i]!.ret;
    for (let i = 0; i < n; i++) {
      const op = ops[i]!;
      // Only an operation invoked before every pending one returned can be linearized next.
      if (done[i] !== 0 || op.call > minRet) continue;
      const next = step(s, op);
      if (next === undefined) continue;
      done[i] = 1;
      const memo = `${done.join("")}#${stateKey(next)}`;
      if (!seen.has(memo)) {
        seen.add(memo);
        explored++;
        if (dfs(next, count + 1)) return true;
      }
      done[i] = 0;
    }
    return false;
  };
  const ok = dfs(initial, 0);
  return { ok, explored };
}

/** Checks that `history` is linearizable against the versioned register model, key by key. */
export function checkLinearizable(history: readonly Operation[]): CheckResult {
  const byKey = new Map<string, Operation[]>();
  for (const op of history) {
    if (!(op.ret > op.call)) throw new Error(`operation returned at ${op.ret} before its call at ${op.call}`);
    let list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, (list = []));
    list.push(op);
  }
  let explored = 0;
  for (const [key, ops] of byKey) {
    ops.sort((a, b) => a.call - b.call);
    const r = checkKey(ops);
    explored += r.explored;
    if (!r.ok) return { ok: false, key, ops, explored };
  }
  return { ok: true, explored };
}

/** A readable rendering of a failing key's operations. */
export function describeOps(ops: readonly Operation[]): string {
  return ops
    .map((o) => `[${o.call},${o.ret}] c${o.client} ${o.key} ${JSON.stringify(o.input)} -> ${JSON.stringify(o.output)}`)
    .join("\n");
}
