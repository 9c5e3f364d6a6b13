import { describe, expect, it } from "vitest";
import { sleep } from "../../src/index.js";
import { explore, type Scenario } from "../../src/testing/index.js";
import { createBoard, StaleClaimError, type BoardMember, type BoardTask } from "../../src/board/index.js";

const MINUTE = 60_000;
const LEASE = 2; // minutes
const TRACKS = ["main", "docs"];
const PER_TRACK = 3;

interface Totals {
  runs: number;
  claims: number;
  done: number;
  expired: number;
  reclaimed: number;
  staleRefused: number;
}

/**
 * Several workers claim from shared tracks while the seed interleaves every store operation.
 * In some runs one worker dies holding a claim, in others one stalls past its lease and then
 * tries to finish. Invariants are checked on the board's commit-ordered change feed.
 */
function scenario(totals: Totals, naive = false): Scenario {
  return async ({ system, clock, seed }) => {
    const board = createBoard(system);
    const planner = board.as("planner");
    const project = await planner.createProject("p");
    const milestone = await planner.createMilestone(project.id, "m");
    for (const track of TRACKS) {
      for (let order = 0; order < PER_TRACK; order++) {
        await planner.createTask({ projectId: project.id, milestoneId: milestone.id, track, order, title: `${track}-${order}` });
      }
    }

    // Invariants, judged on every committed task change in commit order.
    const latest = new Map<string, BoardTask>();
    const doneCount = new Map<string, number>();
    const problems: string[] = [];
    let expiredHere = 0;
    const lapsed = new Set<string>();
    for (const t of await board.tasks()) latest.set(t.id, t);
    const off = board.watch((c) => {
      if (c.kind !== "task" || c.type !== "set") return;
      const task = c.value as BoardTask;
      const before = latest.get(task.id);
      latest.set(task.id, task);
      if (before === undefined) return;
      const now = task.updatedAt;
      if (task.claim !== null && task.claim.token !== before.claim?.token) {
        totals.claims++;
        if (before.claim !== null && before.claim.expiresAt > now) problems.push(`${task.id} claimed by ${task.claim.holder} while ${before.claim.holder} held it`);
        if (before.claim !== null && before.claim.expiresAt <= now) {
          // Taken over straight from an expired claim.
          totals.expired++;
          expiredHere++;
          lapsed.add(task.id);
        }
        if (lapsed.delete(task.id)) totals.reclaimed++;
        for (const other of latest.values()) {
          if (other.track === task.track && other.order! < task.order! && other.status !== "done") {
            problems.push(`${task.id} (order ${task.order}) claimed before ${other.id} (order ${other.order}) was done`);
          }
        }
      }
      if (before.claim !== null && task.claim === null && task.status === "todo" && task.updatedBy === "board") {
        expiredHere++;
        totals.expired++;
        lapsed.add(task.id);
      }
      if (task.status === "done" && before.status !== "done") doneCount.set(task.id, (doneCount.get(task.id) ?? 0) + 1);
    });

    const names = ["w1", "w2", "w3"];
    const crashing = seed % 3 === 0 ? names[seed % names.length] : undefined;
    const stalling = seed % 3 === 1 ? names[(seed + 1) % names.length] : undefined;
    const crashed = new Set<string>();
    const stalled: Promise<void>[] = [];

    // A claim without the board's compare-and-swap and checks: read, then overwrite.
    async function naiveClaim(me: string, id: string): Promise<{ token: number }> {
      const t = (await board.store.get<BoardTask>(`task:${id}`))!.value;
      if (t.status !== "todo") throw Object.assign(new Error("taken"), { code: "CLAIM_REFUSED" });
      const now = clock.now();
      const token = t.fence + 1;
      await board.store.set(`task:${id}`, { ...t, fence: token, status: "claimed", claim: { holder: me, token, claimedAt: now, expiresAt: now + LEASE * MINUTE }, updatedBy: me, updatedAt: now });
      return { token };
    }

    async function turn(w: BoardMember): Promise<void> {
      if (crashed.has(w.name)) return;
      const open = (await w.listTasks()).filter((t) => t.status !== "done");
      for (const t of open) {
        let token: number;
        try {
          ({ token } = naive ? await naiveClaim(w.name, t.id) : await w.claimTask(t.id, { leaseMinutes: LEASE }));
        } catch (e) {
          if ((e as { code?: string }).code === "CLAIM_REFUSED") continue;
          throw e;
        }
        if (w.name === crashing && crashed.size === 0) {
          crashed.add(w.name); // dies holding the claim: never releases, never finishes
          return;
        }
        if (w.name === stalling && stalled.length === 0) {
          crashed.add(w.name);
          stalled.push(
            (async () => {
              await sleep(clock, (LEASE + 1) * MINUTE); // works past its lease
              try {
                await w.updateTaskStatus(t.id, "done", { token });
                problems.push(`stale holder ${w.name} finished ${t.id}`);
              } catch (e) {
                if (!(e instanceof StaleClaimError)) throw e;
                totals.staleRefused++;
              }
            })(),
          );
          return;
        }
        await w.updateTaskStatus(t.id, "in_progress", { token });
        await w.updateTaskStatus(t.id, "done", { token });
        return;
      }
    }

    const workers = names.map((n) => board.as(n));
    const total = TRACKS.length * PER_TRACK;
    for (let round = 0; round < 40 && [...latest.values()].filter((t) => t.status === "done").length < total; round++) {
      await Promise.all(workers.map((w) => turn(w)));
      await clock.advance(MINUTE);
    }
    await clock.advance((LEASE + 1) * MINUTE);
    await Promise.all(stalled);
    off();
    board.close();

    const tasks = await board.tasks();
    if (tasks.some((t) => t.status !== "done")) problems.push(`unfinished: ${tasks.filter((t) => t.status !== "done").map((t) => t.id).join(", ")}`);
    for (const [id, n] of doneCount) if (n !== 1) problems.push(`${id} done ${n} times`);
    if ((crashing !== undefined || stalling !== undefined) && expiredHere === 0) problems.push("a dead worker's lease never expired");
    if (lapsed.size > 0) problems.push(`expired leases never reclaimed: ${[...lapsed].join(", ")}`);
    totals.done += [...doneCount.values()].reduce((a, b) => a + b, 0);
    totals.runs++;
    if (problems.length > 0) throw new Error(problems.join("; "));
  };
}

