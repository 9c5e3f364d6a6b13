import { describe, expect, it } from "vitest";
import { ClosedError, TimeoutError, createSystem, defineAgent, sleep, type AgentContext } from "../../src/index.js";
import { VirtualClock } from "../../src/testing/index.js";

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const settle = async (p: Promise<unknown>): Promise<unknown> => p.catch((e: unknown) => e);

/** Lets promise callbacks and ready deliveries run. */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

describe("AgentContext#signal (per request)", () => {
  it("aborts with the caller's TimeoutError when the call times out; the agent-wide signal does not", async () => {
    const clock = new VirtualClock();
    const system = createSystem({ clock });
    let seen: AgentContext | undefined;
    const gate = deferred();
    await system.addAgent(
      defineAgent({
        name: "slow",
        handler: async (_: unknown, ctx) => {
          seen = ctx;
          await gate.promise;
          return "late";
        },
      }),
    );
    const call = settle(system.call("slow", {}, { timeout: 50 }));
    await flush();
    expect(seen!.signal.aborted).toBe(false);
    await clock.advance(50);
    const error = await call;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(seen!.signal.aborted).toBe(true);
    expect(seen!.signal.reason).toBe(error);
    expect(seen!.agentSignal.aborted).toBe(false);
    gate.resolve();
    await system.shutdown();
  });

  it("aborts with the caller's signal reason, unchanged", async () => {
    const system = createSystem({ clock: new VirtualClock() });
    const started = deferred<AgentContext>();
    await system.addAgent(
      defineAgent({
        name: "slow",
        handler: (_: unknown, ctx) => {
          started.resolve(ctx);
          return new Promise(() => undefined);
        },
      }),
    );
    const controller = new AbortController();
    const call = settle(system.call("slow", {}, { signal: controller.signal }));
    const ctx = await started.promise;
    const signal = ctx.signal;
    const reason = { why: "user pressed stop" };
    controller.abort(reason);
    expect(await call).toBe(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
    await system.shutdown();
  });

  it("aborts with ClosedError when the agent is removed or the system shuts down", async () => {
    const system = createSystem({ clock: new VirtualClock() });
    const started: AgentContext[] = [];
    await system.addAgent(
      defineAgent({
        name: "slow",
        concurrency: 2,
        handler: (_: unknown, ctx) => {
          void ctx.signal;
          started.push(ctx);
          return new Promise(() => undefined);
        },
      }),
    );
    const a = settle(system.call("slow", 1));
    await flush();
    await system.removeAgent("slow#1");
    expect(started[0]!.signal.reason).toBeInstanceOf(ClosedError);
    await system.addAgent(defineAgent({ name: "other", handler: (_: unknown, ctx) => (started.push(ctx), new Promise(() => undefined)) }));
    const b = settle(system.call("other", 1));
    await flush();
    await system.shutdown();
    expect(started[1]!.signal.aborted).toBe(true);
    expect(started[1]!.signal.reason).toBeInstanceOf(ClosedError);
    expect(await b).toBeInstanceOf(ClosedError);
    void a;
  });

  it("is a different signal for each request of one agent", async () => {
    const system = createSystem({ clock: new VirtualClock() });
    const signals: AbortSignal[] = [];
    await system.addAgent(defineAgent({ name: "s", handler: (_: unknown, ctx) => void signals.push(ctx.signal) }));
    await system.call("s", 1);
    await system.call("s", 2);
    expect(signals[0]).not.toBe(signals[1]);
    expect(signals.every((s) => !s.aborted)).toBe(true);
    await system.shutdown();
  });
});

describe("Mailbox cancellation", () => {
  it("a queued call whose caller timed out leaves the mailbox at once and never runs", async () => {
    const clock = new VirtualClock();
    const system = createSystem({ clock });
    const gate = deferred();
    const ran: number[] = [];
    const agent = await system.addAgent(
      defineAgent({
        name: "one",
        handler: async (n: number) => {
          ran.push(n);
          if (n === 1) await gate.promise;
          return n;
        },
      }),
    );
    const first = system.call("one", 1, { timeout: 1000 });
    const second = settle(system.call("one", 2, { timeout: 10 }));
    expect(agent.queued).toBe(1);
    await clock.advance(10);
    expect(await second).toBeInstanceOf(TimeoutError);
    expect(agent.queued).toBe(0);
    gate.resolve();
    expect(await first).toBe(1);
    await system.idle();
    expect(ran).toEqual([1]);
    await system.shutdown();
  });

  it("a queued call whose caller aborted never runs; later calls still do, in order", async () => {
    const system = createSystem({ clock: new VirtualClock() });
    const gate = deferred();
    const ran: number[] = [];
    await system.addAgent(
      defineAgent({
        name: "one",
        handler: async (n: number) => {
          ran.push(n);
          if (n === 1) await gate.promise;
          return n;
        },
      }),
    );
    const controller = new AbortController();
    const calls = [system.call("one", 1), settle(system.call("one", 2, { signal: controller.signal })), system.call("one", 3)];
    controller.abort(new Error("gave up"));
    gate.resolve();
    const results = await Promise.all(calls);
    expect(results[0]).toBe(1);
    expect((results[1] as Error).message).toBe("gave up");
    expect(results[2]).toBe(3);
    expect(ran).toEqual([1, 3]);
    await system.shutdown();
  });

  it("a running handler keeps its slot after its caller gave up", async () => {
    const clock = new VirtualClock();
    const system = createSystem({ clock });
    const gate = deferred();
    const ran: number[] = [];
    const agent = await system.addAgent(
      defineAgent({
        name: "one",
        handler: async (n: number) => {
          ran.push(n);
          if (n === 1) await gate.promise;
          return n;
        },
      }),
    );
    const first = settle(system.call("one", 1, { timeout: 10 }));
    await clock.advance(10);
    expect(await first).toBeInstanceOf(TimeoutError);
    const second = system.call("one", 2);
    await flush();
    expect(agent.running).toBe(1);
    expect(agent.queued).toBe(1);
    expect(ran).toEqual([1]);
    gate.resolve();
    expect(await second).toBe(2);
    await system.shutdown();
  });
});

describe("Deadline propagation", () => {
  it("ctx.call passes the handler's signal down: a cancelled request cancels the whole chain", async () => {
    const clock = new VirtualClock();
    const system = createSystem({ clock });
    const leaf: AgentContext[] = [];
    await system.addAgent(
      defineAgent({
        name: "leaf",
        handler: (_: unknown, ctx) => {
          leaf.push(ctx);
          return sleep(ctx.clock, 60_000, { signal: ctx.signal });
        },
      }),
    );
    await system.addAgent(defineAgent({ name: "mid", handler: (_: unknown, ctx) => ctx.call("leaf", {}) }));
    const controller = new AbortController();
    const call = settle(system.call("mid", {}, { signal: controller.signal }));
    await flush();
    expect(leaf).toHaveLength(1);
    controller.abort(new Error("stop"));
    expect(((await call) as Error).message).toBe("stop");
    await flush();
    expect(leaf[0]!.signal.aborted).toBe(true);
    await system.idle();
    expect(system.communication.requestReply.inFlight).toBe(0);
    await system.shutdown();
  });

  it("ctx.call never waits longer than the caller's remaining deadline", async () => {
    const clock = new VirtualClock();
    const system = createSystem({ clock });
    let leafSignal: AbortSignal | undefined;
    let innerError: unknown;
    await system.addAgent(
      defineAgent({
        name: "leaf",
        handler: (_: unknown, ctx) => {
          leafSignal = ctx.signal;
          return new Promise(() => undefined);
        },
      }),
    );
    await system.addAgent(
      defineAgent({
        name: "mid",
        handler: async (_: unknown, ctx) => {
          await sleep(ctx.clock, 30);
          // Asks for 10 s; the caller only waits 100 ms in all, 70 ms of which remain.
          return ctx.call("leaf", {}, { timeout: 10_000 }).catch((e: unknown) => {
            innerError = e;
            throw e;
          });
        },
      }),
    );
    const call = settle(system.call("mid", {}, { timeout: 100 }));
    await clock.advance(30);
    await flush();
    await clock.advance(69);
    expect(leafSignal?.aborted).toBe(false);
    await clock.advance(1);
    expect(await call).toBeInstanceOf(TimeoutError);
    await flush();
    expect(innerError).toBeInstanceOf(TimeoutError);
    expect(leafSignal?.aborted).toBe(true);
    expect(clock.now()).toBe(100);
    await system.shutdown();
  });

  it("lock, semaphore, barrier and stream waits in a handler end when its caller gives up", async () => {
    const clock = new VirtualClock();
    const system = createSystem({ clock });
    await system.sync.getLock("held").acquire("someone-else");
    await system.sync.getSemaphore("sem", 1).acquire("someone-else");
    const outcomes: Record<string, unknown> = {};
    const waits: Record<string, (ctx: AgentContext) => Promise<unknown>> = {
      lock: (ctx) => ctx.sync.getLock("held").acquire(ctx.agentId),
      withLock: (ctx) => ctx.sync.getLock("held").withLock(ctx.agentId, () => "ran"),
      semaphore: (ctx) => ctx.sync.getSemaphore("sem", 1).acquire(ctx.agentId),
      barrier: (ctx) => ctx.sync.getBarrier("bar", 5).wait(ctx.agentId),
      receive: (ctx) => ctx.communication.streaming.receive("nothing-comes"),
      request: (ctx) => ctx.communication.requestReply.request(ctx.agentId, "sink", {}),
    };
    system.communication.requestReply.registerHandler("sink", () => new Promise(() => undefined));
    for (const [name, wait] of Object.entries(waits)) {
      await system.addAgent(
        defineAgent({
          name,
          handler: async (_: unknown, ctx) => {
            try {
              return await wait(ctx);
            } catch (error) {
              outcomes[name] = error;
              throw error;
            }
          },
        }),
      );
    }
    const calls = Object.keys(waits).map((name) => settle(system.call(name, {}, { timeout: 25 })));
    await flush();
    await clock.advance(25);
    for (const error of await Promise.all(calls)) expect(error).toBeInstanceOf(TimeoutError);
    await flush();
    for (const name of Object.keys(waits)) expect(outcomes[name], name).toBeInstanceOf(TimeoutError);
    expect(system.sync.getLock("held").holder).toBe("someone-else");
    await system.shutdown();
  });

  it("an explicit signal on a wait wins over the request's", async () => {
    const clock = new VirtualClock();
    const system = createSystem({ clock });
    await system.sync.getLock("held").acquire("someone-else");
    const mine = new AbortController();
    let outcome: unknown;
    await system.addAgent(
      defineAgent({
        name: "w",
        handler: async (_: unknown, ctx) => {
          outcome = await ctx.sync.getLock("held").acquire(ctx.agentId, { signal: mine.signal, timeout: 5 });
        },
      }),
    );
    const call = system.call("w", {}, { timeout: 1000 });
    await flush();
    await clock.advance(5);
    await call;
    expect(outcome).toBe(false);
    await system.shutdown();
  });
});

describe("MultiAgentSystem#idle with cancelled calls", () => {
  it("resolves only when the handler whose caller gave up has returned", async () => {
    const clock = new VirtualClock();
    const system = createSystem({ clock });
    const gate = deferred();
    await system.addAgent(defineAgent({ name: "slow", handler: () => gate.promise }));
    const call = settle(system.call("slow", {}, { timeout: 10 }));
    await clock.advance(10);
    expect(await call).toBeInstanceOf(TimeoutError);
    let idle = false;
    const waiting = system.idle().then(() => (idle = true));
    await flush();
    expect(idle).toBe(false);
    gate.resolve();
    await waiting;
    expect(idle).toBe(true);
    await system.shutdown();
  });
});

describe("MultiAgentSystem#submitTask cancellation", () => {
  it("a queued task whose caller timed out never starts; a running one sees ctx.signal abort", async () => {
    const clock = new VirtualClock();
    const system = createSystem({ clock });
    const started: string[] = [];
    const signals: AbortSignal[] = [];
    await system.addAgent("worker", ["general"], {
      work: async (task, ctx) => {
        started.push(task.id!);
        signals.push(ctx.signal);
        await sleep(ctx.clock, 1000, { signal: ctx.signal });
        return "done";
      },
    });
    const first = settle(system.submitTask({ id: "a" }, { timeout: 50 }));
    const second = settle(system.submitTask({ id: "b" }, { timeout: 50 }));
    await flush();
    await clock.advance(50);
    expect(await first).toBeInstanceOf(TimeoutError);
    expect(await second).toBeInstanceOf(TimeoutError);
    await flush();
    expect(started).toEqual(["a"]);
    expect(signals[0]!.aborted).toBe(true);
    await system.idle();
    expect((await system.kv.get("task:a:status"))?.value).toBe("failed");
    expect(await system.kv.get("task:b:status")).toBeUndefined();
    await system.shutdown();
  });

  it("without a timeout or signal it waits for the task, as before", async () => {
    const clock = new VirtualClock();
    const system = createSystem({ clock });
    await system.addAgent("worker", ["general"]);
    const task = system.submitTask({ id: "t" });
    await flush();
    await clock.advance(100);
    expect(await task).toEqual({ status: "completed", output: "Result" });
    await system.shutdown();
  });
});

describe("CoordinatedAgent#requestPeer cancellation", () => {
  it("a peer's task whose requester gave up is aborted (running) or never started (queued)", async () => {
    const clock = new VirtualClock();
    const system = createSystem({ clock });
    const started: string[] = [];
    const a = await system.addAgent("a", []);
    await system.addAgent("b", ["general"], {
      work: async (task, ctx) => {
        started.push(task.id!);
        await sleep(ctx.clock, 1000, { signal: ctx.signal });
      },
    });
    const controller = new AbortController();
    const one = settle(a.requestPeer("b", "execute_task", { task: { id: "t1" } }, { signal: controller.signal }));
    const two = settle(a.requestPeer("b", "execute_task", { task: { id: "t2" } }, { signal: controller.signal }));
    await flush();
    controller.abort(new Error("cancelled"));
    expect(((await one) as Error).message).toBe("cancelled");
    expect(((await two) as Error).message).toBe("cancelled");
    await system.idle();
    expect(started).toEqual(["t1"]);
    expect((await system.kv.get("task:t1:status"))?.value).toBe("failed");
    await system.shutdown();
  });
});

describe("MultiAgentSystem#submitTask (scope)", () => {
  it("leaves no running-request registration behind once a task ends, with or without a timeout", async () => {
    const system = createSystem();
    const agent = await system.addAgent("worker", ["compute"], {
      // Reading ctx.signal registers the running task with its agent until the task's scope ends.
      work: (_task, ctx) => (ctx.signal.aborted ? "aborted" : "done"),
    });
    const context = agent.context as unknown as { watching: number };
    for (let i = 0; i < 50; i++) await system.submitTask({ type: "compute" });
    expect(context.watching).toBe(0);
    for (let i = 0; i < 50; i++) await system.submitTask({ type: "compute" }, { timeout: 1_000 });
    expect(context.watching).toBe(0);
    await system.shutdown();
  });
});
