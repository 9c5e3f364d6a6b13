type AbortCallback = (reason: unknown) => void;

const watchers = new WeakMap<AbortSignal, Set<AbortCallback>>();

function dispatch(this: AbortSignal): void {
  const set = watchers.get(this);
  if (set === undefined) return;
  watchers.delete(this);
  for (const cb of set) cb(this.reason);
}

/**
 * Calls `cb` with the signal's reason when `signal` aborts; returns an idempotent remover.
 *
 * Many waits often share one signal (a request scope, an agent's stop signal). Adding one
 * listener per wait would pile thousands of listeners on it and trigger Node's
 * MaxListenersExceededWarning, so each signal carries one listener that fans out to a set;
 * when the last wait ends, the listener is removed and the signal holds nothing of ours.
 * @internal
 */
export function onAbort(signal: AbortSignal, cb: AbortCallback): () => void {
  let set = watchers.get(signal);
  if (set === undefined) {
    set = new Set();
    watchers.set(signal, set);
    signal.addEventListener("abort", dispatch, { once: true });
  }
  set.add(cb);
  return () => {
    const current = watchers.get(signal);
    if (current === undefined || !current.delete(cb)) return;
    if (current.size === 0) {
      watchers.delete(signal);
      signal.removeEventListener("abort", dispatch);
    }
  };
}
