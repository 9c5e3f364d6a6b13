import type { MsgHdrs, NatsConnection } from "@nats-io/transport-node";

/**
 * Publishes what nobody waits on here (replies, progress frames, cancellations, controls). A
 * connection that is closed, or closes while publishing, drops it: the other side notices
 * through the heartbeats it no longer gets.
 * @internal
 */
export function publishBestEffort(nc: NatsConnection, subject: string, body: Uint8Array, headers?: MsgHdrs): void {
  if (nc.isClosed()) return;
  try {
    nc.publish(subject, body, headers === undefined ? undefined : { headers });
  } catch {
    // Closed while publishing: see above.
  }
}

/**
 * One wall-clock interval that runs only while there is something to watch (waits in flight,
 * items not yet acknowledged). Wall-clock time: liveness is about the network, not the
 * system's (possibly virtual) clock. Unref'd, so it never keeps the process alive.
 * @internal
 */
export class Ticker {
  readonly #ms: number;
  readonly #tick: () => void;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(ms: number, tick: () => void) {
    this.#ms = ms;
    this.#tick = tick;
  }

  /** Starts ticking; does nothing while it already ticks. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(this.#tick, this.#ms);
    this.#timer.unref();
  }

  /** Stops ticking (until the next start). Idempotent. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
