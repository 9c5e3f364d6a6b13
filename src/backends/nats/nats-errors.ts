import { JetStreamApiError } from "@nats-io/jetstream";
import {
  ClosedConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError as NatsTimeoutError,
} from "@nats-io/transport-node";
import { BackendError, ClosedError, CoveyError, NoResponderError, TimeoutError } from "../../errors.js";

/** JetStream's "wrong last sequence" codes: a revision-checked write lost. @internal */
export function isWrongLastSequence(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === 10071 || err.code === 10164);
}

/** What {@link fromNats} needs to know about the operation that failed. @internal */
export interface NatsOperation {
  /** What was being done, for the message: `kv get "plan"`, `request to "worker"`. */
  readonly operation: string;
  /** The client-side timeout the operation ran with, in ms (for a mapped TimeoutError). */
  readonly timeout?: number;
  /**
   * Who "no responders" means is missing: an agent name (a core request: NoResponderError for
   * it) or nothing (a JetStream API request: JetStream is not there, a transient BackendError).
   */
  readonly recipient?: string;
}

// Client classes that JetStream raises but does not export: matched by their names.
const JETSTREAM_NAMES = new Set(["JetStreamNotEnabled", "JetStreamError", "JetStreamStatusError", "InvalidNameError", "ConsumerNotFoundError", "StreamNotFoundError"]);
// nats-core classes that mean the connection (not the request) failed.
const CONNECTION_NAMES = new Set(["ConnectionError", "ProtocolError", "AuthorizationError", "UserAuthenticationExpiredError", "PermissionViolationError"]);

/**
 * The covey error for what the NATS client threw or rejected with, so nothing above the backend
 * sees a NATS class; `cause` is always the client's error. CoveyErrors and errors that are not
 * the client's (a JSON SyntaxError, a handler's own error) come back unchanged.
 *
 * - closed or draining connection, "connection closed" -> `ClosedError`;
 * - a client timeout (also as a RequestError's cause) -> `TimeoutError`;
 * - no responders: `NoResponderError` for a request to `recipient`, else (JetStream absent or
 *   restarting) a transient `BackendError`;
 * - "connection disconnected", connection / protocol / permission errors -> `BackendError`
 *   (transient when trying again may work);
 * - a JetStream API error (10071 / 10164 are the store's to turn into `VersionConflictError`
 *   with the key's context) -> `BackendError` naming the API code.
 * @internal
 */
export function fromNats(error: unknown, op: NatsOperation): unknown {
  if (error instanceof CoveyError || !(error instanceof Error)) return error;
  const what = op.operation;
  if (error instanceof ClosedConnectionError || error instanceof DrainingConnectionError) return closed(what, error);
  if (error instanceof NatsTimeoutError) return timedOut(what, op.timeout, error);
  if (error instanceof NoRespondersError) return noResponders(op, error);
  if (error instanceof RequestError) {
    const cause = error.cause;
    if (cause instanceof NatsTimeoutError) return timedOut(what, op.timeout, error);
    if (error.isNoResponders()) return noResponders(op, error);
    if (/closed/i.test(error.message)) return closed(what, error);
    return new BackendError("nats", what, error.message || "request failed", { transient: true, cause: error });
  }
  if (error instanceof JetStreamApiError) {
    return new BackendError("nats", what, `JetStream API error ${error.code}: ${error.message}`, { transient: false, cause: error });
  }
  if (error.name === "JetStreamNotEnabled") {
    // The client's name for "no responders on the JetStream API": absent, or not ready yet.
    return new BackendError("nats", what, `JetStream is not available (${error.message})`, { transient: true, cause: error });
  }
  if (JETSTREAM_NAMES.has(error.name)) return new BackendError("nats", what, error.message, { transient: false, cause: error });
  if (CONNECTION_NAMES.has(error.name)) {
    return new BackendError("nats", what, error.message, { transient: error.name === "ConnectionError", cause: error });
  }
  return error;
}

/** Runs `fn` and maps what it throws or rejects with through {@link fromNats}. @internal */
export async function mapNats<T>(op: NatsOperation, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw fromNats(error, op);
  }
}

function closed(what: string, cause: Error): ClosedError {
  return withCause(new ClosedError(`NATS connection (${what})`), cause);
}

function timedOut(what: string, timeout: number | undefined, cause: Error): TimeoutError {
  return withCause(new TimeoutError(what, timeout ?? 0), cause);
}

function noResponders(op: NatsOperation, cause: Error): CoveyError {
  if (op.recipient !== undefined) return withCause(new NoResponderError(op.recipient), cause);
  return new BackendError("nats", op.operation, "JetStream is not available (no responders)", { transient: true, cause });
}

function withCause<E extends Error>(error: E, cause: unknown): E {
  Object.defineProperty(error, "cause", { value: cause, writable: true, configurable: true });
  return error;
}
