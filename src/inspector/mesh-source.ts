import type { MultiAgentSystem } from "../agents/system.js";

/**
 * What an inspector joined to a mesh adds to its pages: the agents of every process with their
 * liveness. Kept apart from the NATS code so the in-process inspector loads none of it.
 * @internal
 */
export interface MeshSource {
  /** The mesh's agents as the Agents view shows them (JSON-ready). */
  agents(): unknown;
}

const sources = new WeakMap<MultiAgentSystem, MeshSource>();

/** Registers the mesh view of `system`; returns an idempotent unregister. @internal */
export function setMeshSource(system: MultiAgentSystem, source: MeshSource): () => void {
  sources.set(system, source);
  return () => {
    if (sources.get(system) === source) sources.delete(system);
  };
}

/** The mesh view registered for `system`, if any. @internal */
export function meshSource(system: MultiAgentSystem): MeshSource | undefined {
  return sources.get(system);
}
