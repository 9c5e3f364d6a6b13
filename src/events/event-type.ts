/**
 * The event types covey itself emits and reacts to. An `as const` object, so
 * `EventType.TASK_COMPLETED` has the literal type `"task_completed"`; any other non-empty
 * string is a valid event type too.
 *
 * @example
 * ```ts
 * await bus.emit({ type: EventType.TASK_COMPLETED, source: "worker", payload: { taskId: "t1" } });
 * ```
 */
export const EventType = Object.freeze({
  TASK_CREATED: "task_created",
  TASK_STARTED: "task_started",
  TASK_COMPLETED: "task_completed",
  TASK_FAILED: "task_failed",
  AGENT_JOINED: "agent_joined",
  AGENT_LEFT: "agent_left",
  STATE_CHANGED: "state_changed",
  ERROR_OCCURRED: "error_occurred",
} as const);

/** One of the built-in event type strings, e.g. `"task_completed"`. */
export type EventTypeName = (typeof EventType)[keyof typeof EventType];
