import { describe, expect, it } from "vitest";
import { createSystem, type CoveyEvent, type MultiAgentSystem } from "../../../src/index.js";
import { natsBackend } from "../../../src/backends/nats/index.js";
import { ClaimRefusedError, StaleClaimError, createBoard, type Board, type BoardTask } from "../../../src/board/index.js";
import { eventually, withNatsServer } from "./harness.js";

// Two systems on one mesh stand for two processes: each has its own connection, process id,
// board object and lease timers; they share only what goes through NATS.
withNatsServer("Board over NATS", (fixture) => {
  let meshes = 0;
  async function pair(): Promise<{ a: MultiAgentSystem; b: MultiAgentSystem; boardA: Board; boardB: Board; close(): Promise<void> }> {
    const mesh = `board${++meshes}`;
    const opts = { servers: fixture().server.url, mesh, storage: "memory" as const, heartbeatMs: 200 };
    const a = createSystem({ backend: await natsBackend(opts) });
    const b = createSystem({ backend: await natsBackend(opts) });
    const boardA = createBoard(a);
    const boardB = createBoard(b);
    await boardA.ready();
    await boardB.ready();
    return {
      a,
      b,
      boardA,
      boardB,
      async close() {
        boardA.close();
        boardB.close();
        await a.shutdown();
        await b.shutdown();
      },
    };
  }

  describe("Board#as across processes", () => {
    it("lets a planner on one side plan work that workers on both sides claim once each and finish", async () => {
      const { boardA, boardB, close } = await pair();
      try {
        const planner = boardA.as("planner");
        const project = await planner.createProject("API v2", { description: "shared plan" });
        const milestone = await planner.createMilestone(project.id, "M1");
        const tasks: BoardTask[] = [];
        for (let i = 0; i < 8; i++) tasks.push(await planner.createTask({ title: `task ${i}`, projectId: project.id, milestoneId: milestone.id }));
        // The other process sees the plan.
        expect((await boardB.tasks()).map((t) => t.id)).toEqual(tasks.map((t) => t.id));
        expect((await boardB.as("reader").listTasks({ projectId: project.id })).map((t) => t.milestoneId)).toEqual(tasks.map(() => milestone.id));

        // Two workers per process race for every task at once: the claim is a compare-and-swap on
        // the shared record, so exactly one of the four wins each task, the others are refused.
        const workers = [boardA.as("a1"), boardA.as("a2"), boardB.as("b1"), boardB.as("b2")];
        const winners: string[] = [];
        for (const task of tasks) {
          const outcomes = await Promise.allSettled(workers.map((w) => w.claimTask(task.id, { leaseMinutes: 5 })));
          const won = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [{ worker: workers[i]!, token: o.value.token }] : []));
          expect(won).toHaveLength(1);
          for (const o of outcomes) {
            if (o.status === "rejected") expect(o.reason).toMatchObject({ reason: "claimed" });
            if (o.status === "rejected") expect(o.reason).toBeInstanceOf(ClaimRefusedError);
          }
          const { worker, token } = won[0]!;
          winners.push(worker.name);
          await worker.updateTaskStatus(task.id, "in_progress", { token });
          await worker.updateTaskStatus(task.id, "done", { token, note: `by ${worker.name}` });
        }
        // Workers on each side take a task the other side planned: one claim each, no race.
        const extraA = await planner.createTask({ title: "for b", projectId: project.id });
        const extraB = await boardB.as("planner-b").createTask({ title: "for a", projectId: project.id });
        const onB = await boardB.as("b1").claimTask(extraA.id);
        await boardB.as("b1").updateTaskStatus(extraA.id, "done", { token: onB.token });
        const onA = await boardA.as("a1").claimTask(extraB.id);
        await boardA.as("a1").updateTaskStatus(extraB.id, "done", { token: onA.token });

        for (const board of [boardA, boardB]) {
          const all = await board.tasks();
          expect(all).toHaveLength(10);
          expect(all.every((t) => t.status === "done" && t.claim === null)).toBe(true);
          // One claim per task: the fencing counter moved exactly once.
          expect(all.map((t) => t.fence)).toEqual(all.map(() => 1));
          expect(all.slice(0, 8).map((t) => t.doneBy)).toEqual(winners);
        }
        expect((await boardA.as("x").getTask(extraA.id)).doneBy).toBe("b1");
        expect((await boardB.as("x").getTask(extraB.id)).doneBy).toBe("a1");
      } finally {
        await close();
      }
    });

    it("delivers a message sent on one side to a waitForMessage on the other, and its acknowledgement back", async () => {
      const { boardA, boardB, close } = await pair();
      try {
        const waiting = boardB.as("bob").waitForMessage({ from: "alice", timeout: 10_000 });
        const sent = await boardA.as("alice").sendMessage("bob", "schema is ready");
        const got = await waiting;
        expect(got).toEqual(sent);
        expect(got).toMatchObject({ from: "alice", to: "bob", text: "schema is ready", acknowledgedAt: null });
        expect(await boardB.as("bob").acknowledge({ from: "alice" })).toBe(1);
        // Written on B, read on A: the acknowledgement is in the shared record.
        expect(await boardA.as("bob").getMessages({ unread: true })).toEqual([]);
        const read = await boardA.as("bob").getMessages();
        expect(read).toHaveLength(1);
        expect(read[0]!.acknowledgedAt).not.toBeNull();
        // And the other way: a reply written on B wakes a waiter on A.
        const reply = boardA.as("alice").waitForMessage({ timeout: 10_000 });
        await boardB.as("bob").sendMessage("alice", "thanks");
        expect(await reply).toMatchObject({ from: "bob", text: "thanks" });
      } finally {
        await close();
      }
    });

    it("shows a dashboard written on one side the same on the other", async () => {
      const { boardA, boardB, close } = await pair();
      try {
        const task = await boardA.as("planner").createTask({ title: "dash" });
        const written = await boardA.as("alice").dashboardWrite(task.id, "step 1 done");
        expect(await boardB.as("bob").dashboardRead(task.id)).toEqual(written);
        const appended = await boardB.as("bob").dashboardAppend(task.id, "step 2 done");
        expect(appended.entries.map((e) => `${e.author}: ${e.text}`)).toEqual(["alice: step 1 done", "bob: step 2 done"]);
        expect(await boardA.as("carol").dashboardRead(task.id)).toEqual(appended);
      } finally {
        await close();
      }
    });

    it("reclaims on one side the expired lease of a holder on the other: the task returns to todo, the stale holder is refused", async () => {
      const { a, b, boardA, boardB, close } = await pair();
      try {
        const events: CoveyEvent[] = [];
        b.events.eventBus.subscribe("board.lease_expired", (e) => void events.push(e));
        const task = await boardA.as("planner").createTask({ title: "leased" });
        // A's holder takes a 300 ms lease; then A's board stops (its lease timers with it), as
        // when that process goes away: only B's board can reclaim the lease.
        const { token } = await boardA.as("slow").claimTask(task.id, { leaseMinutes: 0.005 });
        boardA.close();
        const reclaimed = await eventually(
          () => events.map((e) => e.payload),
          (p) => p.length > 0,
        );
        expect(reclaimed).toEqual([{ taskId: task.id, holder: "slow", token }]);
        expect(await eventually(() => a.events.eventBus.getHistory({ type: "board.lease_expired" }).length, (n) => n === 1)).toBe(1);
        const back = await boardB.as("x").getTask(task.id);
        expect(back).toMatchObject({ status: "todo", claim: null, updatedBy: "board" });
        const fresh = await boardB.as("fast").claimTask(task.id);
        expect(fresh.token).toBe(token + 1);
        await expect(boardA.as("slow").updateTaskStatus(task.id, "done", { token })).rejects.toBeInstanceOf(StaleClaimError);
        await boardB.as("fast").updateTaskStatus(task.id, "done", { token: fresh.token });
        expect((await boardA.as("x").getTask(task.id)).doneBy).toBe("fast");
      } finally {
        await close();
      }
    });
  });
});
