import type { MultiAgentSystem } from "../agents/system.js";
import type { EventMapShape } from "../events/index.js";
import type { InspectOptions, Inspector } from "./types.js";

export type { InspectOptions, Inspector } from "./types.js";

/**
 * Starts the inspector page for `system`: the same as `system.inspect(opts)`, for code that
 * prefers a function. Loopback by default, read-only unless `allowCalls`, and every request
 * must carry the access token of the returned (and printed) URL.
 *
 * @example
 * ```ts
 * import { inspect } from "covey/inspector";
 * const { url, close } = await inspect(system, { allowCalls: true });
 * ```
 */
export function inspect<E extends EventMapShape<E>>(system: MultiAgentSystem<E>, opts?: InspectOptions): Promise<Inspector> {
  return system.inspect(opts);
}
