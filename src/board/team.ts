// The team flow: per-member queues of tasks, artifacts, the board view, and completion notes.
import { PolicyViolationError } from "./errors.js";
import { BoardEvent, claimBlocker, isFinal, type BoardCore } from "./core.js";
import { claim, type ClaimResult } from "./claims.js";
import { needName, optText } from "./checks.js";
import { keys } from "./keys.js";
import type { Artifact, BoardTask, BoardView, MemberDone } from "./types.js";

/** @internal */
export async function queueWork(core: BoardCore, me: string, owner: string, title: string, description: string | undefined, thread: string | null): Promise<BoardTask> {
  needName(owner, "owner");
  needName(title, "task");
  const policy = await core.policy(me);
  if (policy.mayQueueTo !== undefined && !policy.mayQueueTo.includes(owner)) {
    throw new PolicyViolationError(me, "mayQueueTo", `may queue work to ${policy.mayQueueTo.map((m) => JSON.stringify(m)).join(", ") || "nobody"}, not ${JSON.stringify(owner)}`);
  }
  const seq = await core.nextSeq(me);
  const id = `t${seq}`;
  const now = core.now();
  const task: BoardTask = {
    id, projectId: null, milestoneId: null, title, description: optText(description, "description"), status: "todo",
    track: null, order: null, dependsOn: [], assignments: [], queue: owner, thread: thread ?? id,
    claim: null, fence: 0, seq, createdBy: me, createdAt: now, updatedBy: me, updatedAt: now, doneBy: null, note: null,
  };
  await core.store.set(keys.task(id), task, { by: me, expectedVersion: 0 });
  await core.emit(me, BoardEvent.WORK_QUEUED, { taskId: id, from: me, owner, thread: task.thread });
  return task;
}

/** Claims the oldest claimable task of my queue; undefined when there is none. @internal */
export async function pullWork(core: BoardCore, me: string, leaseMinutes: number | undefined): Promise<ClaimResult | undefined> {
  const all = await core.tasks();
  for (const task of all) {
    if (task.queue !== me || claimBlocker(task, all, me, core.now()) !== undefined) continue;
    try {
      return await claim(core, me, task.id, leaseMinutes);
    } catch (e) {
      // Another session of the same member took it first: try the next one.
      if ((e as { code?: string }).code !== "CLAIM_REFUSED") throw e;
    }
  }
  return undefined;
}

/** @internal */
export async function publishArtifact(core: BoardCore, me: string, kind: string, summary: string, body: string | undefined, task: BoardTask | undefined): Promise<Artifact> {
  needName(kind, "kind");
  const seq = await core.nextSeq(me);
  const artifact: Artifact = {
    id: `a${seq}`, kind, summary: optText(summary, "summary"), body: body === undefined ? null : optText(body, "body"),
    by: me, at: core.now(), taskId: task?.id ?? null, thread: task?.thread ?? null,
  };
  await core.store.set(keys.artifact(seq), artifact, { by: me });
  await core.emit(me, BoardEvent.ARTIFACT_PUBLISHED, { id: artifact.id, kind, by: me, taskId: artifact.taskId });
  return artifact;
}

/** @internal */
export async function readBoard(core: BoardCore, limit: number): Promise<BoardView> {
  const artifacts = await core.artifacts();
  const queues: Record<string, number> = {};
  for (const t of await core.tasks()) {
    if (t.queue !== null && !isFinal(t)) queues[t.queue] = (queues[t.queue] ?? 0) + 1;
  }
  const done: MemberDone[] = [];
  for (const key of await core.store.keys(keys.memberPrefix)) {
    const d = (await core.store.get<MemberDone>(key))?.value;
    if (d !== undefined) done.push(d);
  }
  return { artifacts: artifacts.slice(Math.max(0, artifacts.length - limit)), queues, done };
}

/** @internal */
export async function recordDone(core: BoardCore, me: string, note: string, taskId: string | null): Promise<MemberDone> {
  const done: MemberDone = { member: me, note, at: core.now(), taskId };
  await core.store.set(keys.member(me), done, { by: me });
  await core.emit(me, BoardEvent.MEMBER_DONE, { member: me, note, taskId });
  return done;
}
