import { getEventListeners } from "node:events";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ClosedError, ValidationError } from "../../src/errors.js";
import { Semaphore } from "../../src/sync/semaphore.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";
import { fcTestRuntime, HeldScheduler, type StepClock, testRuntime, watch } from "./helpers.js";

describe("Semaphore#acquire", () => {
  it("grants up to maxPermits at once, then queues", async () => {
    const sem = new Semaphore(2);
    expect(sem.available).toBe(2);
    expect(await sem.acquire("a")).toBe(true);
    expect(await sem.acquire("b")).toBe(true);
    expect(sem.available).toBe(0);
    const c = watch(sem.acquire("c"));
    await Promise.resolve();
    expect(c.settled).toBe(false);
    expect(sem.waiting).toBe(1);
  });

  it("serves waiters in FIFO order", async () => {
    const clock = new VirtualClock();
    const sem = new Semaphore(1, { clock });
    await sem.acquire("a");
    const order: string[] = [];
    const waits = ["b", "c", "d"].map((id) => sem.acquire(id).then(() => order.push(id)));
    for (const id of ["a", "b", "c"]) {
      sem.release(id);
      await clock.settle();
    }
    await Promise.all(waits);
    expect(order).toEqual(["b", "c", "d"]);
  });

  it("lets one agent hold several permits, counted per agent", async () => {
    const sem = new Semaphore(3);
    await sem.acquire("a");
    await sem.acquire("a");
    expect(sem.heldBy("a")).toBe(2);
    expect(sem.available).toBe(1);
    expect(sem.release("a")).toBe(true);
    expect(sem.release("a")).toBe(true);
    expect(sem.release("a")).toBe(false);
    expect(sem.available).toBe(3);
  });

  it("gives up with false exactly at the timeout, leaving no waiter or timer", async () => {
    const clock = new VirtualClock();
    const sem = new Semaphore(1, { clock });
    await sem.acquire("a");
    const w = watch(sem.acquire("b", { timeout: 30 }));
    await clock.advance(29);
    expect(w.settled).toBe(false);
    await clock.advance(1);
    expect(w).toEqual({ settled: true, value: false });
    expect(sem.waiting).toBe(0);
    expect(clock.pending).toBe(0);
    expect(await sem.acquire("c", { timeout: 0 })).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it("skips a waiter that timed out in the same tick as a release", async () => {
    const { runtime, clock } = testRuntime();
    const sem = new Semaphore(1, { runtime });
    await sem.acquire("a");
    const b = watch(sem.acquire("b", { timeout: 10 }));
    const c = watch(sem.acquire("c"));
    clock.setTimeout(() => sem.release("a"), 10);
    await clock.advance(10);
    expect(b.value).toBe(false);
    expect(c.value).toBe(true);
    expect(sem.heldBy("b")).toBe(0);
    expect(sem.heldBy("c")).toBe(1);
  });

  it("a deferred grant cannot be overtaken by the waiter's timeout", async () => {
    const held = new HeldScheduler();
    const { runtime, clock } = testRuntime(held);
    const sem = new Semaphore(1, { runtime });
    await sem.acquire("a");
    const b = watch(sem.acquire("b", { timeout: 10 }));
    sem.release("a");
    await clock.advance(50);
    expect(b.settled).toBe(false);
    held.runAll();
    await clock.settle();
    expect(b.value).toBe(true);
    expect(sem.heldBy("b")).toBe(1);
  });

  it("rejects with the signal's reason and removes its listener", async () => {
    const sem = new Semaphore(1);
    await sem.acquire("a");
    const ac = new AbortController();
    const reason = new Error("cancel");
    const p = sem.acquire("b", { signal: ac.signal });
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    expect(sem.waiting).toBe(0);
    await expect(sem.acquire("b", { signal: ac.signal })).rejects.toBe(reason);
  });

  it("validates its arguments", async () => {
    expect(() => new Semaphore(0)).toThrow(ValidationError);
    expect(() => new Semaphore(1.5)).toThrow(ValidationError);
    const sem = new Semaphore(1);
    await expect(sem.acquire("")).rejects.toBeInstanceOf(ValidationError);
    await expect(sem.acquire("a", { timeout: Number.NaN })).rejects.toBeInstanceOf(ValidationError);
  });

  it("counts permits per agent the same way with many permits", async () => {
    const sem = new Semaphore(100);
    for (let i = 0; i < 3; i++) await sem.acquire("a");
    await sem.acquire("b");
    expect(sem.heldBy("a")).toBe(3);
    expect(sem.available).toBe(96);
    expect(sem.release("c")).toBe(false);
    expect(sem.release("b")).toBe(true);
    expect(sem.release("b")).toBe(false);
  });
});

describe("Semaphore#release", () => {
  it("returns false for an agent holding no permit and frees nothing", async () => {
    const sem = new Semaphore(1);
    await sem.acquire("a");
    expect(sem.release("b")).toBe(false);
    expect(sem.available).toBe(0);
  });

  it("hands the permit straight to the next waiter", async () => {
    const sem = new Semaphore(1);
    await sem.acquire("a");
    const b = sem.acquire("b");
    sem.release("a");
    expect(sem.available).toBe(0);
    expect(await b).toBe(true);
    expect(sem.heldBy("b")).toBe(1);
  });
});

describe("Semaphore#close", () => {
  it("rejects pending acquires with ClosedError and clears their timers", async () => {
    const clock = new VirtualClock();
    const sem = new Semaphore(1, { clock, name: "gpu" });
    await sem.acquire("a");
    const b = sem.acquire("b", { timeout: 100 });
    sem.close();
    await expect(b).rejects.toBeInstanceOf(ClosedError);
    await expect(b).rejects.toThrow('semaphore "gpu"');
    expect(clock.pending).toBe(0);
    await expect(sem.acquire("c")).rejects.toBeInstanceOf(ClosedError);
    expect(sem.release("a")).toBe(false);
  });
});

// ------------------------------------------------------------------ model-based

const MAX = 2;
const AGENTS = ["a", "b", "c"] as const;

interface Model {
  now: number;
  nextId: number;
  inUse: number;
  held: Map<string, number>;
  queue: { id: number; agent: string; due: number | undefined }[];
  expected: Map<number, boolean | "pending">;
}

interface Real {
  sem: Semaphore;
  clock: StepClock;
  results: Map<number, boolean | "closed">;
}

function check(m: Model, r: Real): void {
  expect(r.sem.available).toBe(MAX - m.inUse);
  expect(r.sem.available).toBeGreaterThanOrEqual(0);
  expect(r.sem.waiting).toBe(m.queue.length);
  for (const a of AGENTS) expect(r.sem.heldBy(a)).toBe(m.held.get(a) ?? 0);
  expect(r.clock.pending).toBe(m.queue.some((w) => w.due !== undefined) ? 1 : 0);
}

function hold(m: Model, agent: string): void {
  m.inUse++;
  m.held.set(agent, (m.held.get(agent) ?? 0) + 1);
}

class Acquire implements fc.AsyncCommand<Model, Real> {
  readonly agent: string;
  readonly timeout: number | undefined;
  constructor(agent: string, timeout: number | undefined) {
    this.agent = agent;
    this.timeout = timeout;
  }
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const id = m.nextId++;
    const p = r.sem.acquire(this.agent, { timeout: this.timeout });
    p.then(
      (v) => r.results.set(id, v),
      (e: unknown) => r.results.set(id, e instanceof ClosedError ? "closed" : (e as never)),
    );
    if (m.inUse < MAX) {
      hold(m, this.agent);
      m.expected.set(id, true);
    } else if (this.timeout === 0) {
      m.expected.set(id, false);
    } else {
      m.queue.push({ id, agent: this.agent, due: this.timeout === undefined ? undefined : m.now + this.timeout });
      m.expected.set(id, "pending");
    }
    check(m, r);
  }
  toString = (): string => `acquire(${this.agent}, ${String(this.timeout)})`;
}

class Release implements fc.AsyncCommand<Model, Real> {
  readonly agent: string;
  constructor(agent: string) {
    this.agent = agent;
  }
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const n = m.held.get(this.agent) ?? 0;
    expect(r.sem.release(this.agent)).toBe(n > 0);
    if (n > 0) {
      m.held.set(this.agent, n - 1);
      m.inUse--;
      const next = m.queue.shift();
      if (next !== undefined) {
        hold(m, next.agent);
        m.expected.set(next.id, true);
      }
    }
    check(m, r);
  }
  toString = (): string => `release(${this.agent})`;
}

