import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ClosedError } from "../../src/errors.js";
import { Barrier, Lock, Semaphore } from "../../src/sync/index.js";
import type { VirtualClock } from "../../src/testing/virtual-clock.js";
import { fcRuntime, report, runs, type FcRuntime } from "./fc-runtime.js";

/*
 * Model-based runs (fc.commands + fc.scheduledModelRun) of the sync primitives. fast-check
 * generates command sequences and, through the runtime's scheduler, also chooses the order in
 * which grant notifications are delivered. After every command the primitive's observable
 * state (holder, fencing token, permits, queue length, generation) must equal the model's; at
 * the end every wait must have settled exactly as the model says (still pending ones too).
 *
 * Timing ties are kept out of the model by parity: clock steps and lease lengths are even,
 * wait timeouts odd, so a lease never expires at the very instant a waiter times out.
 */

const AGENTS = ["a", "b", "c", "d"] as const;
const agentArb = fc.constantFrom(...AGENTS);
const timeoutArb = fc.constantFrom(undefined, undefined, 0, 1, 3, 5, 11);
const advanceArb = fc.constantFrom(2, 4, 6, 10, 20);

type Expect = boolean | "pending";

/** Bookkeeping shared by the three models: what each wait must end with. */
interface Base {
  now: number;
  nextId: number;
  readonly expected: Map<number, Expect>;
  steps: number;
}

interface Real {
  readonly clock: VirtualClock;
  readonly results: Map<number, boolean | "closed" | "error">;
}

function track(r: Real, id: number, p: Promise<boolean>): void {
  p.then(
    (v) => r.results.set(id, v),
    (e: unknown) => r.results.set(id, e instanceof ClosedError ? "closed" : "error"),
  );
}

async function flush(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((res) => setImmediate(res));
}

/** Every settled wait matches the model; every wait the model holds pending is still pending. */
function verifyOutcomes(base: Base, r: Real): void {
  for (const [id, want] of base.expected) {
    const got = r.results.get(id);
    if (want === "pending") expect(got, `wait #${id} should still be pending`).toBeUndefined();
    else expect(got, `wait #${id}`).toBe(want);
  }
}

/**
 * After a run: outcomes match the model; closing the primitive ends every wait the model
 * still holds pending with ClosedError; no timer is left and no delivery threw.
 */
async function finishRun(fr: FcRuntime, base: Base, r: Real, close: () => void): Promise<void> {
  await flush();
  verifyOutcomes(base, r);
  close();
  await flush();
  for (const [id, want] of base.expected) if (want === "pending") expect(r.results.get(id)).toBe("closed");
  expect(fr.clock.pending).toBe(0);
  expect(fr.errors).toEqual([]);
}

// ---------------------------------------------------------------- Lock

interface LockWaiter {
  readonly id: number;
  readonly agent: string;
  readonly due: number | undefined;
  readonly ttl: number | undefined;
}

interface LockModel extends Base {
  holder: string | undefined;
  token: number;
  leaseDue: number | undefined;
  queue: LockWaiter[];
  staleRejected: number;
}

interface LockReal extends Real {
  readonly lock: Lock;
}

function lockGrant(m: LockModel, agent: string, ttl: number | undefined, at: number): void {
  m.holder = agent;
  m.token++;
  m.leaseDue = ttl === undefined ? undefined : at + ttl;
}

function lockHandOver(m: LockModel, at: number): void {
  const next = m.queue.shift();
  if (next === undefined) {
    m.holder = undefined;
    m.leaseDue = undefined;
    return;
  }
  lockGrant(m, next.agent, next.ttl, at);
  m.expected.set(next.id, true);
}

function assertLock(m: LockModel, r: LockReal): void {
  m.steps++;
  expect(r.lock.holder).toBe(m.holder);
  expect(r.lock.fencingToken).toBe(m.token);
  expect(r.lock.waiting).toBe(m.queue.length);
}

