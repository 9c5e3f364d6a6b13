/**
 * A first-in first-out buffer with O(1) amortised `shift` (an array and a head index,
 * compacted once the consumed half dominates), instead of `Array#shift`'s O(n).
 * @internal
 */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** Removes and returns the oldest item; the caller checks `length` first. */
  shift(): T {
    const items = this.#items;
    const item = items[this.#head] as T;
    items[this.#head++] = undefined;
    if (this.#head === items.length) {
      items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= items.length) {
      items.splice(0, this.#head);
      this.#head = 0;
    }
    return item;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}
