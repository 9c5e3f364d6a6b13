import { describe, expect, it } from "vitest";
import { Mailbox } from "../../src/agents/mailbox.js";

const mailbox = (concurrency: number) => new Mailbox<() => unknown>(concurrency, "x", { handleJob: (job) => job() });
const settle = (v: unknown) => Promise.resolve(v);
import { ClosedError } from "../../src/errors.js";

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("Mailbox", () => {
  it("runs at most `concurrency` jobs at once, the rest in FIFO order", async () => {
    const box = mailbox(2);
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const order: number[] = [];
    const jobs = gates.map((g, i) =>
      settle(box.push(async () => {
        order.push(i);
        await g.promise;
        return i;
      })),
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

  it("runs a job at once when a slot is free and hands back a synchronous value as it is", () => {
    const box = mailbox(1);
    let ran = false;
    const result = box.push(() => {
      ran = true;
      return 42;
    });
    expect(ran).toBe(true);
    expect(result).toBe(42);
    expect(box.load).toBe(0);
  });

  it("rejects queued jobs with ClosedError synchronously on close; the running one finishes", async () => {
    const box = mailbox(1);
    const gate = deferred();
    const running = settle(box.push(async () => {
      await gate.promise;
      return "finished";
    }));
    const queued = settle(box.push(() => "never"));
    let rejected: unknown;
    queued.catch((e: unknown) => (rejected = e));
    box.close();
    await Promise.resolve();
    expect(rejected).toBeInstanceOf(ClosedError);
    gate.resolve();
    expect(await running).toBe("finished");
    await expect(settle(box.push(() => 1))).rejects.toBeInstanceOf(ClosedError);
  });

  it("passes a job's error to its caller and keeps serving", async () => {
    const box = mailbox(1);
    const failing = settle(box.push(() => {
      throw new Error("boom");
    }));
    const next = box.push(() => "ok");
    await expect(failing).rejects.toThrow("boom");
    expect(next).toBe("ok");
  });
});
