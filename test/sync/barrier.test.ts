import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { ClosedError, ValidationError } from "../../src/errors.js";
import { Barrier } from "../../src/sync/barrier.js";
import { VirtualClock } from "../../src/testing/virtual-clock.js";
import { HeldScheduler, testRuntime, watch } from "./helpers.js";

describe("Barrier#wait", () => {
  it("trips when requiredCount distinct agents arrive, then starts a new generation", async () => {
    const barrier = new Barrier(3);
    expect(barrier.generation).toBe(0);
    const a = watch(barrier.wait("a"));
    const b = watch(barrier.wait("b"));
    await Promise.resolve();
    expect(a.settled || b.settled).toBe(false);
    expect(barrier.arrived).toBe(2);
    expect(await barrier.wait("c")).toBe(true);
    await Promise.resolve();
    expect([a.value, b.value]).toEqual([true, true]);
    expect(barrier.generation).toBe(1);
    expect(barrier.arrived).toBe(0);
  });

  it("counts an agent waiting twice once, and gives both its waits the result", async () => {
    const barrier = new Barrier(2);
    const a1 = barrier.wait("a");
    const a2 = barrier.wait("a");
    expect(barrier.arrived).toBe(1);
    expect(await barrier.wait("b")).toBe(true);
    expect(await a1).toBe(true);
    expect(await a2).toBe(true);
  });

  it("is cyclic: each generation trips on its own arrivals", async () => {
    const barrier = new Barrier(2);
    for (let gen = 1; gen <= 3; gen++) {
      const a = barrier.wait("a");
      expect(await barrier.wait("b")).toBe(true);
      expect(await a).toBe(true);
      expect(barrier.generation).toBe(gen);
    }
  });

  it("withdraws a waiter that times out: false exactly at the timeout, and it no longer counts", async () => {
    const clock = new VirtualClock();
    const barrier = new Barrier(3, { clock });
    const a = watch(barrier.wait("a", { timeout: 50 }));
    const b = watch(barrier.wait("b"));
    await clock.advance(49);
    expect(a.settled).toBe(false);
    await clock.advance(1);
    expect(a).toEqual({ settled: true, value: false });
    expect(barrier.arrived).toBe(1);
    expect(clock.pending).toBe(0);
    // "c" alone does not trip it: "a" was withdrawn.
    const c = watch(barrier.wait("c"));
    await clock.settle();
    expect(c.settled).toBe(false);
    expect(await barrier.wait("d")).toBe(true);
    await clock.settle();
    expect([b.value, c.value]).toEqual([true, true]);
  });

  it("keeps an agent counted while one of its waits is still pending", async () => {
    const clock = new VirtualClock();
    const barrier = new Barrier(2, { clock });
    const short = watch(barrier.wait("a", { timeout: 10 }));
    const long = watch(barrier.wait("a"));
    await clock.advance(10);
    expect(short.value).toBe(false);
    expect(barrier.arrived).toBe(1);
    expect(await barrier.wait("b")).toBe(true);
    await clock.settle();
    expect(long.value).toBe(true);
  });

  it("with timeout 0 returns false at once unless its arrival trips the barrier", async () => {
    const clock = new VirtualClock();
    const barrier = new Barrier(2, { clock });
    expect(await barrier.wait("a", { timeout: 0 })).toBe(false);
    expect(barrier.arrived).toBe(0);
    const a = barrier.wait("a");
    expect(await barrier.wait("b", { timeout: 0 })).toBe(true);
    expect(await a).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it("rejects with the signal's reason, withdraws and removes its listener", async () => {
    const barrier = new Barrier(2);
    const ac = new AbortController();
    const reason = new Error("leave");
    const a = barrier.wait("a", { signal: ac.signal });
    ac.abort(reason);
    await expect(a).rejects.toBe(reason);
    expect(barrier.arrived).toBe(0);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
    await expect(barrier.wait("a", { signal: ac.signal })).rejects.toBe(reason);
  });

  it("drops timers and listeners of waiters released by a trip", async () => {
    const clock = new VirtualClock();
    const barrier = new Barrier(2, { clock });
    const ac = new AbortController();
    const a = barrier.wait("a", { timeout: 100, signal: ac.signal });
    await barrier.wait("b");
    expect(await a).toBe(true);
    expect(clock.pending).toBe(0);
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });

  it("a deferred trip notification is not undone by a timeout due before it is delivered", async () => {
    const held = new HeldScheduler();
    const { runtime, clock, records } = testRuntime(held);
    const barrier = new Barrier(2, { runtime, name: "phase" });
    const a = watch(barrier.wait("a", { timeout: 10 }));
    await barrier.wait("b");
    await clock.advance(20);
    expect(a.settled).toBe(false);
    held.runAll();
    await clock.settle();
    expect(a.value).toBe(true);
    expect(records.map((r) => [r.kind, r.name, r.detail])).toEqual([["barrier", "phase", { generation: 1 }]]);
  });

  it("validates its arguments", async () => {
    expect(() => new Barrier(0)).toThrow(ValidationError);
    expect(() => new Barrier(2.5)).toThrow(ValidationError);
    const barrier = new Barrier(1);
    await expect(barrier.wait("")).rejects.toBeInstanceOf(ValidationError);
    expect(await barrier.wait("solo")).toBe(true);
    expect(barrier.generation).toBe(1);
  });
});

describe("Barrier#reset", () => {
  it("gives current waiters false and starts a new generation", async () => {
    const clock = new VirtualClock();
    const barrier = new Barrier(3, { clock });
    const a = barrier.wait("a", { timeout: 100 });
    const b = barrier.wait("b");
    barrier.reset();
    expect(await a).toBe(false);
    expect(await b).toBe(false);
    expect(barrier.generation).toBe(1);
    expect(barrier.arrived).toBe(0);
    expect(clock.pending).toBe(0);
  });
});

describe("Barrier#close", () => {
  it("rejects pending waits with ClosedError, clears timers and refuses later waits", async () => {
    const clock = new VirtualClock();
    const barrier = new Barrier(3, { clock });
    const a = barrier.wait("a", { timeout: 100 });
    barrier.close();
    await expect(a).rejects.toBeInstanceOf(ClosedError);
    expect(clock.pending).toBe(0);
    await expect(barrier.wait("b")).rejects.toBeInstanceOf(ClosedError);
    expect(barrier.closed).toBe(true);
  });
});
