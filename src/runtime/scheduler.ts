/**
 * What a delivery is, for the trace and for seeded scheduling: a request reaching a handler,
 * a reply reaching its caller, a publication reaching a subscriber, an event reaching a
 * handler, or a lock / semaphore / barrier being handed to a waiter.
 */
export type DeliveryKind = "request" | "reply" | "publish" | "event" | "grant" | "stream" | "state";

/**
 * Runs deliveries. Every hand-over between parties goes through the runtime's scheduler, so
 * a test can choose the order in which concurrent deliveries happen.
 * @internal
 */
export interface Scheduler {
  /** Runs `fn` as one delivery, now or later; `to` names the receiving party when known. */
  deliver(kind: DeliveryKind, fn: () => void, to?: string): void;
  /** Deliveries accepted but not yet run. */
  readonly pending: number;
}

/**
 * The production scheduler: runs each delivery at once, in the order they are made.
 * It adds nothing but a function call to the delivery path.
 * @internal
 */
export const immediateScheduler: Scheduler = Object.freeze({
  deliver(_kind: DeliveryKind, fn: () => void): void {
    fn();
  },
  pending: 0,
});
