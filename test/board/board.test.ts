import { describe, expect, it } from "vitest";
import { ValidationError, createSystem, type CoveyEvent } from "../../src/index.js";
import { createTestSystem } from "../../src/testing/index.js";
import { BoardNotFoundError, ClaimRefusedError, PolicyViolationError, StaleClaimError, createBoard } from "../../src/board/index.js";

const MINUTE = 60_000;

function setup() {
  const t = createTestSystem({ seed: 1 });
  const board = createBoard(t.system);
  const events: CoveyEvent[] = [];
  t.system.events.eventBus.subscribe("*", (e) => {
    if (e.type.startsWith("board.")) events.push(e);
  });
  return { ...t, board, events };
}

async function plan(board: ReturnType<typeof createBoard>) {
  const planner = board.as("planner");
  const project = await planner.createProject("API v2");
  const milestone = await planner.createMilestone(project.id, "Sprint 1");
  const t1 = await planner.createTask({ projectId: project.id, milestoneId: milestone.id, track: "main", order: 0, title: "Schema" });
  const t2 = await planner.createTask({ projectId: project.id, milestoneId: milestone.id, track: "main", order: 1, title: "Endpoints" });
  const r1 = await planner.createTask({ projectId: project.id, milestoneId: milestone.id, track: "review", order: 0, title: "Review plan" });
  return { planner, project, milestone, t1, t2, r1 };
}

describe("Board work and tracks", () => {
  it("lets a task of a track be claimed only after the one before it is done", async () => {
    const { board } = setup();
    const { t1, t2, r1 } = await plan(board);
    const w = board.as("worker");
    await expect(w.claimTask(t2.id)).rejects.toMatchObject({ code: "CLAIM_REFUSED", reason: "track_order" });
    // Another track runs in parallel.
    await w.claimTask(r1.id);
    const { token } = await w.claimTask(t1.id);
    await w.updateTaskStatus(t1.id, "done", { token });
    const c2 = await w.claimTask(t2.id);
    expect(c2.task.status).toBe("claimed");
    board.close();
  });

  it("marks claimable assigned tasks as recommended, with role and instructions", async () => {
    const { board } = setup();
    const { planner, t1, t2 } = await plan(board);
    await planner.assignRole(t1.id, "worker", "implementer", "Implement: Schema");
    await planner.assignRole(t2.id, "worker", "implementer", "Implement: Endpoints");
    const mine = await board.as("worker").getMyTasks();
    expect(mine.map((t) => [t.id, t.recommended, t.role])).toEqual([
      [t1.id, true, "implementer"],
      [t2.id, false, "implementer"],
    ]);
    expect(mine[0]!.instructions).toBe("Implement: Schema");
    expect(mine[1]!.blockedBy).toMatch(/^track_order/);
    await expect(board.as("intruder").claimTask(t1.id)).rejects.toMatchObject({ reason: "not_assigned" });
    board.close();
  });

  it("waits for dependencies to be done", async () => {
    const { board } = setup();
    const p = board.as("planner");
    const a = await p.createTask({ title: "a" });
    const b = await p.createTask({ title: "b", dependsOn: [a.id] });
    await expect(p.claimTask(b.id)).rejects.toMatchObject({ reason: "dependencies" });
    await p.claimTask(a.id);
    await p.updateTaskStatus(a.id, "done");
    await expect(p.claimTask(b.id)).resolves.toMatchObject({ token: 1 });
    board.close();
  });

  it("rejects bad input with typed errors", async () => {
    const { board } = setup();
    const p = board.as("planner");
    expect(() => board.as("")).toThrow(ValidationError);
    await expect(p.createMilestone("p404", "x")).rejects.toBeInstanceOf(BoardNotFoundError);
    await expect(p.createTask({ title: "x", track: "main" })).rejects.toBeInstanceOf(ValidationError);
    await expect(p.claimTask("t404")).rejects.toBeInstanceOf(BoardNotFoundError);
    const t = await p.createTask({ title: "x" });
    await expect(p.updateTaskStatus(t.id, "nonsense" as "done")).rejects.toBeInstanceOf(ValidationError);
    await expect(p.claimTask(t.id, { leaseMinutes: 0 })).rejects.toBeInstanceOf(ValidationError);
    board.close();
  });
});

