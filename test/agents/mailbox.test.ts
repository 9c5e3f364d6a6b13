import { describe, expect, it } from "vitest";
import { Mailbox } from "../../src/agents/mailbox.js";
import { ClosedError } from "../../src/errors.js";

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("Mailbox", () => {
  it("runs at most `concurrency` jobs at once, the rest in FIFO order", async () => {
    const box = new Mailbox(2, "agent x");
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const order: number[] = [];
    const jobs = gates.map((g, i) =>
      box.push(async () => {
        order.push(i);
        await g.promise;
        return i;
      }),
    );
    expect(box.active).toBe(2);
    expect(box.queued).toBe(2);
    expect(order).toEqual([0, 1]);
    gates[1]!.resolve();
    await jobs[1];
    expect(order).toEqual([0, 1, 2]);
    for (const g of gates) g.resolve();
    expect(await Promise.all(jobs)).toEqual([0, 1, 2, 3]);
    expect(box.load).toBe(0);
  });

  it("starts a job at once when a slot is free", () => {
    const box = new Mailbox(1, "agent x");
    let ran = false;
    void box.push(() => {
      ran = true;
    });
    expect(ran).toBe(true);
  });

  it("rejects queued jobs with ClosedError synchronously on close; the running one finishes", async () => {
    const box = new Mailbox(1, "agent x");
    const gate = deferred();
    const running = box.push(async () => {
      await gate.promise;
      return "finished";
    });
    const queued = box.push(() => "never");
    let rejected: unknown;
    queued.catch((e: unknown) => (rejected = e));
    box.close();
    await Promise.resolve();
    expect(rejected).toBeInstanceOf(ClosedError);
    gate.resolve();
    expect(await running).toBe("finished");
    await expect(box.push(() => 1)).rejects.toBeInstanceOf(ClosedError);
  });

  it("passes a job's error to its caller and keeps serving", async () => {
    const box = new Mailbox(1, "agent x");
    const failing = box.push(() => {
      throw new Error("boom");
    });
    const next = box.push(() => "ok");
    await expect(failing).rejects.toThrow("boom");
    expect(await next).toBe("ok");
  });
});
