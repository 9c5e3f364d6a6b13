import { headers as natsHeaders, type MsgHdrs } from "@nats-io/transport-node";
import type { CoveyEvent } from "../../events/types.js";
import { ValidationError } from "../../errors.js";
import { encodeKey } from "./key-codec.js";
import { Header } from "./wire.js";

/**
 * How covey events look on NATS (docs/wire.md, "Events"): one JetStream stream per mesh, one
 * subject per event type, the whole event as the JSON body.
 * @internal
 */
export class EventSubjects {
  /** `covey.<mesh>.events` */
  readonly root: string;
  /** `covey_<mesh>_events` */
  readonly stream: string;

  constructor(mesh: string) {
    this.root = `covey.${mesh}.events`;
    this.stream = `covey_${mesh}_events`;
  }

  /** `covey.<mesh>.events.<type as a key token>` */
  of(type: string): string {
    return `${this.root}.${encodeKey(type)}`;
  }

  /** What the stream holds: every event subject of the mesh. */
  get all(): string {
    return `${this.root}.>`;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The JSON body of an event. A value `JSON.stringify` cannot write (a BigInt, a cycle) is a
 * ValidationError, raised before anything is sent.
 * @internal
 */
export function encodeEvent(event: CoveyEvent): Uint8Array {
  let text: string;
  try {
    text = JSON.stringify({
      id: event.id,
      type: event.type,
      source: event.source,
      timestamp: event.timestamp,
      payload: event.payload,
      metadata: event.metadata,
    });
  } catch (error) {
    throw new ValidationError(`event ${JSON.stringify(event.type)} is not JSON data: ${error instanceof Error ? error.message : String(error)}`, [
      { path: ["payload"], message: "not JSON data" },
    ]);
  }
  return encoder.encode(text);
}

/** The headers of an event this process publishes. @internal */
export function eventHeaders(event: CoveyEvent, processId: string): MsgHdrs {
  const h = natsHeaders();
  h.set(Header.id, event.id);
  h.set(Header.origin, processId);
  return h;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * The event a stream message carries, or undefined when its body is not one (written by some
 * other client). `type` and `source` are required; a missing `id` becomes `nats-<seq>`, a
 * missing `timestamp` the stream's time of the message, missing `payload` / `metadata` `{}`.
 * @internal
 */
export function decodeEvent(data: Uint8Array, seq: number, storedMs: number): CoveyEvent | undefined {
  let body: unknown;
  try {
    body = JSON.parse(decoder.decode(data)) as unknown;
  } catch {
    return undefined;
  }
  if (!isObject(body)) return undefined;
  const { id, type, source, timestamp, payload, metadata } = body;
  if (typeof type !== "string" || type === "" || type === "*" || typeof source !== "string" || source === "") return undefined;
  if ((payload !== undefined && !isObject(payload)) || (metadata !== undefined && !isObject(metadata))) return undefined;
  return {
    id: typeof id === "string" && id !== "" ? id : `nats-${seq}`,
    type,
    source,
    timestamp: typeof timestamp === "number" && Number.isFinite(timestamp) ? timestamp : storedMs,
    payload: payload ?? {},
    metadata: metadata ?? {},
  };
}
