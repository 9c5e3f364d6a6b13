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
  /**
   * Runs `fn` as one delivery, now or later; `to` names the receiving party when known.
   * Deliveries that share a `lane` (any value usable as a Map key, e.g. one publisher's
   * messages to one subscription) run in the order they were made, as a connection would
   * carry them; deliveries of different lanes may interleave in any order.
   */
  deliver(kind: DeliveryKind, fn: () => void, to?: string, lane?: unknown): void;
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

/**
 * Keeps each lane's deliveries in order for a scheduler that reorders: only the oldest
 * delivery of a lane is handed on; the next one follows when it has run.
 * @internal
 */
export class LaneOrder {
  readonly #lanes = new Map<unknown, (() => void)[]>();
  #waiting = 0;

  /** Deliveries held back behind an earlier one of their lane. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Hands `fn` to `forward` now if its lane is free, or after the lane's earlier deliveries ran. */
  submit(lane: unknown, fn: () => void, forward: (fn: () => void) => void): void {
    const queue = this.#lanes.get(lane);
    if (queue !== undefined) {
      queue.push(fn);
      this.#waiting++;
      return;
    }
    this.#lanes.set(lane, []);
    forward(this.#inLane(lane, fn, forward));
  }

  #inLane(lane: unknown, fn: () => void, forward: (fn: () => void) => void): () => void {
    return () => {
      try {
        fn();
      } finally {
        const queue = this.#lanes.get(lane)!;
        const next = queue.shift();
        if (next === undefined) this.#lanes.delete(lane);
        else {
          this.#waiting--;
          forward(this.#inLane(lane, next, forward));
        }
      }
    };
  }
}
