import type { CommunicationHub } from "../channels/index.js";
import type { ReactiveCoordinator } from "../events/index.js";
import type { Clock } from "../runtime/clock.js";
import type { NamespacedState } from "../state/index.js";
import type { StateStore } from "../state/types.js";
import type { SynchronizationManager } from "../sync/index.js";
import type { AnyAgentSpec, InputOf, OutputOf } from "./spec.js";

/** Options of a call: how long to wait, and a signal to give up early. */
export interface CallOptions {
  /** ms on the system's clock. @default 30000 */
  timeout?: number;
  /** Aborting it rejects the call with the signal's reason and cancels the request. */
  signal?: AbortSignal;
}

/**
 * Everything an agent can reach: the system's state, channels, sync, events and clock.
 *
 * A handler receives a context of its own request: its `signal` aborts when that request's
 * caller gives up, and the calls and waits it makes through the context inherit that signal
 * and never outlive the caller's deadline. An agent's long-lived `context` (outside any
 * request) has the agent-wide signal as `signal`.
 */
export interface AgentContext {
  readonly agentId: string;
  /** The system's namespaced state; namespaces "shared" and "agents" exist. */
  readonly state: NamespacedState;
  /** The "shared" namespace, like `system.kv`: `state.namespace("shared")`. */
  readonly kv: StateStore;
  /**
   * The system's channels. In a handler, `requestReply.request`, `streaming.send` /
   * `receive` / `iterate` made without a `signal` use this request's `signal`, and requests
   * never wait past the caller's remaining deadline.
   */
  readonly communication: CommunicationHub;
  /**
   * The system's locks, barriers and semaphores. In a handler, `acquire`, `withLock` and
   * `wait` made without a `signal` use this request's `signal`: a cancelled request stops
   * waiting for them.
   */
  readonly sync: SynchronizationManager;
  readonly events: ReactiveCoordinator;
  readonly clock: Clock;
  /**
   * This request's signal. It aborts when the request's caller times out (reason: the
   * caller's `TimeoutError`), when the caller's signal aborts (its reason), or when the agent
   * is removed or the system shuts down (`ClosedError`). Pass it to long work (model calls,
   * tools, `sleep`) so a cancelled request stops costing. The handler keeps its concurrency
   * slot until it returns, aborted or not.
   */
  readonly signal: AbortSignal;
  /** Aborted when this agent stops (removed, or the system shut down), whatever request runs. */
  readonly agentSignal: AbortSignal;
  /**
   * Calls another agent, as this agent: by the value `defineAgent` returned (input and
   * output typed from its contract) or by name. Same as `system.call` otherwise, except that
   * in a handler, without an explicit `signal` the call uses this request's `signal`, and its
   * timeout never exceeds the caller's remaining deadline: one cancelled request cancels the
   * whole chain.
   */
  call<S extends AnyAgentSpec>(spec: S, input: InputOf<S>, opts?: CallOptions): Promise<OutputOf<S>>;
  call<O = unknown>(name: string, input: unknown, opts?: CallOptions): Promise<O>;
  /**
   * A number in [0, 1): from the run's seed in test systems (so simulated delays and choices
   * replay exactly), `Math.random` otherwise.
   */
  random(): number;
}
