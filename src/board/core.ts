import type { MultiAgentSystem } from "../agents/system.js";
import type { Clock } from "../runtime/clock.js";
import type { StateStore } from "../state/types.js";
import { BoardNotFoundError, type ClaimRefusal } from "./errors.js";
import { keys } from "./keys.js";
import { LeaseKeeper } from "./lease-keeper.js";
import type { Artifact, BoardTask, MemberPolicy } from "./types.js";

/** Event types the board emits on the system's event bus (`system.events`). */
export const BoardEvent = {
  PROJECT_CREATED: "board.project_created",
  MILESTONE_CREATED: "board.milestone_created",
  TASK_CREATED: "board.task_created",
  TASK_ASSIGNED: "board.task_assigned",
  TASK_CLAIMED: "board.task_claimed",
  CLAIM_RENEWED: "board.claim_renewed",
  CLAIM_RELEASED: "board.claim_released",
  LEASE_EXPIRED: "board.lease_expired",
  TASK_STATUS: "board.task_status",
  DASHBOARD: "board.dashboard",
  MESSAGE_SENT: "board.message_sent",
  MESSAGE_ACKNOWLEDGED: "board.message_acknowledged",
  MEMORY: "board.memory",
  WORK_QUEUED: "board.work_queued",
  ARTIFACT_PUBLISHED: "board.artifact_published",
  MEMBER_DONE: "board.member_done",
  POLICY_SET: "board.policy_set",
} as const;

/** Retries of a board read-modify-write under contention before the conflict is reported. */
export const MAX_RETRIES = 100;

/** The state and helpers shared by a board and its member handles. @internal */
export class BoardCore {
  readonly system: MultiAgentSystem;
  readonly store: StateStore;
  readonly clock: Clock;
  readonly leases: LeaseKeeper;

  constructor(system: MultiAgentSystem, namespace: string) {
    this.system = system;
    if (!system.state.namespaces.has(namespace)) system.state.createNamespace(namespace);
    this.store = system.state.namespace(namespace);
    this.clock = system.clock;
    this.leases = new LeaseKeeper(this.store, this.clock, (task, holder, token) =>
      this.emit("board", BoardEvent.LEASE_EXPIRED, { taskId: task.id, holder, token }).then(() => undefined),
    );
  }

  now(): number {
    return this.clock.now();
  }

  /** A board-wide sequence number, safe across processes sharing the store. */
  async nextSeq(by: string): Promise<number> {
    const entry = await this.store.update<number>(keys.seq, (n) => (n ?? 0) + 1, { by, maxRetries: MAX_RETRIES });
    return entry.value;
  }

  async emit(source: string, type: string, payload: object): Promise<void> {
    await this.system.events.emit(source, type, payload);
  }

  async task(id: string): Promise<BoardTask> {
    const entry = await this.store.get<BoardTask>(keys.task(id));
    if (entry === undefined) throw new BoardNotFoundError("task", id);
    return entry.value;
  }

  async tasks(): Promise<BoardTask[]> {
    const out: BoardTask[] = [];
    for (const key of await this.store.keys(keys.taskPrefix)) {
      const entry = await this.store.get<BoardTask>(key);
      if (entry !== undefined) out.push(entry.value);
    }
    return out.sort((a, b) => a.seq - b.seq);
  }

  async artifacts(): Promise<Artifact[]> {
    const out: Artifact[] = [];
    for (const key of await this.store.keys(keys.artifactPrefix)) {
      const entry = await this.store.get<Artifact>(key);
      if (entry !== undefined) out.push(entry.value);
    }
    return out;
  }

  async policy(member: string): Promise<MemberPolicy> {
    return (await this.store.get<MemberPolicy>(keys.policy(member)))?.value ?? {};
  }

  async exists(kind: "project" | "milestone", id: string): Promise<void> {
    const key = kind === "project" ? keys.project(id) : keys.milestone(id);
    if ((await this.store.get(key)) === undefined) throw new BoardNotFoundError(kind, id);
  }
}

/** Whether a claim is live at `now`. */
export function liveClaim(task: BoardTask, now: number): boolean {
  return task.claim !== null && task.claim.expiresAt > now;
}

export function isFinal(task: BoardTask): boolean {
  return task.status === "done" || task.status === "cancelled";
}

/** Why `agent` cannot claim `task` at `now`, judged on the task alone; undefined when it can. */
export function ownBlocker(task: BoardTask, agent: string, now: number): { reason: ClaimRefusal; detail: string } | undefined {
  if (isFinal(task)) return { reason: "final", detail: `it is ${task.status}` };
  if (liveClaim(task, now)) return { reason: "claimed", detail: `held by ${JSON.stringify(task.claim!.holder)} until ${task.claim!.expiresAt}` };
  if (task.queue !== null && task.queue !== agent) return { reason: "not_in_my_queue", detail: `it is queued for ${JSON.stringify(task.queue)}` };
  if (task.assignments.length > 0 && !task.assignments.some((a) => a.agent === agent)) {
    return { reason: "not_assigned", detail: `assigned to ${task.assignments.map((a) => JSON.stringify(a.agent)).join(", ")}` };
  }
  return undefined;
}

/**
 * Why `agent` cannot claim `task` at `now`, judged against the other tasks of the board
 * (track order, dependencies); undefined when it can.
 */
export function claimBlocker(
  task: BoardTask,
  all: readonly BoardTask[],
  agent: string,
  now: number,
): { reason: ClaimRefusal; detail: string } | undefined {
  const own = ownBlocker(task, agent, now);
  if (own !== undefined) return own;
  if (task.track !== null && task.order !== null) {
    const before = all.find(
      (t) =>
        t.id !== task.id &&
        t.track === task.track &&
        t.projectId === task.projectId &&
        t.milestoneId === task.milestoneId &&
        t.order !== null &&
        t.order < task.order! &&
        !isFinal(t),
    );
    if (before !== undefined) {
      return { reason: "track_order", detail: `task ${JSON.stringify(before.id)} (order ${before.order}) of track ${JSON.stringify(task.track)} is ${before.status}` };
    }
  }
  const open = task.dependsOn.filter((id) => {
    const dep = all.find((t) => t.id === id);
    return dep === undefined || !isFinal(dep);
  });
  if (open.length > 0) return { reason: "dependencies", detail: `waiting for ${open.map((id) => JSON.stringify(id)).join(", ")}` };
  return undefined;
}
