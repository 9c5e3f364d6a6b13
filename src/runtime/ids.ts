/**
 * Per-runtime id counters. Ids never come from random UUIDs or process-wide state, so two
 * systems in one process are independent and a seeded run is repeatable byte for byte.
 * @internal
 */
export class IdGenerator {
  readonly #counters = new Map<string, number>();
  readonly #scope: string;

  /**
   * @param scope put before every id; empty in-process, a per-process prefix when a backend
   * shares ids across processes (`p1f3a:msg-1`)
   */
  constructor(scope = "") {
    this.#scope = scope;
  }

  /** The next id for `prefix`, e.g. `msg-1`, `msg-2`. */
  next(prefix: string): string {
    const n = (this.#counters.get(prefix) ?? 0) + 1;
    this.#counters.set(prefix, n);
    return `${this.#scope}${prefix}-${n}`;
  }
}
