/** Status of a board task. `done` and `cancelled` are final. */
export type TaskStatus = "todo" | "claimed" | "in_progress" | "blocked" | "done" | "cancelled";

/** The statuses a task can never leave. */
export const FINAL_STATUSES: readonly TaskStatus[] = ["done", "cancelled"];

/** A project: the top of the work tree. */
export interface Project {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly createdBy: string;
  readonly createdAt: number;
}

/** A milestone of a project; tasks in it are ordered per track. */
export interface Milestone {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly createdBy: string;
  readonly createdAt: number;
}

/** An agent's part in a task: a role and what to do. */
export interface Assignment {
  readonly agent: string;
  readonly role: string;
  readonly instructions: string;
  readonly assignedBy: string;
  readonly at: number;
}

/**
 * A live claim. The lease is judged by `expiresAt` against the clock, so a claim whose
 * holder died stops counting when its time is up, whether or not anyone noticed.
 */
export interface Claim {
  readonly holder: string;
  /** Fencing token: increases at every claim of this task; status changes must present it. */
  readonly token: number;
  readonly claimedAt: number;
  readonly expiresAt: number;
}

/** A task as stored on the board. */
export interface BoardTask {
  readonly id: string;
  readonly projectId: string | null;
  readonly milestoneId: string | null;
  readonly title: string;
  readonly description: string;
  readonly status: TaskStatus;
  /** Tasks of one track (same project and milestone) run in `order`; tracks run in parallel. */
  readonly track: string | null;
  readonly order: number | null;
  /** Tasks that must be done or cancelled before this one is claimable. */
  readonly dependsOn: readonly string[];
  readonly assignments: readonly Assignment[];
  /** Team flow: the member whose queue holds this task. */
  readonly queue: string | null;
  /** Team flow: the hand-off chain this task belongs to (the first task's id). */
  readonly thread: string | null;
  readonly claim: Claim | null;
  /** The last fencing token issued for this task (0: never claimed). */
  readonly fence: number;
  /** Creation order on the board. */
  readonly seq: number;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly updatedBy: string;
  readonly updatedAt: number;
  /** Who finished it, and their note. */
  readonly doneBy: string | null;
  readonly note: string | null;
}

/** A task as one agent sees it in `getMyTasks`. */
export interface MyTask extends BoardTask {
  /** Claimable by me now: unclaimed (or its lease ran out), track order and dependencies met. */
  readonly recommended: boolean;
  /** Why it is not claimable now (absent when `recommended`). */
  readonly blockedBy?: string;
  /** My assignment on it, if any. */
  readonly role: string | null;
  readonly instructions: string | null;
}

/** One dashboard entry. */
export interface DashboardEntry {
  readonly author: string;
  readonly at: number;
  readonly text: string;
}

/** A task's dashboard: what its workers wrote, oldest first. */
export interface Dashboard {
  readonly taskId: string;
  readonly entries: readonly DashboardEntry[];
}

/** A direct message between agents. */
export interface BoardMessage {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly text: string;
  readonly at: number;
  /** When the recipient acknowledged it; null while unread. */
  readonly acknowledgedAt: number | null;
}

/** A published artifact of the team flow. */
export interface Artifact {
  readonly id: string;
  readonly kind: string;
  readonly summary: string;
  readonly body: string | null;
  readonly by: string;
  readonly at: number;
  readonly taskId: string | null;
  readonly thread: string | null;
}

/** A remembered value with its scope. */
export interface MemoryEntry {
  readonly key: string;
  readonly scope: string;
  readonly value: unknown;
  readonly by: string;
  readonly at: number;
}

/** A member's completion note (`markDone`). */
export interface MemberDone {
  readonly member: string;
  readonly note: string;
  readonly at: number;
  readonly taskId: string | null;
}

/** What `readBoard` shows. */
export interface BoardView {
  /** The newest artifacts, oldest first. */
  readonly artifacts: readonly Artifact[];
  /** Open work per member queue. */
  readonly queues: Readonly<Record<string, number>>;
  readonly done: readonly MemberDone[];
}

/**
 * Rules for one member. A violation raises `PolicyViolationError` naming the rule.
 *
 * @example
 * ```ts
 * await board.setPolicy("reviewer", { requiredArtifacts: ["code"], mayQueueTo: ["developer"] });
 * ```
 */
export interface MemberPolicy {
  /** Members this one may queue work to; absent: anyone. */
  readonly mayQueueTo?: readonly string[];
  /** Artifact kinds that must be on the task (or its hand-off thread) before this member marks it done. */
  readonly requiredArtifacts?: readonly string[];
  /** Lease of this member's claims when none is asked for, in minutes. */
  readonly leaseMinutes?: number;
  /** Longest lease this member may take, in minutes. */
  readonly maxLeaseMinutes?: number;
}

/** A change on the board, as `Board.watch` reports it. */
export interface BoardChange {
  /** What changed: `task`, `project`, `milestone`, `dashboard`, `message`, `memory`, `artifact`, `policy`, `member`. */
  readonly kind: string;
  /** The board key that changed. */
  readonly key: string;
  readonly type: "set" | "delete";
  /** The new value (set) or undefined (delete). */
  readonly value: unknown;
  readonly by: string;
}
