// One MCP tool per board verb. Names and snake_case arguments follow the board documents
// covey's board comes from (set_my_name, claim_task with lock_minutes, ...).
import { z } from "zod";
import type { BoardMember } from "../member.js";
import type { BoardMessage, TaskStatus } from "../types.js";
import {
  artifactSchema,
  boardViewSchema,
  claimResultSchema,
  dashboardSchema,
  memberDoneSchema,
  memorySchema,
  messageSchema,
  milestoneSchema,
  myTaskSchema,
  projectSchema,
  taskSchema,
} from "./schemas.js";

/** Tool presets: `core` for a worker, `standard` adds planning, `all` adds the team flow. */
export type ToolPreset = "core" | "standard" | "all";

/** What a tool sees of its connection. @internal */
export interface ToolSession {
  /** The board under this connection's name; throws when no name was set. */
  member(): BoardMember;
  setName(name: string): BoardMember;
}

/** @internal */
export interface ToolDef {
  readonly name: string;
  readonly preset: ToolPreset;
  readonly description: string;
  readonly input: z.ZodRawShape;
  readonly output: z.ZodObject;
  run(session: ToolSession, args: Record<string, unknown>, signal: AbortSignal): Promise<Record<string, unknown>>;
}

function tool<S extends z.ZodRawShape>(def: {
  name: string;
  preset: ToolPreset;
  description: string;
  input: S;
  output: z.ZodObject;
  run: (session: ToolSession, args: z.infer<z.ZodObject<S>>, signal: AbortSignal) => Promise<object>;
}): ToolDef {
  return def as unknown as ToolDef;
}

const taskId = z.string().min(1).describe("The task's id");
const lockMinutes = z.number().positive().optional().describe("Lease length in minutes (default: your policy's, else 30)");
const token = z.number().int().optional().describe("Fencing token of your claim (default: the one this connection got from claim_task)");
const scope = z.string().optional().describe('"global" (default), "task:<id>", "project:<id>" or "agent:<name>"');
const MAX_WAIT_SECONDS = 300;

const rec = (o: object): Record<string, unknown> => o as Record<string, unknown>;

