export { Board, createBoard } from "./board.js";
export type { BoardOptions } from "./board.js";
export { BoardMember } from "./member.js";
export type { NewTask } from "./member.js";
export { BoardEvent } from "./core.js";
export { DEFAULT_LEASE_MINUTES } from "./claims.js";
export type { ClaimResult } from "./claims.js";
export type { MessageQuery, WaitForMessageOptions } from "./inbox.js";
export { BoardNotFoundError, ClaimRefusedError, StaleClaimError, PolicyViolationError } from "./errors.js";
export type { BoardErrorCode, ClaimRefusal } from "./errors.js";
export type {
  TaskStatus,
  Project,
  Milestone,
  Assignment,
  Claim,
  BoardTask,
  MyTask,
  DashboardEntry,
  Dashboard,
  BoardMessage,
  Artifact,
  MemoryEntry,
  MemberDone,
  BoardView,
  MemberPolicy,
  BoardChange,
} from "./types.js";
