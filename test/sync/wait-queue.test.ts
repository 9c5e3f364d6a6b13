import { describe, expect, it } from "vitest";
import { Waiter, WaitQueue } from "../../src/sync/wait-queue.js";

const w = (id: string): Waiter<boolean> => new Waiter<boolean>(id, undefined, false, 0);

describe("WaitQueue", () => {
  it("is FIFO and removes from the middle in place", () => {
    const q = new WaitQueue<boolean>();
    const [a, b, c] = [w("a"), w("b"), w("c")];
    q.push(a);
    q.push(b);
    q.push(c);
    q.remove(b);
    q.remove(b);
    expect(q.size).toBe(2);
    expect(q.shift()?.agentId).toBe("a");
    expect(q.shift()?.agentId).toBe("c");
    expect(q.shift()).toBeUndefined();
    expect(q.size).toBe(0);
  });

  it("drain empties the queue oldest first", () => {
    const q = new WaitQueue<boolean>();
    for (const id of ["x", "y"]) q.push(w(id));
    expect(q.drain().map((x) => x.agentId)).toEqual(["x", "y"]);
    expect(q.size).toBe(0);
  });
});
