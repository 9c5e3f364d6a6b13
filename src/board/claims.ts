import { ValidationError } from "../errors.js";
import { BoardNotFoundError, ClaimRefusedError, PolicyViolationError, StaleClaimError } from "./errors.js";
import { BoardEvent, claimBlocker, isFinal, liveClaim, MAX_RETRIES, ownBlocker, type BoardCore } from "./core.js";
import { needMinutes, needName, needStatus } from "./checks.js";
import { keys } from "./keys.js";
import type { BoardTask, Claim, TaskStatus } from "./types.js";

/** Lease of a claim when neither the call nor the member's policy gives one. */
export const DEFAULT_LEASE_MINUTES = 30;
const MINUTE = 60_000;

/** What a successful claim returns. */
export interface ClaimResult {
  readonly task: BoardTask;
  /** The fencing token: status changes, renewals and releases must present it. */
  readonly token: number;
  readonly expiresAt: number;
}

async function leaseFor(core: BoardCore, me: string, asked: number | undefined): Promise<number> {
  const policy = await core.policy(me);
  const minutes = needMinutes(asked ?? policy.leaseMinutes ?? DEFAULT_LEASE_MINUTES, "leaseMinutes");
  if (policy.maxLeaseMinutes !== undefined && minutes > policy.maxLeaseMinutes) {
    throw new PolicyViolationError(me, "maxLeaseMinutes", `a lease of ${minutes} minutes is longer than the ${policy.maxLeaseMinutes} allowed`);
  }
  return minutes;
}

/** Claims `id` for `me` with a fresh fencing token. @internal */
export async function claim(core: BoardCore, me: string, id: string, leaseMinutes: number | undefined): Promise<ClaimResult> {
  needName(id, "taskId");
  const minutes = await leaseFor(core, me, leaseMinutes);
  const all = await core.tasks();
  const snapshot = all.find((t) => t.id === id);
  if (snapshot === undefined) throw new BoardNotFoundError("task", id);
  // Track order and dependencies only move forward (done and cancelled are final), so what
  // this snapshot allows stays allowed; the task's own state is re-checked in the swap.
  const blocker = claimBlocker(snapshot, all, me, core.now());
  if (blocker !== undefined) throw new ClaimRefusedError(id, blocker.reason, blocker.detail);
  let expired: Claim | null = null;
  const entry = await core.store.update<BoardTask>(
    keys.task(id),
    (draft) => {
      if (draft === undefined) throw new BoardNotFoundError("task", id);
      const now = core.now();
      const own = ownBlocker(draft, me, now);
      if (own !== undefined) throw new ClaimRefusedError(id, own.reason, own.detail);
      expired = draft.claim === null ? null : { ...draft.claim };
      draft.fence += 1;
      draft.claim = { holder: me, token: draft.fence, claimedAt: now, expiresAt: now + minutes * MINUTE };
      draft.status = "claimed";
      draft.updatedBy = me;
      draft.updatedAt = now;
    },
    { by: me, maxRetries: MAX_RETRIES },
  );
  const task = entry.value;
  const taken = task.claim!;
  const old = expired as Claim | null;
  if (old !== null) await core.emit("board", BoardEvent.LEASE_EXPIRED, { taskId: id, holder: old.holder, token: old.token });
  await core.emit(me, BoardEvent.TASK_CLAIMED, { taskId: id, holder: me, token: taken.token, expiresAt: taken.expiresAt });
  return { task, token: taken.token, expiresAt: taken.expiresAt };
}

function checkHolder(task: BoardTask, me: string, token: number | undefined, now: number): void {
  if (task.claim === null) throw new StaleClaimError(task.id, token, "the task is not claimed");
  if (task.claim.holder !== me) throw new StaleClaimError(task.id, token, `it is claimed by ${JSON.stringify(task.claim.holder)}`);
  if (token === undefined) throw new StaleClaimError(task.id, token, "no fencing token given");
  if (task.claim.token !== token) throw new StaleClaimError(task.id, token, `the current token is ${task.claim.token}`);
  if (!liveClaim(task, now)) throw new StaleClaimError(task.id, token, `the lease ran out at ${task.claim.expiresAt}`);
}