describe("Board under explored interleavings", () => {
  it("never claims a task twice, keeps track order and reclaims every expired lease (1,000 seeds)", async () => {
    const totals: Totals = { runs: 0, claims: 0, done: 0, expired: 0, reclaimed: 0, staleRefused: 0 };
    const result = await explore(scenario(totals), { runs: 1000, seed: 12 });
    expect(result.failures.map((f) => `seed ${f.seed}: ${String(f.error)}`)).toEqual([]);
    expect(result.runs).toBe(1000);
    expect(totals.done).toBe(1000 * TRACKS.length * PER_TRACK);
    // Two runs in three have a dead or stalled worker, and every one of its leases came back.
    expect(totals.expired).toBeGreaterThanOrEqual(600);
    expect(totals.reclaimed).toBe(totals.expired);
    console.log(`board explore: ${JSON.stringify(totals)}`);
  }, 120_000);

  it("the same checks catch a claim made without compare-and-swap", async () => {
    const totals: Totals = { runs: 0, claims: 0, done: 0, expired: 0, reclaimed: 0, staleRefused: 0 };
    const result = await explore(scenario(totals, true), { runs: 30, seed: 12 });
    const messages = result.failures.map((f) => String(f.error));
    expect(messages.some((m) => /claimed by \w+ while|claimed before/.test(m))).toBe(true);
    console.log(`naive claims: ${result.failures.length} of ${result.runs} runs caught`);
  }, 60_000);
});
