import type { EventTransport } from "./event-transport.js";
import type { RuntimeOptions } from "../runtime/runtime.js";

/**
 * An event as handlers and the history see it.
 *
 * @typeParam P - the payload type; a typed bus derives it from its event map.
 * @typeParam T - the event type string; a typed bus narrows it to the key, so a `"*"`
 *   handler can tell events apart with `if (e.type === "task_completed")`.
 */
export interface CoveyEvent<P = Record<string, unknown>, T extends string = string> {
  /** Per-system id, e.g. `evt-1`. */
  id: string;
  type: T;
  /** Who emitted it, e.g. an agent id or `"event-bus"`. */
  source: string;
  /** Clock time of the emit, in ms. */
  timestamp: number;
  /** JSON data; passed by reference, so handlers must not mutate it. `{}` when none was given. */
  payload: P;
  /** `{}` when none was given. */
  metadata: Record<string, unknown>;
}

/**
 * Declares the event types a bus carries and the payload of each, for compile-time checks.
 *
 * @example
 * ```ts
 * type MyEvents = { task_completed: { taskId: string }; agent_joined: { agentId: string } };
 * const bus = new EventBus<MyEvents>();
 * ```
 */
export type EventMap = Record<string, object>;

/**
 * The constraint on a bus's event map: every payload is an object. Unlike
 * {@link EventMap} it also admits maps declared as an `interface` (which have no index
 * signature).
 */
export type EventMapShape<E> = { [K in keyof E]: object };

/** The untyped event map: any event type, any object payload. */
export type DefaultEvents = Record<string, Record<string, unknown>>;

/** Payload of the `error_occurred` event the bus emits when a handler fails. */
export interface ErrorOccurredPayload {
  /** The error's message (or the thrown value as a string). */
  error: string;
  /** The error's class name, e.g. `"TypeError"`; `"unknown"` for a non-Error value. */
  errorName: string;
  /** Type of the event whose handler failed. */
  eventType: string;
  /** Id of the event whose handler failed. */
  eventId: string;
  /** Source of the event whose handler failed. */
  eventSource: string;
}

/** Payload of the task events covey emits (`taskId`; the textbook's `task_id` is accepted too). */
export interface TaskEventPayload {
  taskId?: string;
  task_id?: string;
  [field: string]: unknown;
}

/** Payload of the agent events covey emits (`agentId`; the textbook's `agent_id` is accepted too). */
export interface AgentEventPayload {
  agentId?: string;
  agent_id?: string;
  [field: string]: unknown;
}

/**
 * The event types covey itself emits and reacts to (see `EventType`), with their payloads. A
 * typed bus always knows them; an event map can redeclare any of them with a stricter payload.
 */
export interface BuiltinEvents {
  task_created: TaskEventPayload;
  task_started: TaskEventPayload;
  /** `result`: what the task returned. */
  task_completed: TaskEventPayload;
  /** `error`: the failure's message. */
  task_failed: TaskEventPayload;
  /** `capabilities`: the agent's. */
  agent_joined: AgentEventPayload;
  agent_left: AgentEventPayload;
  state_changed: Record<string, unknown>;
  error_occurred: ErrorOccurredPayload;
}

/**
 * The events a bus with event map `E` carries: `E`'s plus the built-in ones it does not
 * redeclare. An untyped map (`string` keys) stays as it is: any type, any object payload.
 */
export type BusEvents<E> = string extends keyof E
  ? E
  : { [K in keyof E | keyof BuiltinEvents]: K extends keyof E ? E[K] : K extends keyof BuiltinEvents ? BuiltinEvents[K] : never };

/** The event type names a bus with event map `E` accepts. */
export type EventName<E> = keyof BusEvents<E> & string;

/** The event a handler of type `K` receives on a bus with event map `E` (a union over `K`). */
export type EventOf<E, K extends EventName<E> = EventName<E>> = {
  [T in K]: CoveyEvent<BusEvents<E>[T], T>;
}[K];

/** A handler; a returned promise is awaited before `emit` resolves. */
export type EventHandler<Ev = CoveyEvent> = (event: Ev) => void | Promise<unknown>;

/**
 * What `emit` takes. On a typed bus the payload is checked against the event map (and is
 * required where the map gives it required fields); on an untyped bus any object will do.
 */
export type EmitInput<E, K extends EventName<E>> = {
  type: K;
  source: string;
  metadata?: object | undefined;
} & (string extends keyof E
  ? { payload?: object | undefined }
  : Record<never, never> extends BusEvents<E>[K]
    ? { payload?: BusEvents<E>[K] | undefined }
    : { payload: BusEvents<E>[K] });

/** Options of {@link EventBus}. */
export interface EventBusOptions extends RuntimeOptions {
  /**
   * How many events `getHistory` can look back on; the oldest are dropped first.
   * @default 1000
   */
  historyLimit?: number;
  /**
   * Sees every error a handler throws or rejects with, and the event it was handling
   * (in addition to the `error_occurred` event the bus emits).
   */
  onError?: (error: unknown, event: CoveyEvent) => void;
  /** @internal where events travel across processes (a backend's); in-process when absent. */
  transport?: EventTransport | undefined;
}

/** Filters of {@link EventBus.getHistory}. */
export interface HistoryQuery {
  /** Only events of this type. */
  type?: string;
  /** Only events from this source. */
  source?: string;
  /**
   * At most this many events: the newest ones that match.
   * @default 100
   */
  limit?: number;
}
