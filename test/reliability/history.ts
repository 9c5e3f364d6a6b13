import fc from "fast-check";
import { isDeepStrictEqual } from "node:util";
import { VersionConflictError } from "../../src/errors.js";
import type { StateEntry, StateStore } from "../../src/state/index.js";
import { produce } from "immer";
import { immerRecipe, type Input, type Json, type Operation, type Output, type RecipeName } from "./linearizability.js";

/** One generated client operation; concrete arguments are filled in from what the client saw. */
export interface OpSpec {
  readonly key: string;
  readonly kind: "get" | "set" | "delete" | "cas" | "update";
  readonly n: number;
  /** set/delete: which expectedVersion to send. */
  readonly expect: "none" | "zero" | "seen" | "bogus";
  /** cas: what to expect. */
  readonly casExpect: "seen" | "absent" | "literal";
  readonly recipe: RecipeName;
}

export const opSpecArb = (keys: readonly string[]): fc.Arbitrary<OpSpec> =>
  fc.record({
    key: fc.constantFrom(...keys),
    kind: fc.constantFrom("get", "set", "set", "delete", "cas", "update", "update"),
    n: fc.integer({ min: 0, max: 3 }),
    expect: fc.constantFrom("none", "none", "zero", "seen", "seen", "bogus"),
    casExpect: fc.constantFrom("seen", "seen", "absent", "literal"),
    recipe: fc.constantFrom("increment", "append"),
  });

/** Several clients, each a short sequence of operations. */
export const clientsArb = (keys: readonly string[], clients = 3, maxOps = 6): fc.Arbitrary<OpSpec[][]> =>
  fc.array(fc.array(opSpecArb(keys), { minLength: 1, maxLength: maxOps }), { minLength: 2, maxLength: clients });

interface Seen {
  value: Json | undefined;
  version: number;
}

function entryOutput(e: StateEntry): Output {
  return { kind: "entry", value: e.value as Json, version: e.version };
}

function errorOutput(err: unknown): Output {
  if (err instanceof VersionConflictError) return { kind: "conflict" };
  return { kind: "error", name: err instanceof Error ? err.name : typeof err };
}

/**
 * Runs every client concurrently against `store`, with fast-check's scheduler choosing when
 * each invocation reaches the store and when each response reaches its client, and records
 * the history with logical invoke/return times.
 */
export async function recordHistory(s: fc.Scheduler, store: StateStore, clients: readonly OpSpec[][]): Promise<Operation[]> {
  let tick = 0;
  const history: Operation[] = [];
  const run = async (client: number, specs: readonly OpSpec[]): Promise<void> => {
    const seen = new Map<string, Seen>();
    for (const spec of specs) {
      const last = seen.get(spec.key);
      let input: Input;
      switch (spec.kind) {
        case "get":
          input = { kind: "get" };
          break;
        case "set":
        case "delete": {
          const ev =
            spec.expect === "none" ? undefined : spec.expect === "zero" ? 0 : spec.expect === "seen" ? (last?.version ?? 0) : 1e9;
          input = spec.kind === "set" ? { kind: "set", value: { n: spec.n }, ...(ev === undefined ? {} : { expectedVersion: ev }) } : { kind: "delete", ...(ev === undefined ? {} : { expectedVersion: ev }) };
          break;
        }
        case "cas":
          input = {
            kind: "cas",
            expected: spec.casExpect === "seen" ? last?.value : spec.casExpect === "absent" ? undefined : { n: spec.n },
            value: { n: spec.n + 10 },
          };
          break;
        case "update":
          input = { kind: "update", recipe: spec.recipe };
          break;
      }
      const call = ++tick;
      await s.schedule(Promise.resolve(), `c${client} invoke ${spec.kind} ${spec.key}`);
      let output: Output;
      try {
        output = await execute(store, spec.key, input);
      } catch (err) {
        output = errorOutput(err);
      }
      if (output.kind === "entry") seen.set(spec.key, { value: output.value, version: output.version });
      else if (output.kind === "absent") seen.delete(spec.key);
      await s.schedule(Promise.resolve(), `c${client} return ${spec.kind} ${spec.key}`);
      const ret = ++tick;
      history.push({ client, key: spec.key, input, output, call, ret });
    }
  };
  await s.waitFor(Promise.all(clients.map((specs, i) => run(i, specs))));
  await s.waitAll();
  return history;
}

async function execute(store: StateStore, key: string, input: Input): Promise<Output> {
  switch (input.kind) {
    case "get": {
      const e = await store.get(key);
      return e === undefined ? { kind: "absent" } : entryOutput(e);
    }
    case "set":
      return entryOutput(
        await store.set(key, input.value, input.expectedVersion === undefined ? {} : { expectedVersion: input.expectedVersion }),
      );
    case "delete":
      return { kind: "bool", ok: await store.delete(key, input.expectedVersion === undefined ? {} : { expectedVersion: input.expectedVersion }) };
    case "cas":
      return { kind: "bool", ok: await store.compareAndSwap(key, input.expected, input.value) };
    case "update":
      return entryOutput(await store.update(key, immerRecipe(input.recipe)));
  }
}

/**
 * A deliberately broken store: every conditional write checks, then awaits (a scheduling
 * point, as a remote read would be), then writes unconditionally. Lost updates and stale
 * compare-and-swaps follow; the checker must catch them.
 */
export function brokenStore(inner: StateStore, s: fc.Scheduler): StateStore {
  const pause = (): Promise<void> => s.schedule(Promise.resolve(), "broken: between check and write");
  const broken: StateStore = {
    get: (key) => inner.get(key),
    async set(key, value, opts) {
      const cur = await inner.get(key);
      await pause();
      const ev = opts?.expectedVersion;
      if (ev !== undefined && (cur?.version ?? 0) !== ev) throw new VersionConflictError(key, ev, cur?.version ?? 0);
      return inner.set(key, value);
    },
    async delete(key, opts) {
      const cur = await inner.get(key);
      await pause();
      const ev = opts?.expectedVersion;
      if (ev !== undefined && (cur?.version ?? 0) !== ev) throw new VersionConflictError(key, ev, cur?.version ?? 0);
      return inner.delete(key);
    },
    async compareAndSwap(key, expected, value) {
      const cur = await inner.get(key);
      await pause();
      if (!isDeepStrictEqual(cur?.value, expected)) return false;
      await inner.set(key, value);
      return true;
    },
    async update(key, fn) {
      const cur = await inner.get(key);
      await pause();
      // The recipe applied to a stale read, written without a version check: a lost update.
      const next: unknown = produce<unknown>(cur?.value, fn as (d: unknown) => unknown);
      return inner.set(key, next) as never;
    },
    keys: (prefix) => inner.keys(prefix),
    watch: (filter, listener) => inner.watch(filter, listener),
    history: (opts) => inner.history(opts),
  };
  return broken;
}