describe("Board claims", () => {
  it("refuses a second claim, and a status change without the current token", async () => {
    const { board } = setup();
    const p = board.as("planner");
    const t = await p.createTask({ title: "x" });
    const a = board.as("a");
    const b = board.as("b");
    const { token } = await a.claimTask(t.id, { leaseMinutes: 5 });
    await expect(b.claimTask(t.id)).rejects.toBeInstanceOf(ClaimRefusedError);
    await expect(b.updateTaskStatus(t.id, "done", { token })).rejects.toBeInstanceOf(StaleClaimError);
    await expect(a.updateTaskStatus(t.id, "in_progress", { token: token + 1 })).rejects.toMatchObject({ code: "STALE_CLAIM" });
    await expect(a.updateTaskStatus(t.id, "in_progress", { token })).resolves.toMatchObject({ status: "in_progress" });
    board.close();
  });

  it("returns an expired lease to claimable with an event, and refuses the stale holder", async () => {
    const { board, clock, events } = setup();
    const t = await board.as("planner").createTask({ title: "x" });
    const a = board.as("a");
    const { token } = await a.claimTask(t.id, { leaseMinutes: 1 });
    await clock.advance(MINUTE);
    expect((await board.as("x").getTask(t.id)).status).toBe("todo");
    expect(events.filter((e) => e.type === "board.lease_expired").map((e) => e.payload)).toEqual([{ taskId: t.id, holder: "a", token }]);
    const b = await board.as("b").claimTask(t.id);
    expect(b.token).toBe(token + 1);
    await expect(a.updateTaskStatus(t.id, "done", { token })).rejects.toBeInstanceOf(StaleClaimError);
    await expect(a.renewClaim(t.id)).rejects.toBeInstanceOf(StaleClaimError);
    board.close();
    expect(clock.pending).toBe(0);
  });

  it("renews a lease (same token) and releases a claim", async () => {
    const { board, clock } = setup();
    const t = await board.as("planner").createTask({ title: "x" });
    const a = board.as("a");
    const first = await a.claimTask(t.id, { leaseMinutes: 1 });
    await clock.advance(MINUTE / 2);
    const renewed = await a.renewClaim(t.id, { leaseMinutes: 1 });
    expect(renewed.token).toBe(first.token);
    expect(renewed.expiresAt).toBe(first.expiresAt + MINUTE / 2);
    await clock.advance(MINUTE * 0.75);
    expect((await a.getTask(t.id)).status).toBe("claimed");
    await a.releaseClaim(t.id);
    expect((await a.getTask(t.id)).status).toBe("todo");
    expect(clock.pending).toBe(0);
    board.close();
  });

  it("judges a lease by the time stored in state, so a restarted board never resurrects it", async () => {
    const { system, clock, board, events } = setup();
    const t = await board.as("planner").createTask({ title: "x" });
    const { token } = await board.as("a").claimTask(t.id, { leaseMinutes: 1 });
    board.close(); // the process holding the timers goes away
    await clock.advance(2 * MINUTE);
    // The stale claim no longer counts even before anyone reclaims it.
    const again = createBoard(system);
    expect((await again.as("b").getMyTasks()).length).toBe(0);
    await expect(again.as("b").claimTask(t.id)).resolves.toMatchObject({ token: token + 1 });
    expect(events.some((e) => e.type === "board.lease_expired")).toBe(true);
    again.close();
  });

  it("a restarted board reclaims an expired lease on start, emitting the event", async () => {
    const { system, clock, board, events } = setup();
    const t = await board.as("planner").createTask({ title: "x" });
    await board.as("a").claimTask(t.id, { leaseMinutes: 1 });
    board.close();
    await clock.advance(2 * MINUTE);
    const again = createBoard(system);
    await again.ready();
    await clock.advance(0);
    expect((await again.as("b").getTask(t.id)).status).toBe("todo");
    expect(events.filter((e) => e.type === "board.lease_expired")).toHaveLength(1);
    again.close();
  });
});

describe("Board dashboards, messages and memory", () => {
  it("writes and appends dashboards with author and time", async () => {
    const { board, clock } = setup();
    const t = await board.as("planner").createTask({ title: "x" });
    const w = board.as("worker");
    await w.dashboardWrite(t.id, "Starting");
    await clock.advance(1000);
    await w.dashboardAppend(t.id, "Done");
    expect((await board.as("planner").dashboardRead(t.id)).entries).toEqual([
      { author: "worker", at: 0, text: "Starting" },
      { author: "worker", at: 1000, text: "Done" },
    ]);
    await w.dashboardWrite(t.id, "Reset");
    expect((await w.dashboardRead(t.id)).entries.map((e) => e.text)).toEqual(["Reset"]);
    board.close();
  });

  it("delivers messages with an unread filter and acknowledge", async () => {
    const { board } = setup();
    const p = board.as("planner");
    const w = board.as("worker");
    await p.sendMessage("worker", "tasks ready");
    await board.as("other").sendMessage("worker", "hi");
    expect((await w.getMessages({ unread: true })).map((m) => m.text)).toEqual(["tasks ready", "hi"]);
    expect(await w.acknowledge({ from: "planner" })).toBe(1);
    expect((await w.getMessages({ unread: true })).map((m) => m.from)).toEqual(["other"]);
    expect((await w.getMessages()).length).toBe(2);
    expect(await p.getMessages()).toEqual([]);
    board.close();
  });

  it("waitForMessage is woken by the write, filters by sender, and leaves nothing behind", async () => {
    const { board, clock } = setup();
    const w = board.as("worker");
    const waiting = w.waitForMessage({ from: "planner", timeout: 10_000 });
    await board.as("other").sendMessage("worker", "noise");
    await clock.advance(1000);
    await board.as("planner").sendMessage("worker", "go");
    expect((await waiting)?.text).toBe("go");
    expect(clock.pending).toBe(0);
    // Already there: resolves at once.
    await expect(w.waitForMessage({ from: "planner" })).resolves.toMatchObject({ text: "go" });
    board.close();
  });

  it("waitForMessage resolves undefined on timeout and rejects on abort", async () => {
    const { board, clock } = setup();
    const w = board.as("worker");
    const timed = w.waitForMessage({ timeout: 500 });
    await clock.advance(500);
    await expect(timed).resolves.toBeUndefined();
    const ac = new AbortController();
    const aborted = w.waitForMessage({ signal: ac.signal, timeout: 5000 });
    ac.abort(new Error("stop"));
    await expect(aborted).rejects.toThrow("stop");
    expect(clock.pending).toBe(0);
    await board.as("planner").sendMessage("worker", "late");
    board.close();
  });

  it("keeps memory per scope", async () => {
    const { board } = setup();
    const p = board.as("planner");
    const t = await p.createTask({ title: "x" });
    await p.remember("db", "v3", { scope: `task:${t.id}` });
    await p.remember("db", "v1");
    expect((await board.as("worker").recall("db", { scope: `task:${t.id}` }))?.value).toBe("v3");
    expect((await board.as("worker").recall("db"))).toMatchObject({ value: "v1", by: "planner", scope: "global" });
    expect(await p.recall("db", { scope: "agent:planner" })).toBeUndefined();
    await expect(p.remember("k", 1, { scope: "task:t404" })).rejects.toBeInstanceOf(BoardNotFoundError);
    await expect(p.remember("k", 1, { scope: "nowhere" })).rejects.toBeInstanceOf(ValidationError);
    board.close();
  });
});

