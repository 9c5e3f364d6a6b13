import type { Backend } from "../backend.js";

/**
 * The default backend: everything in this process, nothing to install. State lives in an
 * InMemoryStateStore on the system's clock, requests and publications are handed to handlers
 * directly, ids come from per-system counters (deterministic). `createSystem()` uses it when
 * no backend is given; passing it explicitly changes nothing.
 * @example
 * ```ts
 * const system = createSystem({ backend: inProcessBackend() });
 * ```
 */
export function inProcessBackend(): Backend {
  return {
    kind: "in-process",
    idPrefix: "",
    // Every part left out is the system's own in-process default.
    attach: () => ({}),
    catalog: (local) => local,
    agentsChanged: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
