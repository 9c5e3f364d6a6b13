const marked = new WeakSet<object>();

/**
 * Marks an error that a request handler rejects with as the caller's own answer: the
 * request-reply channel hands it to the caller as it is instead of wrapping it in a
 * HandlerError. Used for "this agent was stopped" (ClosedError), which is not a failure of
 * the handler's logic.
 * @internal
 */
export function passThrough<E extends object>(error: E): E {
  marked.add(error);
  return error;
}

/** Whether `error` was marked with {@link passThrough}. @internal */
export function isPassThrough(error: unknown): boolean {
  return typeof error === "object" && error !== null && marked.has(error);
}
