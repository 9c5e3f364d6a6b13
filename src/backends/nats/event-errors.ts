import { BackendError, CoveyError, TimeoutError, ValidationError } from "../../errors.js";
import { fromNats } from "./nats-errors.js";

/**
 * A NATS error met while publishing or following events, as the covey error a caller can
 * handle (see `fromNats`; the client's error kept as `cause`): ClosedError for a closed
 * connection, TimeoutError, BackendError; a message larger than the server's `max_payload`
 * is a ValidationError.
 * @internal
 */
export function eventError(error: unknown, operation: string, timeout: number): CoveyError {
  const mapped = fromNats(error, { operation, timeout });
  if (mapped instanceof CoveyError) return mapped;
  const message = mapped instanceof Error ? mapped.message : String(mapped);
  if (/max_payload/.test(message)) {
    return new ValidationError(`${operation}: the event is larger than the server's max_payload`, [{ path: ["payload"], message: "too large" }]);
  }
  return new BackendError("nats", operation, message, { transient: false, cause: error });
}

/**
 * Whether a failed JetStream publish may succeed if sent again with the same message id: the
 * server did not answer in time, or JetStream is not answering yet (a restarting server).
 * @internal
 */
export function isTransient(error: CoveyError): boolean {
  return error instanceof TimeoutError || (error instanceof BackendError && error.transient);
}