/** Every tool of the board server. @internal */
export const TOOLS: readonly ToolDef[] = [
  tool({
    name: "set_my_name",
    preset: "core",
    description: "Set the agent name this connection acts under. Call it first: nothing anonymous changes the board.",
    input: { name: z.string().min(1) },
    output: z.object({ name: z.string() }),
    run: async (s, a) => ({ name: s.setName(a.name).name }),
  }),
  tool({
    name: "get_my_tasks",
    preset: "core",
    description: "Your open tasks (assigned, queued for you, or claimed by you); `recommended` marks those you can claim now.",
    input: {},
    output: z.object({ tasks: z.array(myTaskSchema) }),
    run: async (s) => ({ tasks: await s.member().getMyTasks() }),
  }),
  tool({
    name: "claim_task",
    preset: "core",
    description: "Claim a task for lock_minutes. Returns a fencing token; status updates must come with the current claim.",
    input: { task_id: taskId, lock_minutes: lockMinutes },
    output: claimResultSchema,
    run: async (s, a) => {
      const r = await s.member().claimTask(a.task_id, a.lock_minutes !== undefined ? { leaseMinutes: a.lock_minutes } : {});
      return { task: r.task, token: r.token, expires_at: r.expiresAt };
    },
  }),
  tool({
    name: "update_task_status",
    preset: "core",
    description: "Set a task's status (in_progress, blocked, done, todo = release, cancelled). Needs your live claim.",
    input: {
      task_id: taskId,
      status: z.enum(["todo", "in_progress", "blocked", "done", "cancelled"]),
      token,
      note: z.string().optional(),
    },
    output: z.object({ task: taskSchema }),
    run: async (s, a) => ({
      task: await s.member().updateTaskStatus(a.task_id, a.status as TaskStatus, { ...(a.token !== undefined ? { token: a.token } : {}), ...(a.note !== undefined ? { note: a.note } : {}) }),
    }),
  }),
  tool({
    name: "dashboard_append",
    preset: "core",
    description: "Append a progress note (with your name and the time) to a task's dashboard.",
    input: { task_id: taskId, text: z.string() },
    output: dashboardSchema,
    run: async (s, a) => s.member().dashboardAppend(a.task_id, a.text),
  }),
  tool({
    name: "send_message",
    preset: "core",
    description: "Send a direct message to another agent.",
    input: { to_agent: z.string().min(1), message: z.string() },
    output: messageSchema,
    run: async (s, a) => s.member().sendMessage(a.to_agent, a.message),
  }),
  tool({
    name: "get_messages",
    preset: "core",
    description: 'Your direct messages, oldest first; filter "unread" leaves out acknowledged ones.',
    input: { filter: z.enum(["unread", "all"]).optional(), from_agent: z.string().min(1).optional() },
    output: z.object({ messages: z.array(messageSchema) }),
    run: async (s, a) => ({
      messages: await s.member().getMessages({ unread: a.filter === "unread", ...(a.from_agent !== undefined ? { from: a.from_agent } : {}) }),
    }),
  }),
  tool({
    name: "wait_for_message",
    preset: "core",
    description: `Wait (without polling) until an unread message arrives, from from_agent if given; message is null after timeout_seconds (default 60, at most ${MAX_WAIT_SECONDS}).`,
    input: { from_agent: z.string().min(1).optional(), timeout_seconds: z.number().min(0).max(MAX_WAIT_SECONDS).optional() },
    output: z.object({ message: messageSchema.nullable() }),
    run: async (s, a, signal) => {
      const m: BoardMessage | undefined = await s.member().waitForMessage({
        timeout: (a.timeout_seconds ?? 60) * 1000,
        signal,
        ...(a.from_agent !== undefined ? { from: a.from_agent } : {}),
      });
      return { message: m ?? null };
    },
  }),
  tool({
    name: "acknowledge",
    preset: "core",
    description: "Acknowledge your unread messages: all, those from from_agent, or the given message_ids.",
    input: { from_agent: z.string().min(1).optional(), message_ids: z.array(z.string()).optional() },
    output: z.object({ acknowledged: z.number() }),
    run: async (s, a) => ({
      acknowledged: await s.member().acknowledge({ ...(a.from_agent !== undefined ? { from: a.from_agent } : {}), ...(a.message_ids !== undefined ? { ids: a.message_ids } : {}) }),
    }),
  }),
  tool({
    name: "create_project",
    preset: "standard",
    description: "Create a project.",
    input: { name: z.string().min(1), description: z.string().optional() },
    output: projectSchema,
    run: async (s, a) => s.member().createProject(a.name, a.description !== undefined ? { description: a.description } : {}),
  }),
  tool({
    name: "create_milestone",
    preset: "standard",
    description: "Create a milestone in a project.",
    input: { project_id: z.string().min(1), name: z.string().min(1) },
    output: milestoneSchema,
    run: async (s, a) => s.member().createMilestone(a.project_id, a.name),
  }),
  tool({
    name: "create_task",
    preset: "standard",
    description: "Create a task. Tasks sharing a milestone_track run in milestone_track_order; separate tracks run in parallel.",
    input: {
      title: z.string().min(1),
      description: z.string().optional(),
      project_id: z.string().min(1).optional(),
      milestone_id: z.string().min(1).optional(),
      milestone_track: z.string().min(1).optional(),
      milestone_track_order: z.number().optional(),
      depends_on: z.array(z.string()).optional(),
    },
    output: taskSchema,
    run: async (s, a) =>
      s.member().createTask({
        title: a.title,
        ...(a.description !== undefined ? { description: a.description } : {}),
        ...(a.project_id !== undefined ? { projectId: a.project_id } : {}),
        ...(a.milestone_id !== undefined ? { milestoneId: a.milestone_id } : {}),
        ...(a.milestone_track !== undefined ? { track: a.milestone_track } : {}),
        ...(a.milestone_track_order !== undefined ? { order: a.milestone_track_order } : {}),
        ...(a.depends_on !== undefined ? { dependsOn: a.depends_on } : {}),
      }),
  }),
  tool({
    name: "assign_role",
    preset: "standard",
    description: "Assign an agent to a task with a role and instructions.",
    input: { task_id: taskId, agent_name: z.string().min(1), role: z.string().min(1), instructions: z.string().optional() },
    output: taskSchema,
    run: async (s, a) => s.member().assignRole(a.task_id, a.agent_name, a.role, a.instructions ?? ""),
  }),
  tool({
    name: "list_tasks",
    preset: "standard",
    description: "Every task on the board, in creation order; optionally of one project or status.",
    input: { project_id: z.string().min(1).optional(), status: z.enum(["todo", "claimed", "in_progress", "blocked", "done", "cancelled"]).optional() },
    output: z.object({ tasks: z.array(taskSchema) }),
    run: async (s, a) => ({
      tasks: await s.member().listTasks({ ...(a.project_id !== undefined ? { projectId: a.project_id } : {}), ...(a.status !== undefined ? { status: a.status } : {}) }),
    }),
  }),
  tool({
    name: "renew_claim",
    preset: "standard",
    description: "Extend your live claim on a task by lock_minutes from now; the token stays.",
    input: { task_id: taskId, lock_minutes: lockMinutes, token },
    output: claimResultSchema,
    run: async (s, a) => {
      const r = await s.member().renewClaim(a.task_id, { ...(a.token !== undefined ? { token: a.token } : {}), ...(a.lock_minutes !== undefined ? { leaseMinutes: a.lock_minutes } : {}) });
      return { task: r.task, token: r.token, expires_at: r.expiresAt };
    },
  }),
  tool({
    name: "release_claim",
    preset: "standard",
    description: "Give your claim back; the task is todo again.",
    input: { task_id: taskId, token },
    output: z.object({ task: taskSchema }),
    run: async (s, a) => ({ task: await s.member().releaseClaim(a.task_id, a.token !== undefined ? { token: a.token } : {}) }),
  }),
  tool({
    name: "dashboard_write",
    preset: "standard",
    description: "Replace a task's dashboard with one note by you.",
    input: { task_id: taskId, text: z.string() },
    output: dashboardSchema,
    run: async (s, a) => s.member().dashboardWrite(a.task_id, a.text),
  }),
  tool({
    name: "dashboard_read",
    preset: "standard",
    description: "A task's dashboard notes, oldest first, with author and time.",
    input: { task_id: taskId },
    output: dashboardSchema,
    run: async (s, a) => s.member().dashboardRead(a.task_id),
  }),
  tool({
    name: "remember",
    preset: "standard",
    description: "Store a JSON value under a key in a scope (task:<id> to pass context between agents on a task).",
    input: { key: z.string().min(1), value: z.unknown(), scope },
    output: memorySchema,
    run: async (s, a) => ({ found: true, ...(await s.member().remember(a.key, a.value, a.scope !== undefined ? { scope: a.scope } : {})) }),
  }),
  tool({
    name: "recall",
    preset: "standard",
    description: "The value remembered under a key in a scope; found is false when there is none.",
    input: { key: z.string().min(1), scope },
    output: memorySchema,
    run: async (s, a) => {
      const e = await s.member().recall(a.key, a.scope !== undefined ? { scope: a.scope } : {});
      return e !== undefined ? { found: true, ...e } : { found: false, key: a.key, scope: a.scope ?? "global", value: null, by: null, at: null };
    },
  }),
  tool({
    name: "queue_work",
    preset: "all",
    description: "Queue a task for a team member (your policy may limit to whom). It joins the hand-off thread of your current work.",
    input: { owner: z.string().min(1), task: z.string().min(1), description: z.string().optional() },
    output: taskSchema,
    run: async (s, a) => s.member().queueWork(a.owner, a.task, a.description !== undefined ? { description: a.description } : {}),
  }),
  tool({
    name: "pull_work",
    preset: "all",
    description: "Claim the oldest task of your queue and make it your current work; task is null when your queue is empty.",
    input: { lock_minutes: lockMinutes },
    output: z.object({ task: taskSchema.nullable() }),
    run: async (s, a) => ({ task: (await s.member().pullWork(a.lock_minutes !== undefined ? { leaseMinutes: a.lock_minutes } : {})) ?? null }),
  }),
  tool({
    name: "publish_artifact",
    preset: "all",
    description: "Publish an artifact (kind, summary, optional body), tied to your current work or task_id.",
    input: { kind: z.string().min(1), summary: z.string(), body: z.string().optional(), task_id: z.string().min(1).optional() },
    output: artifactSchema,
    run: async (s, a) => s.member().publishArtifact(a.kind, a.summary, a.body, a.task_id !== undefined ? { taskId: a.task_id } : {}),
  }),
  tool({
    name: "read_board",
    preset: "all",
    description: "The newest artifacts (limit, default 8), open work per queue, and members' done notes.",
    input: { limit: z.number().int().min(0).max(1000).optional() },
    output: boardViewSchema,
    run: async (s, a) => rec(await s.member().readBoard(a.limit !== undefined ? { limit: a.limit } : {})),
  }),
  tool({
    name: "mark_done",
    preset: "all",
    description: "Mark your current work done (your policy may require artifact kinds first) with a note.",
    input: { note: z.string().optional() },
    output: memberDoneSchema,
    run: async (s, a) => s.member().markDone(a.note ?? ""),
  }),
];

const RANK: Record<ToolPreset, number> = { core: 0, standard: 1, all: 2 };

/** The tools a preset offers. @internal */
export function toolsFor(preset: ToolPreset): ToolDef[] {
  return TOOLS.filter((t) => RANK[t.preset] <= RANK[preset]);
}
