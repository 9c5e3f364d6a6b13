import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createSystem, type CoveyEvent } from "../../src/index.js";
import { VirtualClock } from "../../src/testing/index.js";
import { sqliteStore } from "../../src/backends/sqlite/index.js";
import { ClaimRefusedError, StaleClaimError, createBoard } from "../../src/board/index.js";

const MINUTE = 60_000;
const dir = mkdtempSync(join(tmpdir(), "covey-board-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One "process": a system and its board over the SQLite file. */
async function open(file: string, clock: VirtualClock) {
  const store = await sqliteStore(file, { clock });
  const system = createSystem({ clock, store });
  const board = createBoard(system);
  const events: CoveyEvent[] = [];
  system.events.eventBus.subscribe("*", (e) => {
    if (e.type.startsWith("board.")) events.push(e);
  });
  await board.ready();
  return {
    board,
    events,
    async crash() {
      board.close();
      await system.shutdown();
      await store.close();
    },
  };
}

describe("Board on a durable store (SQLite)", () => {
  it("keeps a live claim across a restart and never resurrects an expired one", async () => {
    const file = join(dir, "board.db");
    const clock = new VirtualClock(1_000_000);
    const first = await open(file, clock);
    const task = await first.board.as("planner").createTask({ title: "x" });
    const { token } = await first.board.as("w1").claimTask(task.id, { leaseMinutes: 2 });
    await first.crash();

    // Restarted within the lease: the claim still holds.
    await clock.advance(MINUTE);
    const second = await open(file, clock);
    await expect(second.board.as("w2").claimTask(task.id)).rejects.toBeInstanceOf(ClaimRefusedError);
    await second.crash();

    // Down past the expiry: the restarted board returns the task and reports it.
    await clock.advance(2 * MINUTE);
    const third = await open(file, clock);
    await clock.advance(0);
    expect((await third.board.as("w2").getTask(task.id)).status).toBe("todo");
    expect(third.events.filter((e) => e.type === "board.lease_expired").map((e) => e.payload)).toEqual([{ taskId: task.id, holder: "w1", token }]);
    const next = await third.board.as("w2").claimTask(task.id);
    expect(next.token).toBe(token + 1);
    await expect(third.board.as("w1").updateTaskStatus(task.id, "done", { token })).rejects.toBeInstanceOf(StaleClaimError);
    await third.board.as("w2").updateTaskStatus(task.id, "done", { token: next.token });
    await third.crash();
    expect(clock.pending).toBe(0);
  });
});
