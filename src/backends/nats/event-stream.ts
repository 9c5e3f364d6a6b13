import { DiscardPolicy, JetStreamApiError, StorageType, type JetStreamManager, type StreamInfo } from "@nats-io/jetstream";
import type { EventSubjects } from "./event-wire.js";

/** JetStream's "stream not found". */
const STREAM_NOT_FOUND = 10059;
/** JetStream's "stream name already in use" (created meanwhile with another configuration). */
const STREAM_NAME_IN_USE = 10058;
/** How long the server remembers a message id to drop a re-sent publish (ns): 2 minutes. */
const DUPLICATE_WINDOW_NS = 120e9;

/** The stream's `max_msgs` for a bus's `historyLimit` (JetStream: -1 is unlimited; keep at least one). @internal */
export function maxMsgs(historyLimit: number): number {
  return historyLimit === Infinity ? -1 : Math.max(1, historyLimit);
}

/**
 * The mesh's event stream, created when missing (at the start, or after a server restart lost a
 * memory stream): subjects `covey.<mesh>.events.>`, at most `limit` messages, the oldest
 * discarded. Processes creating it at once all succeed (the same configuration is accepted
 * twice; another one means someone else's stands).
 * @internal
 */
export async function ensureEventStream(jsm: JetStreamManager, subjects: EventSubjects, storage: "file" | "memory", limit: number): Promise<StreamInfo> {
  try {
    return await jsm.streams.info(subjects.stream);
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === STREAM_NOT_FOUND)) throw error;
  }
  try {
    return await jsm.streams.add({
      name: subjects.stream,
      subjects: [subjects.all],
      max_msgs: limit,
      discard: DiscardPolicy.Old,
      storage: storage === "memory" ? StorageType.Memory : StorageType.File,
      duplicate_window: DUPLICATE_WINDOW_NS,
    });
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === STREAM_NAME_IN_USE)) throw error;
    return jsm.streams.info(subjects.stream);
  }
}
