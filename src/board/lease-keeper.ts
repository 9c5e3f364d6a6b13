import type { Clock, TimerHandle } from "../runtime/clock.js";
import type { StateChange, StateStore } from "../state/types.js";
import { keys } from "./keys.js";
import type { BoardTask } from "./types.js";

/**
 * Arms one timer per live claim and, when its lease runs out, returns the task to `todo`.
 * It watches every task write, so claims made through any board over the same store (another
 * process, a restarted one) get their timer too. Expiry is a compare-and-swap on the claim's
 * fencing token: of several keepers racing, one wins and reports it.
 * @internal
 */
export class LeaseKeeper {
  readonly #store: StateStore;
  readonly #clock: Clock;
  readonly #onExpired: (task: BoardTask, holder: string, token: number) => Promise<void>;
  readonly #timers = new Map<string, { token: number; handle: TimerHandle }>();
  readonly #unwatch: () => void;
  #closed = false;
  /** Resolves when the claims that existed at start have their timers. */
  readonly ready: Promise<void>;

  constructor(store: StateStore, clock: Clock, onExpired: (task: BoardTask, holder: string, token: number) => Promise<void>) {
    this.#store = store;
    this.#clock = clock;
    this.#onExpired = onExpired;
    this.#unwatch = store.watch(`${keys.taskPrefix}*`, (change) => this.#onChange(change));
    this.ready = this.#scan();
  }

  async #scan(): Promise<void> {
    for (const key of await this.#store.keys(keys.taskPrefix)) {
      const entry = await this.#store.get<BoardTask>(key);
      if (entry !== undefined) this.#arm(entry.value);
    }
  }

  #onChange(change: StateChange): void {
    const task = change.entry?.value as BoardTask | undefined;
    if (task !== undefined) this.#arm(task);
    else if (change.previous !== undefined) this.#disarm((change.previous.value as BoardTask).id);
  }

  #arm(task: BoardTask): void {
    if (this.#closed) return;
    const claim = task.claim;
    const current = this.#timers.get(task.id);
    if (claim === null) {
      this.#disarm(task.id);
      return;
    }
    if (current !== undefined) this.#clock.clearTimeout(current.handle);
    const delay = Math.max(0, claim.expiresAt - this.#clock.now());
    const handle = this.#clock.setTimeout(() => {
      this.#timers.delete(task.id);
      this.#expire(task.id, claim.token).catch(() => {
        // The store or system closed under us, or the task changed: nothing to reclaim.
      });
    }, delay);
    this.#timers.set(task.id, { token: claim.token, handle });
  }

  #disarm(taskId: string): void {
    const current = this.#timers.get(taskId);
    if (current === undefined) return;
    this.#clock.clearTimeout(current.handle);
    this.#timers.delete(taskId);
  }

  async #expire(taskId: string, token: number): Promise<void> {
    if (this.#closed) return;
    let holder: string | undefined;
    const unchanged = new Error("lease still valid");
    try {
      const entry = await this.#store.update<BoardTask>(
        keys.task(taskId),
        (draft) => {
          const claim = draft?.claim;
          // Renewed, released, finished or claimed again since the timer was armed.
          if (draft === undefined || claim === null || claim === undefined || claim.token !== token) throw unchanged;
          if (claim.expiresAt > this.#clock.now()) throw unchanged;
          holder = claim.holder;
          draft.claim = null;
          if (draft.status !== "done" && draft.status !== "cancelled") draft.status = "todo";
          draft.updatedBy = "board";
          draft.updatedAt = this.#clock.now();
        },
        { by: "board", maxRetries: 100 },
      );
      if (holder !== undefined) await this.#onExpired(entry.value, holder, token);
    } catch (e) {
      if (e !== unchanged) throw e;
    }
  }

  /** Clears every timer and stops watching. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unwatch();
    for (const { handle } of this.#timers.values()) this.#clock.clearTimeout(handle);
    this.#timers.clear();
  }
}
