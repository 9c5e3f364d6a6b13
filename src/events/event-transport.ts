import type { CoveyEvent } from "./types.js";

/**
 * What an {@link EventTransport} hands events to: the bus that attached it.
 * @internal
 */
export interface EventSink {
  /** How many events the bus's history keeps (its `historyLimit`): the shared history's bound. */
  readonly historyLimit: number;
  /**
   * An event in the shared order (one emitted by this process included): the bus adds it to
   * its history and runs the matching handlers. Returns when they have finished, or
   * `undefined` when none matched.
   */
  receive(event: CoveyEvent): Promise<void> | undefined;
  /** Events from before this process joined, oldest first: history only, no handlers run. */
  retain(events: readonly CoveyEvent[]): void;
}

/**
 * Where a bus's events travel when its system spans processes (a backend's part). Without one
 * the bus is in-process: `emit` records and dispatches the event itself.
 * @internal
 */
export interface EventTransport {
  /** Called once, by the bus's constructor; hands the sink the events retained so far. */
  attach(sink: EventSink): void;
  /**
   * Sends an event this process built. Resolves once the event came back in the shared order
   * and `sink.receive` for it has finished here, so `emit` keeps its meaning: after it, the
   * event is in the history and the local handlers ran.
   */
  publish(event: CoveyEvent): Promise<void>;
  /** Stops receiving; pending publishes reject with ClosedError. Idempotent. */
  close(): void;
}
