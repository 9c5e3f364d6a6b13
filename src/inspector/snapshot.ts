import type { MultiAgentSystem } from "../agents/system.js";
import type { MeshSource } from "./mesh-source.js";
import type { StateChange, StateEntry } from "../state/types.js";
import { toWire } from "./wire.js";

/** Keys listed per namespace in one State snapshot; the page says when there are more. */
const KEYS_PER_NAMESPACE = 2000;

/**
 * Every agent instance with its load, mailbox depth and state, plus the requests waiting for a
 * reply; on a mesh, also every process's agents with their liveness.
 * @internal
 */
export function agentsSnapshot(system: MultiAgentSystem, mesh?: MeshSource): unknown {
  const agents = [...system.agents.values()].map((a) => ({
    agentId: a.agentId,
    name: a.name,
    capabilities: a.capabilities,
    state: a.state,
    active: a.active,
    load: a.load,
    queued: a.queued,
    running: a.running,
  }));
  const snapshot: Record<string, unknown> = { now: system.clock.now(), agents, pendingRequests: system.communication.requestReply.pendingRequests() };
  if (mesh !== undefined) snapshot["mesh"] = mesh.agents();
  return snapshot;
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

/** Locks, semaphores and barriers (the sync manager's snapshot) and every stream held. @internal */
export function coordinationSnapshot(system: MultiAgentSystem): unknown {
  const streaming = system.communication.streaming;
  const streams = [];
  for (const id of streaming.streamIds()) {
    const info = streaming.info(id);
    if (info !== undefined) streams.push({ id, ...info });
  }
  return { now: system.clock.now(), sync: toWire(system.sync.snapshot(), 262144), streams };
}

/** The retained event log, oldest first. @internal */
export function eventsSnapshot(system: MultiAgentSystem, limit: number): unknown {
  return system.events.eventBus.getHistory({ limit }).map((e) => toWire(e, 4096));
}
