import { CoveyError, type CoveyErrorCode } from "../errors.js";

/** Codes of the board's errors, in addition to covey's own (`INVALID`, `TIMEOUT`, ...). */
export type BoardErrorCode = "NOT_FOUND" | "CLAIM_REFUSED" | "STALE_CLAIM" | "POLICY_VIOLATION";

// Members of covey's CoveyErrorCode union too, so `err.code` narrows on them.
function boardCode(code: BoardErrorCode): CoveyErrorCode {
  return code;
}

/** Something the board was asked about does not exist. Code `NOT_FOUND`. */
export class BoardNotFoundError extends CoveyError {
  /** `project`, `milestone` or `task`. */
  readonly kind: string;
  readonly id: string;

  constructor(kind: string, id: string) {
    super(boardCode("NOT_FOUND"), `No ${kind} ${JSON.stringify(id)} on the board`);
    this.kind = kind;
    this.id = id;
  }
}

/** Why a claim was refused. */
export type ClaimRefusal = "claimed" | "final" | "track_order" | "dependencies" | "not_assigned" | "not_in_my_queue";

/** A task cannot be claimed now. Code `CLAIM_REFUSED`; `reason` says why. */
export class ClaimRefusedError extends CoveyError {
  readonly taskId: string;
  readonly reason: ClaimRefusal;

  constructor(taskId: string, reason: ClaimRefusal, detail: string) {
    super(boardCode("CLAIM_REFUSED"), `Task ${JSON.stringify(taskId)} cannot be claimed (${reason}): ${detail}`);
    this.taskId = taskId;
    this.reason = reason;
  }
}

/**
 * A status change, renewal or release came without the current claim: no claim, another
 * holder, an old fencing token, or a lease that ran out. Code `STALE_CLAIM`.
 */
export class StaleClaimError extends CoveyError {
  readonly taskId: string;
  /** The token presented (undefined: none). */
  readonly token: number | undefined;

  constructor(taskId: string, token: number | undefined, detail: string) {
    super(boardCode("STALE_CLAIM"), `Task ${JSON.stringify(taskId)}: not the current claim (token ${token ?? "none"}): ${detail}`);
    this.taskId = taskId;
    this.token = token;
  }
}

/** A member's policy forbids what was asked. Code `POLICY_VIOLATION`; `rule` names the rule. */
export class PolicyViolationError extends CoveyError {
  readonly member: string;
  /** The policy field that was violated, e.g. `requiredArtifacts`. */
  readonly rule: "mayQueueTo" | "requiredArtifacts" | "maxLeaseMinutes";

  constructor(member: string, rule: PolicyViolationError["rule"], detail: string) {
    super(boardCode("POLICY_VIOLATION"), `Policy of ${JSON.stringify(member)}, rule ${rule}: ${detail}`);
    this.member = member;
    this.rule = rule;
  }
}
