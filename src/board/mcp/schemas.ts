// Output schemas of the board's MCP tools (structured results). Objects accept extra fields,
// so a board record that grows a field stays valid for hosts built against today's schema.
import { z } from "zod";

const nullableString = z.string().nullable();

export const claimSchema = z.looseObject({ holder: z.string(), token: z.number(), claimedAt: z.number(), expiresAt: z.number() });

export const taskSchema = z.looseObject({
  id: z.string(),
  projectId: nullableString,
  milestoneId: nullableString,
  title: z.string(),
  description: z.string(),
  status: z.enum(["todo", "claimed", "in_progress", "blocked", "done", "cancelled"]),
  track: nullableString,
  order: z.number().nullable(),
  dependsOn: z.array(z.string()),
  assignments: z.array(z.looseObject({ agent: z.string(), role: z.string(), instructions: z.string(), assignedBy: z.string(), at: z.number() })),
  queue: nullableString,
  thread: nullableString,
  claim: claimSchema.nullable(),
  fence: z.number(),
  createdBy: z.string(),
  updatedBy: z.string(),
  updatedAt: z.number(),
  doneBy: nullableString,
  note: nullableString,
});

export const myTaskSchema = taskSchema.extend({
  recommended: z.boolean(),
  blockedBy: z.string().optional(),
  role: nullableString,
  instructions: nullableString,
});

export const projectSchema = z.looseObject({ id: z.string(), name: z.string(), description: z.string(), createdBy: z.string(), createdAt: z.number() });
export const milestoneSchema = z.looseObject({ id: z.string(), projectId: z.string(), name: z.string(), createdBy: z.string(), createdAt: z.number() });
export const claimResultSchema = z.looseObject({ task: taskSchema, token: z.number(), expires_at: z.number() });
export const dashboardSchema = z.looseObject({
  taskId: z.string(),
  entries: z.array(z.looseObject({ author: z.string(), at: z.number(), text: z.string() })),
});
export const messageSchema = z.looseObject({
  id: z.string(),
  from: z.string(),
  to: z.string(),
  text: z.string(),
  at: z.number(),
  acknowledgedAt: z.number().nullable(),
});
export const memorySchema = z.looseObject({ found: z.boolean(), key: z.string(), scope: z.string(), value: z.unknown(), by: nullableString, at: z.number().nullable() });
export const artifactSchema = z.looseObject({
  id: z.string(),
  kind: z.string(),
  summary: z.string(),
  body: nullableString,
  by: z.string(),
  at: z.number(),
  taskId: nullableString,
  thread: nullableString,
});
export const memberDoneSchema = z.looseObject({ member: z.string(), note: z.string(), at: z.number(), taskId: nullableString });
export const boardViewSchema = z.looseObject({
  artifacts: z.array(artifactSchema),
  queues: z.record(z.string(), z.number()),
  done: z.array(memberDoneSchema),
});
