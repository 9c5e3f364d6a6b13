import type { MultiAgentSystem } from "../agents/system.js";
import type { StateChange, StateEntry } from "../state/types.js";
import { toWire } from "./wire.js";

/** Keys listed per namespace in one State snapshot; the page says when there are more. */
const KEYS_PER_NAMESPACE = 2000;

/** Reads an optional member another part of covey may not offer (yet), without `any`. */
function member(target: object, name: string): unknown {
  return (target as Record<string, unknown>)[name];
}

function numberOrString(value: unknown): number | string | undefined {
  return typeof value === "number" || typeof value === "string" ? value : undefined;
}

/** Every agent instance with its load and mailbox, plus the requests waiting for a reply. @internal */
export function agentsSnapshot(system: MultiAgentSystem): unknown {
  const agents = [...system.agents.values()].map((a) => {
    const row: Record<string, unknown> = {
      agentId: a.agentId,
      name: a.name,
      capabilities: a.capabilities,
      active: a.active,
      load: a.load,
    };
    for (const key of ["queued", "running", "state"]) {
      const value = numberOrString(member(a, key));
      if (value !== undefined) row[key] = value;
    }
    return row;
  });
  const pending = member(system.communication.requestReply, "pendingRequests");
  return {
    now: system.clock.now(),
    agents,
    pendingRequests: typeof pending === "function" ? toWire((pending as () => unknown).call(system.communication.requestReply), 65536) : null,
  };
}

/** The catalog with JSON Schemas, and whether the page may call. @internal */
export function catalogSnapshot(system: MultiAgentSystem, allowCalls: boolean): unknown {
  return { allowCalls, entries: system.catalog() };
}

function entryRow(entry: StateEntry, maxChars: number): Record<string, unknown> {
  return {
    key: entry.key,
    version: entry.version,
    updatedBy: entry.updatedBy,
    timestamp: entry.timestamp,
    value: toWire(entry.value, maxChars),
  };
}

/** Keys by namespace with value previews, version, writer and time. @internal */
export async function stateSnapshot(system: MultiAgentSystem): Promise<unknown> {
  const namespaces = [];
  for (const name of system.state.namespaces) {
    const store = system.state.namespace(name);
    const keys = await store.keys();
    const rows = [];
    for (const key of keys.slice(0, KEYS_PER_NAMESPACE)) {
      const entry = await store.get(key);
      if (entry !== undefined) rows.push(entryRow(entry, 512));
    }
    namespaces.push({ name, total: keys.length, keys: rows });
  }
  return { now: system.clock.now(), namespaces };
}

/** One key's current entry (full value) and its retained history, oldest first. @internal */
export async function keySnapshot(system: MultiAgentSystem, namespace: string, key: string): Promise<unknown> {
  const store = system.state.namespace(namespace);
  const entry = await store.get(key);
  const history = await store.history({ key });
  return {
    namespace,
    key,
    entry: entry === undefined ? null : entryRow(entry, 262144),
    history: history.map((c) => changeRow(namespace, c, 262144)),
  };
}

/** A state change as the page receives it. @internal */
export function changeRow(namespace: string, change: StateChange, maxChars = 512): unknown {
  return {
    namespace,
    type: change.type,
    key: change.key,
    entry: change.entry === undefined ? null : entryRow(change.entry, maxChars),
    previous: change.previous === undefined ? null : { version: change.previous.version, updatedBy: change.previous.updatedBy },
  };
}

/**
 * Locks, semaphores, barriers (from the sync manager's snapshot) and streams: the ones the
 * streaming channel lists, if it can, else the ids the page asks about.
 * @internal
 */
export function coordinationSnapshot(system: MultiAgentSystem, streamIds: readonly string[]): unknown {
  const streaming = system.communication.streaming;
  const listed = member(streaming, "streamIds");
  const ids = typeof listed === "function" ? [...(listed as () => Iterable<string>).call(streaming)] : streamIds;
  const streams = [];
  for (const id of ids) {
    const info = streaming.info(id);
    streams.push(info === undefined ? { id, missing: true } : { id, ...info });
  }
  return {
    now: system.clock.now(),
    sync: toWire(system.sync.snapshot(), 262144),
    streamsListed: typeof listed === "function",
    streams,
  };
}

/** The retained event log, oldest first. @internal */
export function eventsSnapshot(system: MultiAgentSystem, limit: number): unknown {
  return system.events.eventBus.getHistory({ limit }).map((e) => toWire(e, 4096));
}