class LockAcquire implements fc.AsyncCommand<LockModel, LockReal> {
  readonly agent: string;
  readonly timeout: number | undefined;
  readonly ttl: number | undefined;
  constructor(agent: string, timeout: number | undefined, ttl: number | undefined) {
    this.agent = agent;
    this.timeout = timeout;
    this.ttl = ttl;
  }
  check(m: Readonly<LockModel>): boolean {
    return !m.queue.some((w) => w.agent === this.agent);
  }
  async run(m: LockModel, r: LockReal): Promise<void> {
    const id = m.nextId++;
    const opts: { timeout?: number; ttl?: number } = {};
    if (this.timeout !== undefined) opts.timeout = this.timeout;
    if (this.ttl !== undefined) opts.ttl = this.ttl;
    track(r, id, r.lock.acquire(this.agent, opts));
    if (m.holder === undefined || m.holder === this.agent) {
      lockGrant(m, this.agent, this.ttl, m.now);
      m.expected.set(id, true);
    } else if (this.timeout === 0) {
      m.expected.set(id, false);
    } else {
      m.queue.push({ id, agent: this.agent, due: this.timeout === undefined ? undefined : m.now + this.timeout, ttl: this.ttl });
      m.expected.set(id, "pending");
    }
    assertLock(m, r);
  }
  toString(): string {
    return `acquire(${this.agent}, timeout=${this.timeout}, ttl=${this.ttl})`;
  }
}

class LockRelease implements fc.AsyncCommand<LockModel, LockReal> {
  readonly agent: string;
  readonly token: "none" | "current" | "stale";
  constructor(agent: string, token: "none" | "current" | "stale") {
    this.agent = agent;
    this.token = token;
  }
  check(): boolean {
    return true;
  }
  async run(m: LockModel, r: LockReal): Promise<void> {
    const token = this.token === "none" ? undefined : this.token === "current" ? m.token : m.token - 1;
    const ok = r.lock.release(this.agent, token);
    const want = m.holder === this.agent && (token === undefined || token === m.token);
    expect(ok).toBe(want);
    if (this.token === "stale" && m.holder === this.agent) m.staleRejected++;
    if (want) lockHandOver(m, m.now);
    assertLock(m, r);
  }
  toString(): string {
    return `release(${this.agent}, ${this.token})`;
  }
}

class LockAdvance implements fc.AsyncCommand<LockModel, LockReal> {
  readonly ms: number;
  constructor(ms: number) {
    this.ms = ms;
  }
  check(): boolean {
    return true;
  }
  async run(m: LockModel, r: LockReal): Promise<void> {
    const target = m.now + this.ms;
    for (;;) {
      const timeouts = m.queue.filter((w) => w.due !== undefined && w.due <= target).map((w) => w.due!);
      const nextTimeout = timeouts.length > 0 ? Math.min(...timeouts) : Infinity;
      const lease = m.leaseDue !== undefined && m.leaseDue <= target ? m.leaseDue : Infinity;
      if (nextTimeout === Infinity && lease === Infinity) break;
      if (nextTimeout < lease) {
        for (const w of m.queue.filter((x) => x.due === nextTimeout)) m.expected.set(w.id, false);
        m.queue = m.queue.filter((x) => x.due !== nextTimeout);
      } else {
        lockHandOver(m, lease);
      }
    }
    m.now = target;
    await r.clock.advance(this.ms);
    assertLock(m, r);
  }
  toString(): string {
    return `advance(${this.ms})`;
  }
}

const lockCommands = [
  fc.tuple(agentArb, timeoutArb, fc.constantFrom(undefined, undefined, 4, 8, 12)).map(([a, t, ttl]) => new LockAcquire(a, t, ttl)),
  fc.tuple(agentArb, fc.constantFrom<"none" | "current" | "stale">("none", "current", "stale")).map(([a, t]) => new LockRelease(a, t)),
  advanceArb.map((ms) => new LockAdvance(ms)),
];

// ---------------------------------------------------------------- Semaphore

interface SemWaiter {
  readonly id: number;
  readonly agent: string;
  readonly due: number | undefined;
}

interface SemModel extends Base {
  readonly max: number;
  readonly held: Map<string, number>;
  inUse: number;
  queue: SemWaiter[];
}

interface SemReal extends Real {
  readonly sem: Semaphore;
}

function semTake(m: SemModel, agent: string): void {
  m.held.set(agent, (m.held.get(agent) ?? 0) + 1);
  m.inUse++;
}

function assertSem(m: SemModel, r: SemReal): void {
  m.steps++;
  expect(r.sem.available).toBe(m.max - m.inUse);
  expect(r.sem.waiting).toBe(m.queue.length);
  expect(m.inUse).toBeLessThanOrEqual(m.max);
}

