import type { CommunicationHub } from "../channels/index.js";
import type { ReactiveCoordinator } from "../events/index.js";
import type { Clock } from "../runtime/clock.js";
import type { NamespacedState } from "../state/index.js";
import type { SynchronizationManager } from "../sync/index.js";
import type { AgentContext } from "./context.js";
import type { CoordinatedAgent } from "./coordinated-agent.js";

/** What every agent of one system shares: one object per system, not per agent. @internal */
export interface AgentHost {
  readonly state: NamespacedState;
  readonly communication: CommunicationHub;
  readonly sync: SynchronizationManager;
  readonly events: ReactiveCoordinator;
  readonly clock: Clock;
  callAs(from: string, name: string, input: unknown, opts: { timeout?: number; signal?: AbortSignal } | undefined): Promise<unknown>;
  /** Id for a task submitted without one. */
  nextTaskId(): string;
  /** Runs before every handler invocation; may throw (fault injection in test systems). */
  readonly beforeHandle: ((agent: CoordinatedAgent) => void) | undefined;
}

/**
 * An agent's context. A class with the shared services behind one host reference, so an idle
 * agent holds a small fixed-shape object and no closures; the abort signal is made on first
 * use (an AbortController is among the largest objects an idle agent would otherwise hold).
 * @internal
 */
export class SystemAgentContext implements AgentContext {
  readonly agentId: string;
  readonly #host: AgentHost;
  #controller: AbortController | undefined;
  #stopped: (() => unknown) | undefined;

  constructor(agentId: string, host: AgentHost) {
    this.agentId = agentId;
    this.#host = host;
  }

  get state(): NamespacedState {
    return this.#host.state;
  }

  get communication(): CommunicationHub {
    return this.#host.communication;
  }

  get sync(): SynchronizationManager {
    return this.#host.sync;
  }

  get events(): ReactiveCoordinator {
    return this.#host.events;
  }

  get clock(): Clock {
    return this.#host.clock;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#stopped !== undefined) this.#controller.abort(this.#stopped());
    }
    return this.#controller.signal;
  }

  /** The system's shared services. @internal */
  get host(): AgentHost {
    return this.#host;
  }

  call<O = unknown>(name: string, input: unknown, opts?: { timeout?: number; signal?: AbortSignal }): Promise<O> {
    return this.#host.callAs(this.agentId, name, input, opts) as Promise<O>;
  }

  /**
   * Aborts `signal` with the reason `reason()` makes, now or when the signal is first read:
   * stopping thousands of agents that never looked at their signal builds no error at all.
   * @internal
   */
  abort(reason: () => unknown): void {
    if (this.#stopped !== undefined) return;
    let made: { error: unknown } | undefined;
    this.#stopped = () => (made ??= { error: reason() }).error;
    this.#controller?.abort(this.#stopped());
  }
}