describe("Board team flow and policies", () => {
  it("hands work through queues and requires the reviewer's code artifact", async () => {
    const { board } = setup();
    await board.setPolicy("reviewer", { requiredArtifacts: ["code"] });
    await board.setPolicy("docs", { mayQueueTo: [] });
    const lead = board.as("lead");
    const dev = board.as("developer");
    const docs = board.as("docs");
    const rev = board.as("reviewer");
    await lead.queueWork("reviewer", "Review nothing");
    const empty = await rev.pullWork();
    expect(empty?.title).toBe("Review nothing");
    const refused = rev.markDone("approved");
    await expect(refused).rejects.toBeInstanceOf(PolicyViolationError);
    await expect(refused).rejects.toMatchObject({ rule: "requiredArtifacts", member: "reviewer" });

    await lead.queueWork("developer", "rate limiter");
    const item = await dev.pullWork();
    expect(item?.queue).toBe("developer");
    await dev.publishArtifact("code", "Implemented");
    await dev.queueWork("reviewer", "Review: rate limiter");
    await dev.markDone("shipped");
    await expect(docs.queueWork("developer", "x")).rejects.toMatchObject({ code: "POLICY_VIOLATION", rule: "mayQueueTo" });
    // The reviewer's earlier item still lacks code; the next one is on the developer's thread.
    await rev.updateTaskStatus(empty!.id, "cancelled");
    const review = await rev.pullWork();
    expect(review?.title).toBe("Review: rate limiter");
    await rev.publishArtifact("review", "approved");
    await rev.markDone("approved");
    const view = await rev.readBoard({ limit: 8 });
    expect(view.artifacts.map((a) => a.kind)).toEqual(["code", "review"]);
    expect(view.done.map((d) => d.member).sort()).toEqual(["developer", "reviewer"]);
    expect(await docs.pullWork()).toBeUndefined();
    board.close();
  });

  it("enforces maxLeaseMinutes and uses the policy's lease", async () => {
    const { board } = setup();
    await board.setPolicy("w", { leaseMinutes: 2, maxLeaseMinutes: 5 });
    const t = await board.as("p").createTask({ title: "x" });
    await expect(board.as("w").claimTask(t.id, { leaseMinutes: 10 })).rejects.toMatchObject({ rule: "maxLeaseMinutes" });
    const c = await board.as("w").claimTask(t.id);
    expect(c.expiresAt).toBe(2 * MINUTE);
    board.close();
  });
});

describe("Board events and watch", () => {
  it("emits an event for every change and shows it to watch", async () => {
    const { board, events } = setup();
    const seen: string[] = [];
    const off = board.watch((c) => seen.push(`${c.kind}:${c.by}`));
    const p = board.as("planner");
    const t = await p.createTask({ title: "x" });
    await p.claimTask(t.id);
    await p.updateTaskStatus(t.id, "done");
    await p.sendMessage("w", "hi");
    off();
    off();
    await p.remember("k", 1);
    expect(seen).toEqual(["seq:planner", "task:planner", "task:planner", "task:planner", "seq:planner", "message:planner"]);
    expect(events.map((e) => e.type)).toEqual(["board.task_created", "board.task_claimed", "board.task_status", "board.message_sent", "board.memory"]);
    board.close();
  });

  it("runs on the wall clock too (the default system)", async () => {
    const system = createSystem();
    const board = createBoard(system);
    const t = await board.as("p").createTask({ title: "x" });
    const { token } = await board.as("w").claimTask(t.id, { leaseMinutes: 1 });
    await board.as("w").updateTaskStatus(t.id, "done", { token });
    board.close();
    await system.shutdown();
  });
});