class SemAcquire implements fc.AsyncCommand<SemModel, SemReal> {
  readonly agent: string;
  readonly timeout: number | undefined;
  constructor(agent: string, timeout: number | undefined) {
    this.agent = agent;
    this.timeout = timeout;
  }
  check(): boolean {
    return true;
  }
  async run(m: SemModel, r: SemReal): Promise<void> {
    const id = m.nextId++;
    track(r, id, r.sem.acquire(this.agent, this.timeout === undefined ? undefined : { timeout: this.timeout }));
    if (m.inUse < m.max) {
      semTake(m, this.agent);
      m.expected.set(id, true);
    } else if (this.timeout === 0) {
      m.expected.set(id, false);
    } else {
      m.queue.push({ id, agent: this.agent, due: this.timeout === undefined ? undefined : m.now + this.timeout });
      m.expected.set(id, "pending");
    }
    assertSem(m, r);
  }
  toString(): string {
    return `acquire(${this.agent}, timeout=${this.timeout})`;
  }
}

class SemRelease implements fc.AsyncCommand<SemModel, SemReal> {
  readonly agent: string;
  constructor(agent: string) {
    this.agent = agent;
  }
  check(): boolean {
    return true;
  }
  async run(m: SemModel, r: SemReal): Promise<void> {
    const n = m.held.get(this.agent) ?? 0;
    expect(r.sem.release(this.agent)).toBe(n > 0);
    if (n > 0) {
      if (n === 1) m.held.delete(this.agent);
      else m.held.set(this.agent, n - 1);
      m.inUse--;
      const next = m.queue.shift();
      if (next !== undefined) {
        semTake(m, next.agent);
        m.expected.set(next.id, true);
      }
    }
    assertSem(m, r);
  }
  toString(): string {
    return `release(${this.agent})`;
  }
}

class SemAdvance implements fc.AsyncCommand<SemModel, SemReal> {
  readonly ms: number;
  constructor(ms: number) {
    this.ms = ms;
  }
  check(): boolean {
    return true;
  }
  async run(m: SemModel, r: SemReal): Promise<void> {
    m.now += this.ms;
    for (const w of m.queue) if (w.due !== undefined && w.due <= m.now) m.expected.set(w.id, false);
    m.queue = m.queue.filter((w) => w.due === undefined || w.due > m.now);
    await r.clock.advance(this.ms);
    assertSem(m, r);
  }
  toString(): string {
    return `advance(${this.ms})`;
  }
}

const semCommands = [
  fc.tuple(agentArb, timeoutArb).map(([a, t]) => new SemAcquire(a, t)),
  agentArb.map((a) => new SemRelease(a)),
  advanceArb.map((ms) => new SemAdvance(ms)),
];

// ---------------------------------------------------------------- Barrier

interface BarrierWait {
  readonly id: number;
  readonly due: number | undefined;
}

interface BarrierModel extends Base {
  readonly required: number;
  generation: number;
  arrivals: Map<string, BarrierWait[]>;
}

interface BarrierReal extends Real {
  readonly barrier: Barrier;
}

function assertBarrier(m: BarrierModel, r: BarrierReal): void {
  m.steps++;
  expect(r.barrier.generation).toBe(m.generation);
  expect(r.barrier.arrived).toBe(m.arrivals.size);
}

function endGeneration(m: BarrierModel, result: boolean): void {
  for (const waits of m.arrivals.values()) for (const w of waits) m.expected.set(w.id, result);
  m.arrivals = new Map();
  m.generation++;
}

class BarrierArrive implements fc.AsyncCommand<BarrierModel, BarrierReal> {
  readonly agent: string;
  readonly timeout: number | undefined;
  constructor(agent: string, timeout: number | undefined) {
    this.agent = agent;
    this.timeout = timeout;
  }
  check(): boolean {
    return true;
  }
  async run(m: BarrierModel, r: BarrierReal): Promise<void> {
    const id = m.nextId++;
    track(r, id, r.barrier.wait(this.agent, this.timeout === undefined ? undefined : { timeout: this.timeout }));
    let mine = m.arrivals.get(this.agent);
    if (mine === undefined && m.arrivals.size + 1 >= m.required) {
      endGeneration(m, true);
      m.expected.set(id, true);
    } else if (this.timeout === 0) {
      m.expected.set(id, false);
    } else {
      if (mine === undefined) m.arrivals.set(this.agent, (mine = []));
      mine.push({ id, due: this.timeout === undefined ? undefined : m.now + this.timeout });
      m.expected.set(id, "pending");
    }
    assertBarrier(m, r);
  }
  toString(): string {
    return `wait(${this.agent}, timeout=${this.timeout})`;
  }
}

