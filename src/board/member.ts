import { ValidationError } from "../errors.js";
import { BoardNotFoundError } from "./errors.js";
import { BoardEvent, claimBlocker, isFinal, MAX_RETRIES, type BoardCore } from "./core.js";
import { claim, renew, setStatus, type ClaimResult } from "./claims.js";
import { needName, optText } from "./checks.js";
import { acknowledge, list, send, waitFor, type MessageQuery, type WaitForMessageOptions } from "./inbox.js";
import { keys } from "./keys.js";
import { readDashboard, recall, remember, writeDashboard } from "./notes.js";
import { publishArtifact, pullWork, queueWork, readBoard, recordDone } from "./team.js";
import type { Artifact, BoardMessage, BoardTask, BoardView, Dashboard, MemberDone, MemoryEntry, Milestone, MyTask, Project, TaskStatus } from "./types.js";

/** What `createTask` takes. */
export interface NewTask {
  title: string;
  description?: string;
  projectId?: string;
  milestoneId?: string;
  /** Tasks of one track run in `order`; tracks of a milestone run in parallel. */
  track?: string;
  order?: number;
  /** Ids of tasks that must be done (or cancelled) first. */
  dependsOn?: readonly string[];
}

/**
 * The board as one agent uses it: every verb acts under this agent's name. Get one with
 * `board.as(name)`. It remembers the fencing tokens of the claims it made, so `token` may be
 * left out where this handle made the claim.
 *
 * @example
 * ```ts
 * const worker = board.as("worker");
 * const [next] = (await worker.getMyTasks()).filter((t) => t.recommended);
 * const { token } = await worker.claimTask(next.id, { leaseMinutes: 10 });
 * await worker.updateTaskStatus(next.id, "done", { token });
 * ```
 */
export class BoardMember {
  readonly #core: BoardCore;
  readonly #name: string;
  readonly #tokens = new Map<string, number>();
  #current: string | undefined;

  /** @internal use `board.as(name)` */
  constructor(core: BoardCore, name: string) {
    this.#core = core;
    this.#name = needName(name, "name");
  }

  /** The agent name every change is made under. */
  get name(): string {
    return this.#name;
  }

  /** The task this member pulled last and has not finished (team flow). */
  get currentWork(): string | undefined {
    return this.#current;
  }

  // ---- work -------------------------------------------------------------------------------

