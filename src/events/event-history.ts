import { ValidationError } from "../errors.js";
import { describeValue } from "../runtime/describe.js";
import type { CoveyEvent } from "./types.js";

/** Throws a ValidationError unless `n` is an integer >= 0 or Infinity. @internal */
export function checkCount(n: unknown, what: string): number {
  if (n === Infinity || (typeof n === "number" && Number.isInteger(n) && n >= 0)) return n;
  throw new ValidationError(`${what} must be an integer >= 0 or Infinity, got ${describeValue(n)}`, [
    { path: [what], message: "must be an integer >= 0 or Infinity" },
  ]);
}

/**
 * A bounded ring buffer of events: adding is O(1) and never shifts the array (the textbook's
 * `list.pop(0)` is O(n) per event once the history is full).
 * @internal
 */
export class EventHistory {
  readonly #limit: number;
  readonly #ring: CoveyEvent[] = [];
  /** Where the next event goes once the ring is full; also the oldest event's slot. */
  #next = 0;

  constructor(limit: number) {
    this.#limit = checkCount(limit, "historyLimit");
  }

  /** Events currently retained. */
  get size(): number {
    return this.#ring.length;
  }

  add(event: CoveyEvent): void {
    if (this.#limit === 0) return;
    if (this.#ring.length < this.#limit) {
      this.#ring.push(event);
      return;
    }
    this.#ring[this.#next] = event;
    this.#next = this.#next + 1 === this.#limit ? 0 : this.#next + 1;
  }

  /** The newest `limit` events matching the filters, oldest first. */
  query(type: string | undefined, source: string | undefined, limit: number): CoveyEvent[] {
    const ring = this.#ring;
    const n = ring.length;
    // Before the ring fills, #next stays 0 and the oldest event is at 0.
    const start = this.#next;
    const out: CoveyEvent[] = [];
    // Walk from the newest back, so a small limit touches only the events it returns.
    for (let i = n - 1; i >= 0 && out.length < limit; i--) {
      let j = start + i;
      if (j >= n) j -= n;
      const e = ring[j]!;
      if ((type === undefined || e.type === type) && (source === undefined || e.source === source)) out.push(e);
    }
    return out.reverse();
  }

  clear(): void {
    this.#ring.length = 0;
    this.#next = 0;
  }
}
