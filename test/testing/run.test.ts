import { describe, expect, it } from "vitest";
import { DeadlockError, TimeoutError, defineAgent, sleep } from "../../src/index.js";
import { DeadlockError as TestingDeadlockError, createTestSystem, explore, runUntil } from "../../src/testing/index.js";

// Sleeps 5 s of virtual time, then answers.
const slow = defineAgent({
  name: "slow",
  handler: async (_: unknown, ctx) => {
    await sleep(ctx.clock, 5000);
    return "done";
  },
});

describe("TestSystem#run", () => {
  it("advances virtual time until the call settles", async () => {
    const t = createTestSystem();
    await t.system.addAgent(slow);
    expect(await t.run(t.system.call("slow", {}))).toBe("done");
    expect(t.clock.now()).toBe(5000);
    await t.system.shutdown();
  });

  it("lets a call's own timeout fire on virtual time", async () => {
    const t = createTestSystem();
    await t.system.addAgent(slow);
    await expect(t.run(t.system.call("slow", {}, { timeout: 100 }))).rejects.toBeInstanceOf(TimeoutError);
    expect(t.clock.now()).toBe(100);
    await t.system.shutdown();
  });

  it("rejects with DeadlockError naming the stuck calls and who holds which lock", async () => {
    const t = createTestSystem();
    const { system } = t;
    // a#1 takes the lock and then waits for b forever; b waits for the lock forever.
    await system.addAgent(
      defineAgent({
        name: "a",
        handler: async (_: unknown, ctx) => {
          await ctx.sync.getLock("plan").acquire(ctx.agentId);
          return ctx.call("b", {}, { timeout: Infinity });
        },
      }),
    );
    await system.addAgent(
      defineAgent({
        name: "b",
        handler: async (_: unknown, ctx) => ctx.sync.getLock("plan").acquire(ctx.agentId),
      }),
    );
    const error = await t.run(system.call("a", {}, { timeout: Infinity })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlockError);
    expect(TestingDeadlockError).toBe(DeadlockError);
    const deadlock = error as DeadlockError;
    expect(deadlock.code).toBe("DEADLOCK");
    expect(deadlock.waiting).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^call system -> "a" \(msg-\d+\) pending since 0 ms/),
        expect.stringMatching(/^call a#1 -> "b" \(msg-\d+\) pending since 0 ms/),
        expect.stringMatching(/^lock "plan": held by a#1 \(fencing token 1, no lease\); waiting: b#1 since 0 ms/),
      ]),
    );
    for (const line of deadlock.waiting) expect(deadlock.message).toContain(line);
    await system.shutdown();
  });

  it("names semaphore and barrier waits with their holders", async () => {
    const t = createTestSystem();
    const { system } = t;
    const sem = system.sync.getSemaphore("db", 1);
    expect(await sem.acquire("holder")).toBe(true);
    const waits = Promise.all([sem.acquire("waiter"), system.sync.getBarrier("phase", 3).wait("early")]);
    const error = (await t.run(waits).catch((e: unknown) => e)) as DeadlockError;
    expect(error).toBeInstanceOf(DeadlockError);
    expect(error.waiting).toEqual([
      'semaphore "db": 0 of 1 permits free, held by holder (1); waiting: waiter since 0 ms',
      'barrier "phase": 1 of 3 arrived (generation 0); waiting: early since 0 ms',
    ]);
    await system.shutdown();
  });

  it("names stream waits: receivers waiting for data and senders blocked on a full buffer", async () => {
    const t = createTestSystem();
    const streaming = t.system.communication.streaming;
    streaming.createStream("results", { highWaterMark: 1 });
    streaming.createStream("inbox");
    await streaming.send("results", 1);
    const waits = Promise.all([streaming.send("results", 2), streaming.receive("inbox")]);
    const error = (await t.run(waits).catch((e: unknown) => e)) as DeadlockError;
    expect(error).toBeInstanceOf(DeadlockError);
    expect(error.waiting).toEqual([
      'stream "inbox": 1 receiver(s) waiting for data',
      'stream "results": 1 sender(s) blocked on a full buffer (1 of 1)',
    ]);
    await t.system.shutdown();
  });

  it("leaves an explicit clock.advance inside the driven promise its meaning", async () => {
    const t = createTestSystem();
    let fired = 0;
    t.clock.setTimeout(() => fired++, 50);
    t.clock.setTimeout(() => fired++, 500);
    const at = await t.run(
      (async () => {
        await t.clock.advance(100);
        return t.clock.now();
      })(),
    );
    expect(at).toBe(100);
    expect(fired).toBe(1);
    await t.system.shutdown();
  });
});

describe("runUntil", () => {
  it("accepts a promise and drives until it settles", async () => {
    const t = createTestSystem();
    await t.system.addAgent(slow);
    expect(await t.runUntil(t.system.call("slow", {}))).toBe("done");
    expect(await runUntil(t.clock, t.system.call("slow", {}))).toBe("done");
    expect(t.clock.now()).toBe(10_000);
    await t.system.shutdown();
  });

  it("fails with DeadlockError when the condition can never hold", async () => {
    const t = createTestSystem();
    await expect(t.runUntil(() => false)).rejects.toBeInstanceOf(DeadlockError);
    await t.system.shutdown();
  });
});

describe("explore with a stuck scenario", () => {
  it("reports the run as failed with DeadlockError instead of hanging", async () => {
    const { failures } = await explore(
      async ({ system }) => {
        await system.sync.getBarrier("never", 2).wait("alone");
      },
      { runs: 3 },
    );
    expect(failures).toHaveLength(3);
    expect(failures[0]!.error).toBeInstanceOf(DeadlockError);
  });
});

describe("random", () => {
  const roll = defineAgent({ name: "roll", handler: (_: unknown, ctx) => [ctx.random(), ctx.random()] });

  const draws = async (seed: number): Promise<number[]> => {
    const t = createTestSystem({ seed });
    await t.system.addAgent(roll);
    const fromAgent = await t.system.call<number[]>("roll", {});
    const out = [...fromAgent, t.random()];
    await t.system.shutdown();
    return out;
  };

  it("draws ctx.random() and t.random() from the run's seed", async () => {
    const a = await draws(7);
    expect(await draws(7)).toEqual(a);
    expect(await draws(8)).not.toEqual(a);
    for (const x of a) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
    expect(new Set(a).size).toBe(3);
  });
});
