import { errorMessage } from "./runtime/describe.js";

/**
 * Error classes raised by covey. Every error is a {@link CoveyError} with a stable string
 * `code`, structured fields for the context it was raised in, and the original error as `cause`
 * where there is one.
 *
 * @example
 * ```ts
 * try { await system.call("summarizer", input); }
 * catch (err) { if (err instanceof NoResponderError) console.log(err.code, err.subject); }
 * ```
 */
export type CoveyErrorCode =
  | "INVALID"
  | "VERSION_CONFLICT"
  | "UNKNOWN_NAMESPACE"
  | "TIMEOUT"
  | "NO_RESPONDER"
  | "HANDLER_FAILED"
  | "NO_CAPABLE_AGENT"
  | "CLOSED"
  | "DEADLOCK"
  | "BACKEND_FAILED"
  | "MESSAGES_DROPPED"
  // The task board's (covey/board):
  | "NOT_FOUND"
  | "CLAIM_REFUSED"
  | "STALE_CLAIM"
  | "POLICY_VIOLATION"
  | "NO_IDENTITY";

/** Base class of every error covey raises; `code` is stable across releases. */
export class CoveyError extends Error {
  /** Stable machine-readable code, e.g. `"TIMEOUT"`. */
  readonly code: CoveyErrorCode;

  constructor(code: CoveyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** One problem found while validating a value: where (`path`) and what (`message`). */
export interface ValidationIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** A value or payload is not JSON data, is too large, or a zod schema rejected it. */
export class ValidationError extends CoveyError {
  /** Every problem found, with the path to the offending node. */
  readonly issues: readonly ValidationIssue[];

  constructor(message: string, issues: readonly ValidationIssue[] = [], options?: { cause?: unknown }) {
    super("INVALID", message, options);
    this.issues = issues;
  }
}

/** A write's `expectedVersion` did not match the key's current version. */
export class VersionConflictError extends CoveyError {
  readonly key: string;
  /** The version the writer expected (0 = "must not exist"). */
  readonly expectedVersion: number;
  /** The key's version at the time of the write (0 = absent). */
  readonly actualVersion: number;

  constructor(key: string, expectedVersion: number, actualVersion: number) {
    super(
      "VERSION_CONFLICT",
      `Version conflict on key ${JSON.stringify(key)}: expected version ${expectedVersion}, found ${actualVersion === 0 ? "no entry" : `version ${actualVersion}`}`,
    );
    this.key = key;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/** A namespace was used before `createNamespace`. */
export class UnknownNamespaceError extends CoveyError {
  readonly namespace: string;

  constructor(namespace: string) {
    super("UNKNOWN_NAMESPACE", `Unknown namespace ${JSON.stringify(namespace)}: call createNamespace first`);
    this.namespace = namespace;
  }
}

/** A wait ran past its `timeout` (where the API throws rather than returning false). */
export class TimeoutError extends CoveyError {
  /** The timeout that ran out, in ms. */
  readonly timeout: number;
  /** What was waited for, e.g. `request to "worker"`. */
  readonly operation: string;

  constructor(operation: string, timeout: number) {
    super("TIMEOUT", `${operation} timed out after ${timeout}ms`);
    this.operation = operation;
    this.timeout = timeout;
  }
}

/** A request or call was addressed to a name that nobody handles (raised at once). */
export class NoResponderError extends CoveyError {
  /** The recipient or agent name that has no handler. */
  readonly subject: string;

  constructor(subject: string) {
    super("NO_RESPONDER", `No responder for ${JSON.stringify(subject)}: no handler or agent is registered under that name`);
    this.subject = subject;
  }
}

/** The remote handler threw or rejected; `cause` is what it threw. */
export class HandlerError extends CoveyError {
  /** The recipient whose handler failed. */
  readonly subject: string;

  constructor(subject: string, cause: unknown) {
    const reason = errorMessage(cause);
    super("HANDLER_FAILED", `Handler for ${JSON.stringify(subject)} failed: ${reason}`, { cause });
    this.subject = subject;
  }
}

/** `submitTask` found no agent having the task's type among its capabilities. */
export class NoCapableAgentError extends CoveyError {
  readonly capability: string;

  constructor(capability: string) {
    super("NO_CAPABLE_AGENT", `No agent has the capability ${JSON.stringify(capability)}`);
    this.capability = capability;
  }
}

/** The system, channel, stream, agent or manager was closed while or before it was used. */
export class ClosedError extends CoveyError {
  /** What was closed, e.g. `stream "logs"` or `agent "worker#1"`. */
  readonly resource: string;

  constructor(resource: string) {
    super("CLOSED", `${resource} is closed`);
    this.resource = resource;
  }
}

/**
 * The backend (a NATS server, ...) could not carry out an operation: the connection is down or
 * not ready, or the server refused the request (a JetStream API error other than a version
 * conflict). `cause` is the engine's own error; nothing above the backend sees its classes.
 */
export class BackendError extends CoveyError {
  /** Which backend failed, e.g. `"nats"`. */
  readonly backend: string;
  /** What was being done, e.g. `kv get "plan"`. */
  readonly operation: string;
  /** True when trying again later may succeed (disconnected, server restarting). */
  readonly transient: boolean;

  constructor(backend: string, operation: string, reason: string, opts: { transient: boolean; cause?: unknown }) {
    super("BACKEND_FAILED", `${backend}: ${operation} failed: ${reason}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.backend = backend;
    this.operation = operation;
    this.transient = opts.transient;
  }
}

/**
 * Messages meant for this process's subscribers never reached them: lost on the way (a slow
 * consumer cut off by the server, a disconnect) or dropped because its subscribers could not
 * keep up. Reported to the system's error hook (`error_occurred`), never thrown at a caller.
 */
export class MessagesDroppedError extends CoveyError {
  /** How many messages were lost. */
  readonly count: number;
  /** Who sent them (a process id on the mesh). */
  readonly source: string;

  constructor(count: number, source: string, detail: string) {
    super("MESSAGES_DROPPED", `${count} message${count === 1 ? "" : "s"} from ${source} ${count === 1 ? "was" : "were"} dropped: ${detail}`);
    this.count = count;
    this.source = source;
  }
}

/**
 * A test system's driver (`run` from `covey/testing`) found nothing that can make progress
 * (no ready delivery, no pending timer) while the promise it drives is still pending.
 * `waiting` lists what is stuck: pending calls, lock / semaphore / barrier / stream waits and
 * who holds what.
 */
export class DeadlockError extends CoveyError {
  declare readonly code: "DEADLOCK";
  /** One line per stuck call or wait, e.g. `call system -> "worker" (request msg-3) pending since 0 ms`. */
  readonly waiting: readonly string[];

  constructor(
    waiting: readonly string[],
    detail = "nothing can make progress (no ready delivery, no pending timer) while the awaited promise is pending",
  ) {
    const list = waiting.length === 0 ? " (no pending call or wait found)" : `; waiting:\n  ${waiting.join("\n  ")}`;
    super("DEADLOCK", `Deadlock: ${detail}${list}`);
    this.waiting = Object.freeze([...waiting]);
  }
}
