import type { RequestScope } from "../channels/transport.js";
import { TimeoutError } from "../errors.js";
import { onAbort } from "../runtime/abort.js";
import type { TimerQueue } from "../runtime/timer-queue.js";

/** The scope of a submitted task: like a request's, but owned by `submitTask` itself. */
class TaskScope implements RequestScope {
  readonly deadlineAt: number;
  done = false;
  cancelled = false;
  cancelReason: unknown = undefined;
  onEnd: ((cancelled: boolean, reason: unknown) => void) | undefined = undefined;

  constructor(deadlineAt: number) {
    this.deadlineAt = deadlineAt;
  }

  end(cancelled: boolean, reason: unknown): void {
    this.done = true;
    this.cancelled = cancelled;
    this.cancelReason = reason;
    const onEnd = this.onEnd;
    this.onEnd = undefined;
    onEnd?.(cancelled, reason);
  }
}

/**
 * Runs `run(scope)` and settles with its outcome, unless `timeout` passes or `signal` aborts
 * first: then it rejects at once and ends the scope cancelled, so queued work never starts and
 * running work sees its signal abort. Leaves no deadline or listener behind. @internal
 */
export function runScoped(
  timers: TimerQueue,
  timeout: number | undefined,
  signal: AbortSignal | undefined,
  what: string,
  run: (scope: RequestScope) => Promise<unknown>,
): Promise<unknown> {
  if (timeout === undefined && signal === undefined) {
    // Nothing can cancel it, but the scope must still end: a handler that read its signal is
    // registered with its agent until then (a task that never ended its scope leaked it).
    const scope = new TaskScope(Infinity);
    return run(scope).finally(() => scope.end(false, undefined));
  }
  const scope = new TaskScope(timeout === undefined ? Infinity : timers.clock.now() + timeout);
  return new Promise((resolve, reject) => {
    const finish = (cancelled: boolean, outcome: unknown, ok: boolean): void => {
      if (scope.done) return;
      deadline?.cancel();
      off?.();
      scope.end(cancelled, cancelled ? outcome : undefined);
      if (ok) resolve(outcome);
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a TimeoutError, the signal's reason, or what the task threw
      else reject(outcome);
    };
    const deadline = timeout === undefined ? undefined : timers.add(timeout, () => finish(true, new TimeoutError(what, timeout), false));
    const off = signal === undefined ? undefined : onAbort(signal, (reason) => finish(true, reason, false));
    run(scope).then(
      (value) => finish(false, value, true),
      (error: unknown) => finish(false, error, false),
    );
  });
}
