import { describe, expect, it } from "vitest";
import { createSystem, type MultiAgentSystem } from "../../../src/index.js";
import { natsBackend, type NatsBackend } from "../../../src/backends/nats/index.js";
import { ClosedError } from "../../../src/errors.js";
import type { Clock } from "../../../src/runtime/clock.js";
import { systemClock } from "../../../src/runtime/clock.js";
import { syncContract } from "../../sync/sync-contract.js";
import { eventually, withNatsServer } from "./harness.js";
import { startNatsServer } from "./server.js";

const PRESENCE_MS = 100;

withNatsServer("sync primitives over NATS", (fixture) => {
  let meshes = 0;
  async function join(mesh: string, clock?: Clock): Promise<{ system: MultiAgentSystem; backend: NatsBackend }> {
    const backend = await natsBackend({ servers: fixture().server.url, mesh, storage: "memory", presenceMs: PRESENCE_MS });
    return { system: createSystem(clock === undefined ? { backend } : { backend, clock }), backend };
  }

  syncContract("NATS", async () => {
    const mesh = `sync${++meshes}`;
    const one = await join(mesh);
    const two = await join(mesh);
    return {
      a: one.system.sync,
      b: two.system.sync,
      elapse: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      async until(probe) {
        await eventually(probe, (ok) => ok);
      },
      // Others count a lease from when they saw it, plus 1% and 100 ms (see grace()).
      leaseGrace: (ttl) => ttl * 0.01 + 150,
      async close() {
        await one.system.shutdown();
        await two.system.shutdown();
      },
    };
  });

  describe("liveness and clocks", () => {
    it("frees a lock held without a lease by a process that died, and the next waiter gets it", async () => {
      const mesh = `sync${++meshes}`;
      const doomed = await join(mesh);
      const heir = await join(mesh);
      try {
        expect(await doomed.system.sync.getLock("plan").acquire("x")).toBe(true);
        await eventually(() => heir.system.sync.getLock("plan").holder, (h) => h === "x");
        const started = Date.now();
        const next = heir.system.sync.getLock("plan").acquire("y", { timeout: 10_000 });
        // Dies without shutting down: no release, no goodbye; only its heartbeat stops.
        await doomed.backend.connection.close();
        expect(await next).toBe(true);
        const waited = Date.now() - started;
        expect(waited).toBeGreaterThanOrEqual(3 * PRESENCE_MS);
        expect(waited).toBeLessThan(3_000);
      } finally {
        await heir.system.shutdown();
        await doomed.system.shutdown().catch(() => undefined);
      }
    });

    it("hands permits and barrier places of a dead process back", async () => {
      const mesh = `sync${++meshes}`;
      const doomed = await join(mesh);
      const heir = await join(mesh);
      try {
        expect(await doomed.system.sync.getSemaphore("gpu", 1).acquire("x")).toBe(true);
        await eventually(() => heir.system.sync.getSemaphore("gpu", 1).available, (n) => n === 0);
        const next = heir.system.sync.getSemaphore("gpu", 1).acquire("y", { timeout: 10_000 });
        await doomed.backend.connection.close();
        expect(await next).toBe(true);
      } finally {
        await heir.system.shutdown();
        await doomed.system.shutdown().catch(() => undefined);
      }
    });

    it("releases what a process holds when it shuts down, at once", async () => {
      const mesh = `sync${++meshes}`;
      const leaving = await join(mesh);
      const staying = await join(mesh);
      try {
        await leaving.system.sync.getLock("plan").acquire("x");
        await eventually(() => staying.system.sync.getLock("plan").holder, (h) => h === "x");
        const next = staying.system.sync.getLock("plan").acquire("y", { timeout: 10_000 });
        const started = Date.now();
        await leaving.system.shutdown();
        expect(await next).toBe(true);
        expect(Date.now() - started).toBeLessThan(3 * PRESENCE_MS);
      } finally {
        await staying.system.shutdown();
      }
    });

    it("never lets a waiter take over a lease early, however far apart the two clocks are", async () => {
      const mesh = `sync${++meshes}`;
      const hour = 3_600_000;
      // The holder's clock runs an hour behind, the waiter's an hour ahead: comparing their
      // timestamps would end the lease at once.
      const behind: Clock = { ...systemClock, now: () => Date.now() - hour, setTimeout: systemClock.setTimeout, clearTimeout: systemClock.clearTimeout };
      const ahead: Clock = { ...systemClock, now: () => Date.now() + hour, setTimeout: systemClock.setTimeout, clearTimeout: systemClock.clearTimeout };
      const holder = await join(mesh, behind);
      const waiter = await join(mesh, ahead);
      try {
        const ttl = 400;
        const got = Date.now();
        expect(await holder.system.sync.getLock("plan").acquire("x", { ttl })).toBe(true);
        let holderLostAt = 0;
        // The holder's own view ends its lease on its clock; the waiter's grant must come later.
        const lost = eventually(() => holder.system.sync.getLock("plan").holder, (h) => h !== "x", 5_000).then(() => (holderLostAt = Date.now()));
        expect(await waiter.system.sync.getLock("plan").acquire("y", { timeout: 10_000 })).toBe(true);
        const grantedAt = Date.now();
        expect(grantedAt - got).toBeGreaterThanOrEqual(ttl);
        await lost;
        expect(holderLostAt).toBeLessThanOrEqual(grantedAt + 20);
      } finally {
        await holder.system.shutdown();
        await waiter.system.shutdown();
      }
    });

    it("keeps holders apart across three processes: a section starts only after the previous one ended or lost its lease", async () => {
      const mesh = `sync${++meshes}`;
      const members = [await join(mesh), await join(mesh), await join(mesh)];
      try {
        // Some sections outlast their 150 ms lease on purpose (no autoRenew): their scope signal
        // must abort before anyone else gets in.
        interface Section { token: number; start: number; end: number; lostAt: number }
        const sections: Section[] = [];
        let seed = 7;
        const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
        const runs = members.flatMap(({ system }, p) =>
          [0, 1, 2].map(async (a) => {
            for (let i = 0; i < 4; i++) {
              const work = random() < 0.25 ? 250 : Math.floor(random() * 40);
              await system.sync
                .getLock("hot")
                .withLock(
                  `p${p}a${a}`,
                  async (token, { signal }) => {
                    const section: Section = { token, start: performance.now(), end: Infinity, lostAt: Infinity };
                    sections.push(section);
                    signal.addEventListener("abort", () => (section.lostAt = performance.now()), { once: true });
                    await new Promise((resolve) => setTimeout(resolve, work));
                    section.end = performance.now();
                  },
                  { ttl: 150, timeout: 60_000 },
                )
                .catch((e: unknown) => {
                  // A section that outlived its lease is refused: the lease was lost under it.
                  if (!(e instanceof Error) || e.name !== "TimeoutError") throw e;
                });
            }
          }),
        );
        await Promise.all(runs);
        expect(sections).toHaveLength(36);
        const byToken = [...sections].sort((x, y) => x.token - y.token);
        expect(new Set(byToken.map((s) => s.token)).size).toBe(36);
        for (let i = 1; i < byToken.length; i++) {
          const before = byToken[i - 1]!;
          const next = byToken[i]!;
          // Timer granularity allowance: 2 ms.
          expect(next.start + 2).toBeGreaterThanOrEqual(Math.min(before.end, before.lostAt));
        }
        expect(byToken.some((s) => s.lostAt < Infinity)).toBe(true);
      } finally {
        for (const { system } of members) await system.shutdown();
      }
    }, 120_000);

    it("gives its locks up itself when it cannot renew its heartbeat (the server went away)", async () => {
      const own = await startNatsServer();
      const backend = await natsBackend({ servers: own.url, mesh: "cut", storage: "memory", presenceMs: PRESENCE_MS });
      const system = createSystem({ backend });
      try {
        const lost = new Promise<unknown>((resolve) => {
          void system.sync
            .getLock("plan")
            .withLock("x", (_token, { signal }) => new Promise((r) => signal.addEventListener("abort", () => r(signal.reason), { once: true })))
            .catch((e: unknown) => e)
            .then(resolve);
        });
        await eventually(() => system.sync.getLock("plan").holder, (h) => h === "x");
        const cutAt = Date.now();
        await own.stop();
        // Before any other process could judge it gone (3 intervals from when they saw its last
        // heartbeat), it stops holding (3 intervals from when it sent that heartbeat).
        expect(await lost).toBeInstanceOf(ClosedError);
        expect(Date.now() - cutAt).toBeLessThan(3 * PRESENCE_MS * 1.01 + 100 + 500);
        expect(system.sync.getLock("plan").holder).toBeUndefined();
      } finally {
        await system.shutdown();
        await own.stop().catch(() => undefined);
      }
    });

    it("keeps two lock objects of one id in one process apart (one kept from before its manager dropped it)", async () => {
      const mesh = `sync${++meshes}`;
      const { system } = await join(mesh);
      try {
        const kept = system.sync.getLock("same");
        // Past 1,024 lock objects the manager drops the idle ones: "same" among them.
        for (let i = 0; i < 1100; i++) system.sync.getLock(`filler-${i}`);
        const fresh = system.sync.getLock("same");
        expect(fresh).not.toBe(kept);
        expect(await kept.acquire("x")).toBe(true);
        expect(await fresh.acquire("y", { timeout: 300 })).toBe(false);
        expect(fresh.holder).toBe("x");
        const next = fresh.acquire("y", { timeout: 10_000 });
        expect(kept.release("x")).toBe(true);
        expect(await next).toBe(true);
        expect(kept.holder).toBe("y");
      } finally {
        await system.shutdown();
      }
    });

    it("runs the textbook task flow across processes: one lock per task, each task once", async () => {
      const mesh = `sync${++meshes}`;
      const one = await join(mesh);
      const two = await join(mesh);
      try {
        const w1 = await one.system.addAgent("w1", ["work"]);
        const w2 = await two.system.addAgent("w2", ["work"]);
        const tasks = Array.from({ length: 6 }, (_, i) => ({ id: `t${i}`, type: "work", payload: i }));
        await Promise.all(tasks.flatMap((t) => [w1.executeTask(t), w2.executeTask(t)]));
        for (const t of tasks) expect((await two.system.kv.get(`task:${t.id}:status`))?.value).toBe("completed");
      } finally {
        await one.system.shutdown();
        await two.system.shutdown();
      }
    });

    it("rejects waits with ClosedError on shutdown and leaves the lock to the others", async () => {
      const mesh = `sync${++meshes}`;
      const one = await join(mesh);
      const two = await join(mesh);
      try {
        await one.system.sync.getLock("l").acquire("x");
        await eventually(() => two.system.sync.getLock("l").holder, (h) => h === "x");
        const pending = two.system.sync.getLock("l").acquire("y").catch((e: unknown) => e);
        await two.system.shutdown();
        expect(await pending).toBeInstanceOf(ClosedError);
        expect(one.system.sync.getLock("l").holder).toBe("x");
      } finally {
        await one.system.shutdown();
      }
    });
  });
});