class BarrierReset implements fc.AsyncCommand<BarrierModel, BarrierReal> {
  check(): boolean {
    return true;
  }
  async run(m: BarrierModel, r: BarrierReal): Promise<void> {
    r.barrier.reset();
    endGeneration(m, false);
    assertBarrier(m, r);
  }
  toString(): string {
    return "reset()";
  }
}

class BarrierAdvance implements fc.AsyncCommand<BarrierModel, BarrierReal> {
  readonly ms: number;
  constructor(ms: number) {
    this.ms = ms;
  }
  check(): boolean {
    return true;
  }
  async run(m: BarrierModel, r: BarrierReal): Promise<void> {
    m.now += this.ms;
    for (const [agent, waits] of [...m.arrivals]) {
      const left = waits.filter((w) => w.due === undefined || w.due > m.now);
      for (const w of waits) if (!left.includes(w)) m.expected.set(w.id, false);
      if (left.length === 0) m.arrivals.delete(agent);
      else m.arrivals.set(agent, left);
    }
    await r.clock.advance(this.ms);
    assertBarrier(m, r);
  }
  toString(): string {
    return `advance(${this.ms})`;
  }
}

const barrierCommands = [
  fc.tuple(agentArb, timeoutArb).map(([a, t]) => new BarrierArrive(a, t)),
  fc.constant(new BarrierReset()),
  advanceArb.map((ms) => new BarrierAdvance(ms)),
];

// ---------------------------------------------------------------- runs

const base = (): Base => ({ now: 0, nextId: 0, expected: new Map(), steps: 0 });

describe("Lock (model-based, scheduled deliveries)", () => {
  it("matches the model: one holder, FIFO hand-over, leases, stale tokens refused", async () => {
    let histories = 0;
    let steps = 0;
    let stale = 0;
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.commands(lockCommands, { maxCommands: 60, size: "large" }), async (s, cmds) => {
        const fr = fcRuntime(s);
        const real: LockReal = { lock: new Lock("model", { runtime: fr.runtime }), clock: fr.clock, results: new Map() };
        const model: LockModel = { ...base(), holder: undefined, token: 0, leaseDue: undefined, queue: [], staleRejected: 0 };
        await fc.scheduledModelRun(s, () => ({ model, real }), cmds);
        await finishRun(fr, model, real, () => real.lock.close());
        histories++;
        steps += model.steps;
        stale += model.staleRejected;
      }),
      { numRuns: runs(150, 2000) },
    );
    await report("sync-model-lock", { runs: histories, commands: steps, staleReleasesRefused: stale, divergences: 0 });
  });
});

describe("Semaphore (model-based, scheduled deliveries)", () => {
  it("matches the model: never more holders than permits, FIFO, timeouts withdraw", async () => {
    let histories = 0;
    let steps = 0;
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 3 }), fc.commands(semCommands, { maxCommands: 60, size: "large" }), async (s, max, cmds) => {
        const fr = fcRuntime(s);
        const real: SemReal = { sem: new Semaphore(max, { runtime: fr.runtime }), clock: fr.clock, results: new Map() };
        const model: SemModel = { ...base(), max, held: new Map(), inUse: 0, queue: [] };
        await fc.scheduledModelRun(s, () => ({ model, real }), cmds);
        await finishRun(fr, model, real, () => real.sem.close());
        histories++;
        steps += model.steps;
      }),
      { numRuns: runs(150, 2000) },
    );
    await report("sync-model-semaphore", { runs: histories, commands: steps, divergences: 0 });
  });
});

describe("Barrier (model-based, scheduled deliveries)", () => {
  it("matches the model: trips at requiredCount distinct agents, withdraws on timeout, resets", async () => {
    let histories = 0;
    let steps = 0;
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 4 }), fc.commands(barrierCommands, { maxCommands: 60, size: "large" }), async (s, required, cmds) => {
        const fr = fcRuntime(s);
        const real: BarrierReal = { barrier: new Barrier(required, { runtime: fr.runtime }), clock: fr.clock, results: new Map() };
        const model: BarrierModel = { ...base(), required, generation: 0, arrivals: new Map() };
        await fc.scheduledModelRun(s, () => ({ model, real }), cmds);
        await finishRun(fr, model, real, () => real.barrier.close());
        histories++;
        steps += model.steps;
      }),
      { numRuns: runs(150, 2000) },
    );
    await report("sync-model-barrier", { runs: histories, commands: steps, divergences: 0 });
  });
});
