/**
 * The background writes of a process's sync primitives (releases, lease extensions): a
 * failure is reported, never silent, and `settled()` lets shutdown wait for them before the
 * connection closes.
 * @internal
 */
export class SyncWork {
  readonly #pending = new Set<Promise<unknown>>();
  readonly #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  track(work: Promise<unknown>): void {
    const p = work.catch((error: unknown) => this.#onError(error));
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  /** Resolves once every write started so far (and those they start) has ended. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }
}