class Advance implements fc.AsyncCommand<Model, Real> {
  readonly ms: number;
  constructor(ms: number) {
    this.ms = ms;
  }
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    m.now += this.ms;
    r.clock.advanceSync(this.ms);
    for (const w of m.queue) if (w.due !== undefined && w.due <= m.now) m.expected.set(w.id, false);
    m.queue = m.queue.filter((w) => w.due === undefined || w.due > m.now);
    check(m, r);
  }
  toString = (): string => `advance(${this.ms})`;
}

describe("Semaphore (model)", () => {
  it("matches the model: never more than maxPermits held, FIFO, timeouts withdraw, grants in any delivery order", async () => {
    const agentArb = fc.constantFrom(...AGENTS);
    const commands = fc.commands(
      [
        fc.tuple(agentArb, fc.constantFrom(undefined, 0, 1, 5, 12)).map(([a, t]) => new Acquire(a, t)),
        agentArb.map((a) => new Release(a)),
        fc.integer({ min: 1, max: 8 }).map((ms) => new Advance(ms)),
      ],
      { maxCommands: 40 },
    );
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), commands, async (s, cmds) => {
        const { runtime, clock } = fcTestRuntime(s);
        const real: Real = { sem: new Semaphore(MAX, { runtime }), clock, results: new Map() };
        const model: Model = { now: 0, nextId: 0, inUse: 0, held: new Map(), queue: [], expected: new Map() };
        await fc.scheduledModelRun(s, () => ({ model, real }), cmds);
        await s.waitAll();
        for (const [id, want] of model.expected) {
          if (want === "pending") expect(real.results.has(id), `#${id} pending`).toBe(false);
          else expect(real.results.get(id), `#${id}`).toBe(want);
        }
        real.sem.close();
        await s.waitAll();
        await Promise.resolve();
        for (const [id, want] of model.expected) if (want === "pending") expect(real.results.get(id)).toBe("closed");
        expect(clock.pending).toBe(0);
      }),
      { numRuns: 200, timeout: 2000 },
    );
  });
});