/** Extends `me`'s live claim on `id`; the token stays. @internal */
export async function renew(core: BoardCore, me: string, id: string, token: number | undefined, leaseMinutes: number | undefined): Promise<ClaimResult> {
  needName(id, "taskId");
  const minutes = await leaseFor(core, me, leaseMinutes);
  const entry = await core.store.update<BoardTask>(
    keys.task(id),
    (draft) => {
      if (draft === undefined) throw new BoardNotFoundError("task", id);
      const now = core.now();
      checkHolder(draft, me, token, now);
      draft.claim!.expiresAt = now + minutes * MINUTE;
      draft.updatedBy = me;
      draft.updatedAt = now;
    },
    { by: me, maxRetries: MAX_RETRIES },
  );
  const c = entry.value.claim!;
  await core.emit(me, BoardEvent.CLAIM_RENEWED, { taskId: id, holder: me, token: c.token, expiresAt: c.expiresAt });
  return { task: entry.value, token: c.token, expiresAt: c.expiresAt };
}

/** Which statuses a holder may set, and what happens to the claim. */
const KEEPS_CLAIM: readonly TaskStatus[] = ["claimed", "in_progress", "blocked"];

/**
 * Sets a task's status. Holding statuses (`in_progress`, `blocked`) and `done` need `me`'s live
 * claim and its token; `todo` releases the claim; `cancelled` needs the claim only when one is live.
 * @internal
 */
export async function setStatus(
  core: BoardCore,
  me: string,
  id: string,
  statusIn: unknown,
  token: number | undefined,
  note: string | undefined,
): Promise<BoardTask> {
  needName(id, "taskId");
  const status = needStatus(statusIn);
  if (status === "claimed") throw new ValidationError('status "claimed" is set by claimTask, not by a status update', [{ path: ["status"], message: "use claimTask" }]);
  if (status === "done") await checkRequiredArtifacts(core, me, await core.task(id));
  const entry = await core.store.update<BoardTask>(
    keys.task(id),
    (draft) => {
      if (draft === undefined) throw new BoardNotFoundError("task", id);
      const now = core.now();
      const task = draft as BoardTask;
      if (isFinal(task)) {
        // A holder presenting a token lost its claim: the task was finished under another one.
        if (token !== undefined) throw new StaleClaimError(id, token, `the task is already ${task.status} (by ${JSON.stringify(task.doneBy)})`);
        throw new ValidationError(`task ${JSON.stringify(id)} is ${task.status}; that is final`, [{ path: ["status"], message: "final" }]);
      }
      if (status !== "cancelled" || liveClaim(task, now)) checkHolder(task, me, token, now);
      draft.status = status;
      if (!KEEPS_CLAIM.includes(status)) draft.claim = null;
      if (status === "done" || status === "cancelled") {
        draft.doneBy = me;
        draft.note = note ?? null;
      }
      draft.updatedBy = me;
      draft.updatedAt = now;
    },
    { by: me, maxRetries: MAX_RETRIES },
  );
  await core.emit(me, status === "todo" ? BoardEvent.CLAIM_RELEASED : BoardEvent.TASK_STATUS, { taskId: id, status, by: me, token: token ?? null });
  return entry.value;
}

/** `me`'s policy: the artifact kinds that must be on the task or its thread before done. */
export async function checkRequiredArtifacts(core: BoardCore, me: string, task: BoardTask): Promise<void> {
  const required = (await core.policy(me)).requiredArtifacts ?? [];
  if (required.length === 0) return;
  const artifacts = (await core.artifacts()).filter((a) => a.taskId === task.id || (task.thread !== null && a.thread === task.thread));
  const missing = required.filter((kind) => !artifacts.some((a) => a.kind === kind));
  if (missing.length > 0) {
    throw new PolicyViolationError(me, "requiredArtifacts", `task ${JSON.stringify(task.id)} needs a ${missing.map((k) => JSON.stringify(k)).join(", ")} artifact before it is done`);
  }
}
