/** A node of a {@link WaitList}. @internal */
export interface Linked<T> {
  prev: T | undefined;
  next: T | undefined;
}

/**
 * A FIFO of waiters as an intrusive doubly-linked list: a waiter that times out or is
 * aborted leaves from the middle in O(1), and nothing is allocated per operation.
 * @internal
 */
export class WaitList<T extends Linked<T>> {
  head: T | undefined;
  tail: T | undefined;
  size = 0;

  push(node: T): void {
    node.prev = this.tail;
    node.next = undefined;
    if (this.tail === undefined) this.head = node;
    else this.tail.next = node;
    this.tail = node;
    this.size++;
  }

  /** Removes and returns the oldest waiter. */
  shift(): T | undefined {
    const node = this.head;
    if (node !== undefined) this.remove(node);
    return node;
  }

  remove(node: T): void {
    if (node.prev === undefined) this.head = node.next;
    else node.prev.next = node.next;
    if (node.next === undefined) this.tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = node.next = undefined;
    this.size--;
  }
}
