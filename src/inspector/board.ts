import type { MultiAgentSystem } from "../agents/system.js";
import { toWire } from "./wire.js";

/** The namespace the board keeps its records in. */
const BOARD_NAMESPACE = "board";

/**
 * The task board as the page shows it — tasks (with their tracks and claims), dashboards and
 * inboxes — read from the board's namespace, or why there is nothing to show.
 * @internal
 */
export async function boardSnapshot(system: MultiAgentSystem): Promise<unknown> {
  if (!system.state.namespaces.has(BOARD_NAMESPACE)) {
    return { inUse: false, reason: `No board on this system (no "${BOARD_NAMESPACE}" namespace): createBoard(system) starts one.` };
  }
  const store = system.state.namespace(BOARD_NAMESPACE);
  const read = async (prefix: string): Promise<unknown[]> => {
    const out: unknown[] = [];
    for (const key of await store.keys(prefix)) {
      const entry = await store.get(key);
      if (entry !== undefined) out.push(toWire(entry.value, 65536));
    }
    return out;
  };
  return {
    inUse: true,
    namespace: BOARD_NAMESPACE,
    now: system.clock.now(),
    projects: await read("project:"),
    milestones: await read("milestone:"),
    tasks: await read("task:"),
    dashboards: await read("dash:"),
    messages: await read("msg:"),
  };
}
