import { JetStreamApiError } from "@nats-io/jetstream";

/** JetStream's "wrong last sequence" codes: a revision-checked write lost. @internal */
export function isWrongLastSequence(err: unknown): boolean {
  return err instanceof JetStreamApiError && (err.code === 10071 || err.code === 10164);
}