  /** Creates a project. */
  async createProject(name: string, opts: { description?: string } = {}): Promise<Project> {
    needName(name, "name");
    const seq = await this.#core.nextSeq(this.#name);
    const project: Project = { id: `p${seq}`, name, description: optText(opts.description, "description"), createdBy: this.#name, createdAt: this.#core.now() };
    await this.#core.store.set(keys.project(project.id), project, { by: this.#name, expectedVersion: 0 });
    await this.#core.emit(this.#name, BoardEvent.PROJECT_CREATED, { projectId: project.id, name });
    return project;
  }

  /** Creates a milestone in a project. @throws BoardNotFoundError for an unknown project. */
  async createMilestone(projectId: string, name: string): Promise<Milestone> {
    needName(projectId, "projectId");
    needName(name, "name");
    await this.#core.exists("project", projectId);
    const seq = await this.#core.nextSeq(this.#name);
    const milestone: Milestone = { id: `m${seq}`, projectId, name, createdBy: this.#name, createdAt: this.#core.now() };
    await this.#core.store.set(keys.milestone(milestone.id), milestone, { by: this.#name, expectedVersion: 0 });
    await this.#core.emit(this.#name, BoardEvent.MILESTONE_CREATED, { milestoneId: milestone.id, projectId, name });
    return milestone;
  }

  /** Creates a task (status `todo`). A track needs an `order`, and the other way round. */
  async createTask(spec: NewTask): Promise<BoardTask> {
    if (typeof spec !== "object" || spec === null) throw new ValidationError("createTask takes an object", [{ path: [], message: "must be an object" }]);
    needName(spec.title, "title");
    if ((spec.track === undefined) !== (spec.order === undefined)) {
      throw new ValidationError("track and order go together", [{ path: [spec.track === undefined ? "track" : "order"], message: "missing" }]);
    }
    if (spec.track !== undefined) needName(spec.track, "track");
    if (spec.order !== undefined && (typeof spec.order !== "number" || !Number.isFinite(spec.order))) {
      throw new ValidationError("order must be a finite number", [{ path: ["order"], message: "must be a finite number" }]);
    }
    if (spec.projectId !== undefined) await this.#core.exists("project", needName(spec.projectId, "projectId"));
    if (spec.milestoneId !== undefined) {
      needName(spec.milestoneId, "milestoneId");
      const m = (await this.#core.store.get<Milestone>(keys.milestone(spec.milestoneId)))?.value;
      if (m === undefined) throw new BoardNotFoundError("milestone", spec.milestoneId);
      if (spec.projectId !== undefined && m.projectId !== spec.projectId) {
        throw new ValidationError(`milestone ${JSON.stringify(m.id)} belongs to project ${JSON.stringify(m.projectId)}`, [{ path: ["milestoneId"], message: "other project" }]);
      }
    }
    const dependsOn = [...(spec.dependsOn ?? [])];
    for (const dep of dependsOn) await this.#core.task(needName(dep, "dependsOn"));
    const milestone = spec.milestoneId !== undefined ? (await this.#core.store.get<Milestone>(keys.milestone(spec.milestoneId)))?.value : undefined;
    const seq = await this.#core.nextSeq(this.#name);
    const now = this.#core.now();
    const task: BoardTask = {
      id: `t${seq}`,
      projectId: spec.projectId ?? milestone?.projectId ?? null,
      milestoneId: spec.milestoneId ?? null,
      title: spec.title,
      description: optText(spec.description, "description"),
      status: "todo",
      track: spec.track ?? null,
      order: spec.order ?? null,
      dependsOn,
      assignments: [],
      queue: null,
      thread: null,
      claim: null,
      fence: 0,
      seq,
      createdBy: this.#name,
      createdAt: now,
      updatedBy: this.#name,
      updatedAt: now,
      doneBy: null,
      note: null,
    };
    await this.#core.store.set(keys.task(task.id), task, { by: this.#name, expectedVersion: 0 });
    await this.#core.emit(this.#name, BoardEvent.TASK_CREATED, { taskId: task.id, title: task.title, track: task.track, order: task.order });
    return task;
  }

  /** Assigns `agent` to a task with a role and instructions (replacing its earlier assignment there). */
  async assignRole(taskId: string, agent: string, role: string, instructions = ""): Promise<BoardTask> {
    needName(taskId, "taskId");
    needName(agent, "agent");
    needName(role, "role");
    const text = optText(instructions, "instructions");
    const entry = await this.#core.store.update<BoardTask>(
      keys.task(taskId),
      (draft) => {
        if (draft === undefined) throw new BoardNotFoundError("task", taskId);
        const now = this.#core.now();
        draft.assignments = [...draft.assignments.filter((a) => a.agent !== agent), { agent, role, instructions: text, assignedBy: this.#name, at: now }];
        draft.updatedBy = this.#name;
        draft.updatedAt = now;
      },
      { by: this.#name, maxRetries: MAX_RETRIES },
    );
    await this.#core.emit(this.#name, BoardEvent.TASK_ASSIGNED, { taskId, agent, role });
    return entry.value;
  }

  /** One task. @throws BoardNotFoundError */
  async getTask(taskId: string): Promise<BoardTask> {
    return this.#core.task(needName(taskId, "taskId"));
  }

  /** Every task, in creation order; optionally of one project or status. */
  async listTasks(filter: { projectId?: string; status?: TaskStatus } = {}): Promise<BoardTask[]> {
    return (await this.#core.tasks()).filter((t) => (filter.projectId === undefined || t.projectId === filter.projectId) && (filter.status === undefined || t.status === filter.status));
  }

  /**
   * My open tasks: assigned to me, queued for me, or claimed by me; `recommended` marks the
   * ones I can claim now. Ordered by track order, then creation.
   */
  async getMyTasks(): Promise<MyTask[]> {
    const me = this.#name;
    const all = await this.#core.tasks();
    const now = this.#core.now();
    const mine = all.filter((t) => !isFinal(t) && (t.queue === me || t.claim?.holder === me || t.assignments.some((a) => a.agent === me)));
    mine.sort((a, b) => (a.order ?? 0) - (b.order ?? 0) || a.seq - b.seq);
    return mine.map((t) => {
      const blocker = claimBlocker(t, all, me, now);
      const a = t.assignments.find((x) => x.agent === me);
      const base = { ...t, recommended: blocker === undefined, role: a?.role ?? null, instructions: a?.instructions ?? null };
      return blocker === undefined ? base : { ...base, blockedBy: `${blocker.reason}: ${blocker.detail}` };
    });
  }

  // ---- claims -----------------------------------------------------------------------------

  /**
   * Claims a task for `leaseMinutes` (default: my policy's `leaseMinutes`, else 30). Returns a
   * fresh fencing token. @throws ClaimRefusedError (held, out of track order, dependencies open,
   * not assigned to me), PolicyViolationError (`maxLeaseMinutes`), BoardNotFoundError.
   */
  async claimTask(taskId: string, opts: { leaseMinutes?: number } = {}): Promise<ClaimResult> {
    const result = await claim(this.#core, this.#name, taskId, opts.leaseMinutes);
    this.#tokens.set(taskId, result.token);
    return result;
  }

  /** Extends my live claim; the token stays. @throws StaleClaimError when the claim is not mine or ran out. */
  async renewClaim(taskId: string, opts: { token?: number; leaseMinutes?: number } = {}): Promise<ClaimResult> {
    return renew(this.#core, this.#name, taskId, opts.token ?? this.#tokens.get(taskId), opts.leaseMinutes);
  }

  /** Gives my claim back: the task is `todo` again. @throws StaleClaimError */
  async releaseClaim(taskId: string, opts: { token?: number } = {}): Promise<BoardTask> {
    return this.updateTaskStatus(taskId, "todo", opts);
  }

  /**
   * Sets a task's status: `in_progress`, `blocked` and `done` need my live claim and its
   * token; `todo` releases it; `cancelled` needs it only while someone holds a live claim.
   * `done` first checks my policy's `requiredArtifacts`.
   * @throws StaleClaimError, PolicyViolationError, ValidationError (final task, unknown status)
   */
  async updateTaskStatus(taskId: string, status: TaskStatus, opts: { token?: number; note?: string } = {}): Promise<BoardTask> {
    const task = await setStatus(this.#core, this.#name, taskId, status, opts.token ?? this.#tokens.get(taskId), opts.note);
    if (task.claim === null) {
      this.#tokens.delete(taskId);
      if (this.#current === taskId) this.#current = undefined;
    }
    return task;
  }

  // ---- dashboards -------------------------------------------------------------------------

  /** Replaces a task's dashboard with one entry by me. */
  async dashboardWrite(taskId: string, text: string): Promise<Dashboard> {
    return writeDashboard(this.#core, this.#name, taskId, text, false);
  }

  /** Adds an entry by me to a task's dashboard. */
  async dashboardAppend(taskId: string, text: string): Promise<Dashboard> {
    return writeDashboard(this.#core, this.#name, taskId, text, true);
  }

  /** A task's dashboard entries, oldest first. */
  async dashboardRead(taskId: string): Promise<Dashboard> {
    return readDashboard(this.#core, taskId);
  }

  // ---- messages ---------------------------------------------------------------------------

  /** Sends a direct message to another agent. */
  async sendMessage(to: string, text: string): Promise<BoardMessage> {
    return send(this.#core, this.#name, to, text);
  }

  /** My messages, oldest first; `{ unread: true }` leaves out acknowledged ones. */
  async getMessages(query: MessageQuery = {}): Promise<BoardMessage[]> {
    return list(this.#core, this.#name, query);
  }

  /** Acknowledges my unread messages: all, those `from` one agent, or the given `ids`. Returns how many. */
  async acknowledge(opts: { from?: string; ids?: readonly string[] } = {}): Promise<number> {
    return acknowledge(this.#core, this.#name, opts);
  }

  /**
   * Waits for an unread message (from `opts.from`, if given) without polling: resolves with one
   * already there, or the moment one arrives; `undefined` when `timeout` runs out; rejects with
   * the signal's reason on abort. Unlike `getMessages`, it waits. It does not acknowledge.
   */
  async waitForMessage(opts: WaitForMessageOptions = {}): Promise<BoardMessage | undefined> {
    return waitFor(this.#core, this.#name, opts);
  }

  // ---- memory -----------------------------------------------------------------------------

  /** Stores a value under `key` in a scope: `global` (default), `task:<id>`, `project:<id>`, `agent:<name>`. */
  async remember(key: string, value: unknown, opts: { scope?: string } = {}): Promise<MemoryEntry> {
    return remember(this.#core, this.#name, key, value, opts.scope);
  }

  /** The value remembered under `key` in a scope, with who stored it and when; undefined if none. */
  async recall(key: string, opts: { scope?: string } = {}): Promise<MemoryEntry | undefined> {
    return recall(this.#core, key, opts.scope);
  }

  // ---- team flow --------------------------------------------------------------------------

  /**
   * Queues a task for `owner` (allowed by my policy's `mayQueueTo`). It joins the hand-off
   * thread of the work I am on, so artifacts published along the chain count for it.
   */
  async queueWork(owner: string, task: string, opts: { description?: string } = {}): Promise<BoardTask> {
    const current = this.#current !== undefined ? await this.#core.task(this.#current) : undefined;
    return queueWork(this.#core, this.#name, owner, task, opts.description, current?.thread ?? null);
  }

  /** Claims the oldest claimable task of my queue and makes it my current work; undefined when my queue is empty. */
  async pullWork(opts: { leaseMinutes?: number } = {}): Promise<BoardTask | undefined> {
    const result = await pullWork(this.#core, this.#name, opts.leaseMinutes);
    if (result === undefined) return undefined;
    this.#tokens.set(result.task.id, result.token);
    this.#current = result.task.id;
    return result.task;
  }

  /** Publishes an artifact, tied to my current work (or `opts.taskId`) and its thread. */
  async publishArtifact(kind: string, summary: string, body?: string, opts: { taskId?: string } = {}): Promise<Artifact> {
    const taskId = opts.taskId ?? this.#current;
    const task = taskId !== undefined ? await this.#core.task(taskId) : undefined;
    return publishArtifact(this.#core, this.#name, kind, summary, body, task);
  }

  /** The newest `limit` artifacts (default 8), open work per queue and members' done notes. */
  async readBoard(opts: { limit?: number } = {}): Promise<BoardView> {
    const limit = opts.limit ?? 8;
    if (!Number.isInteger(limit) || limit < 0) throw new ValidationError("limit must be an integer >= 0", [{ path: ["limit"], message: "must be an integer >= 0" }]);
    return readBoard(this.#core, limit);
  }

  /**
   * Marks my current work done (checking my policy's `requiredArtifacts`) and records my
   * completion note. @throws PolicyViolationError, StaleClaimError
   */
  async markDone(note = ""): Promise<MemberDone> {
    const text = optText(note, "note");
    const taskId = this.#current ?? null;
    if (taskId !== null) await this.updateTaskStatus(taskId, "done", { note: text });
    this.#current = undefined;
    return recordDone(this.#core, this.#name, text, taskId);
  }
}
