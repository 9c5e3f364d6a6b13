import { MessagesDroppedError } from "../../errors.js";

/** Publishers followed at most; the least recently heard from is forgotten first. */
const MAX_ORIGINS = 4096;

/**
 * Follows each publishing process's sequence numbers as its publications arrive, and names the
 * publications that never did. NATS keeps one publisher's messages in order to each
 * subscriber, so a jump from n to n + k + 1 means k publications were lost on the way here:
 * the server cut this process off as a slow consumer, or it was disconnected meanwhile.
 * @internal
 */
export class SequenceTracker {
  // Insertion order is recency order: an origin is re-inserted on every publication.
  readonly #last = new Map<string, number>();
  #dropped = 0;

  /** Publications found missing so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Records publication `seq` of `origin`; returns the error to report when publications of
   * `origin` went missing just before it. A sequence that starts again (lower or equal: a
   * restarted publisher reusing its process id) is followed from there.
   */
  see(origin: string, seq: number): MessagesDroppedError | undefined {
    if (!Number.isSafeInteger(seq) || seq < 1) return undefined;
    const last = this.#last.get(origin);
    if (last !== undefined) this.#last.delete(origin);
    else if (this.#last.size >= MAX_ORIGINS) this.#last.delete(this.#last.keys().next().value!);
    this.#last.set(origin, seq);
    if (last === undefined || seq <= last + 1) return undefined;
    const lost = seq - last - 1;
    this.#dropped += lost;
    return new MessagesDroppedError(
      lost,
      origin,
      `publications ${last + 1}..${seq - 1} of process ${origin} were lost on the way to this process (it was cut off as a slow consumer, or disconnected); ${this.#dropped} lost so far`,
    );
  }

  /** Forgets every publisher (nothing here listened for a while: gaps are not losses). */
  reset(): void {
    this.#last.clear();
  }
}
