import type { CommunicationHub } from "../channels/index.js";
import type { ReactiveCoordinator } from "../events/index.js";
import type { Clock } from "../runtime/clock.js";
import type { NamespacedState } from "../state/index.js";
import type { StateStore } from "../state/types.js";
import type { SynchronizationManager } from "../sync/index.js";
import type { AgentContext, CallOptions } from "./context.js";
import type { CoordinatedAgent } from "./coordinated-agent.js";
import type { ActivityTracker } from "./mailbox.js";
import type { AnyAgentSpec, InputOf, OutputOf } from "./spec.js";

/** What every agent of one system shares: one object per system, not per agent. @internal */
export interface AgentHost {
  readonly state: NamespacedState;
  readonly kv: StateStore;
  readonly communication: CommunicationHub;
  readonly sync: SynchronizationManager;
  readonly events: ReactiveCoordinator;
  readonly clock: Clock;
  /** Handlers running across the system's agents (what `idle()` waits for). */
  readonly activity: ActivityTracker;
  readonly random: () => number;
  callAs(from: string, name: unknown, input: unknown, opts: CallOptions | undefined): Promise<unknown>;
  /** Id for a task submitted without one. */
  nextTaskId(): string;
  /** Runs before every handler invocation; may throw (fault injection in test systems). */
  readonly beforeHandle: ((agent: CoordinatedAgent) => void) | undefined;
}

/** A request context that made its own signal: the agent aborts it when it stops. @internal */
export interface StopListener {
  stop(reason: unknown): void;
}

/** The address of a call: a spec's name, or the name itself (checked by the channel). @internal */
export function targetName(target: unknown): unknown {
  return target !== null && typeof target === "object" && typeof (target as { name?: unknown }).name === "string"
    ? (target as { name: string }).name
    : target;
}

/**
 * An agent's long-lived context (`agent.context`). A class with the shared services behind one
 * host reference, so an idle agent holds a small fixed-shape object and no closures; the
 * abort signal is made on first use (an AbortController is among the largest objects an idle
 * agent would otherwise hold). Outside a request, `signal` is the agent-wide signal.
 * @internal
 */
export class SystemAgentContext implements AgentContext {
  readonly agentId: string;
  readonly #host: AgentHost;
  #controller: AbortController | undefined;
  #stopped: (() => unknown) | undefined;
  /** Request contexts of running handlers that made a signal (only those). */
  #listeners: Set<StopListener> | undefined;

  constructor(agentId: string, host: AgentHost) {
    this.agentId = agentId;
    this.#host = host;
  }

  get state(): NamespacedState {
    return this.#host.state;
  }

  get kv(): StateStore {
    return this.#host.kv;
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

  get agentSignal(): AbortSignal {
    return this.signal;
  }

  /** The system's shared services. @internal */
  get host(): AgentHost {
    return this.#host;
  }

  /** Why the agent stopped (a ClosedError), or undefined while it runs. @internal */
  stopReason(): unknown {
    return this.#stopped?.();
  }

  /** Whether the agent stopped. @internal */
  get stopped(): boolean {
    return this.#stopped !== undefined;
  }

  call<S extends AnyAgentSpec>(spec: S, input: InputOf<S>, opts?: CallOptions): Promise<OutputOf<S>>;
  call<O = unknown>(name: string, input: unknown, opts?: CallOptions): Promise<O>;
  call(target: unknown, input: unknown, opts?: CallOptions): Promise<unknown> {
    return this.#host.callAs(this.agentId, targetName(target), input, opts);
  }

  random(): number {
    return this.#host.random();
  }

  /** Aborts `listener` when the agent stops. @internal */
  watch(listener: StopListener): void {
    (this.#listeners ??= new Set()).add(listener);
  }

  /** @internal */
  unwatch(listener: StopListener): void {
    this.#listeners?.delete(listener);
  }

  /** Running requests whose signal waits for this agent to stop. @internal */
  get watching(): number {
    return this.#listeners?.size ?? 0;
  }

  /**
   * Aborts `signal` (and every running request's) with the reason `reason()` makes, now or
   * when the signal is first read: stopping thousands of agents that never looked at their
   * signal builds no error at all.
   * @internal
   */
  abort(reason: () => unknown): void {
    if (this.#stopped !== undefined) return;
    let made: { error: unknown } | undefined;
    this.#stopped = () => (made ??= { error: reason() }).error;
    this.#controller?.abort(this.#stopped());
    const listeners = this.#listeners;
    if (listeners !== undefined) {
      this.#listeners = undefined;
      for (const l of listeners) l.stop(this.#stopped());
    }
  }
}
