/**
 * The floor for a promise-based semaphore: a counter and a FIFO of resolve functions, no agent
 * ids, no timeouts, no fencing. Nothing correct can be much cheaper than this.
 */
export class ResolverFifo {
  #free: number;
  #queue: (() => void)[] = [];
  #head = 0;

  constructor(permits: number) {
    this.#free = permits;
  }

  acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.#queue.push(resolve));
  }

  release(): void {
    if (this.#head < this.#queue.length) {
      const next = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as never;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
      next();
    } else {
      this.#free++;
    }
  }
}
