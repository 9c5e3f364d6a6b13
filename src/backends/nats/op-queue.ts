/**
 * Runs the operations of one store one at a time, in the order they were called, so a process
 * sees its own operations take effect in program order (as in-process, where each commits
 * before the next starts).
 *
 * Operations started while an update recipe runs are the exception: they run at once, as
 * children of the update that holds the queue, and the update waits for them before its own
 * version-checked write (in-process they would have committed inside the recipe). Queuing them
 * behind their parent would deadlock.
 * @internal
 */
export class OpQueue {
  #tail: Promise<unknown> = Promise.resolve();
  #children: Promise<unknown>[] | undefined;

  /** Runs `op` after every operation queued before it (or at once, inside a recipe). */
  run<T>(op: () => Promise<T>): Promise<T> {
    const children = this.#children;
    if (children !== undefined) {
      const p = op();
      children.push(p);
      return p;
    }
    const p = this.#tail.then(op);
    this.#tail = p.then(ignore, ignore);
    return p;
  }

  /**
   * Runs `fn` synchronously, collecting into `into` the operations it starts on this queue.
   * Nested recipes collect into their own list.
   */
  capture<T>(into: Promise<unknown>[], fn: () => T): T {
    const saved = this.#children;
    this.#children = into;
    try {
      return fn();
    } finally {
      this.#children = saved;
    }
  }
}

function ignore(): void {
  // Settled: the next operation may start, whatever this one's outcome.
}
