import type { CommunicationHub } from "../channels/index.js";
import type { ReactiveCoordinator } from "../events/index.js";
import type { Clock } from "../runtime/clock.js";
import type { NamespacedState } from "../state/index.js";
import type { SynchronizationManager } from "../sync/index.js";

/** Everything an agent can reach: the system's state, channels, sync, events and clock. */
export interface AgentContext {
  readonly agentId: string;
  /** The system's namespaced state; namespaces "shared" and "agents" exist. */
  readonly state: NamespacedState;
  readonly communication: CommunicationHub;
  readonly sync: SynchronizationManager;
  readonly events: ReactiveCoordinator;
  readonly clock: Clock;
  /** Aborted when this agent stops; pass it to long work so removal can interrupt it. */
  readonly signal: AbortSignal;
  /** Calls another agent by name, as this agent. Same as `system.call` otherwise. */
  call<O = unknown>(name: string, input: unknown, opts?: { timeout?: number; signal?: AbortSignal }): Promise<O>;
}
