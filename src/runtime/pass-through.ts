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

/**
 * Whether `error` was marked with {@link passThrough}, removing the mark: an error handed to
 * its caller as it is must not pass through again when that caller's own handler rethrows it
 * (there it is a failure of that handler, to be wrapped in a HandlerError). @internal
 */
export function takePassThrough(error: unknown): boolean {
  return typeof error === "object" && error !== null && marked.delete(error);
}
